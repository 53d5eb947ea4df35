// The monitoring configuration as prometheus-operator objects' specs (monitoring.coreos.com): the same rule
// groups as a PrometheusRule's spec, the same Alertmanager routing as an AlertmanagerConfig's spec. The cdk8s
// app emits them when monitoring.mode is `operator` (docs/deploy.md); the operator's own Prometheus and
// Alertmanager then evaluate and route them.
import type { AlertmanagerConfig, HttpConfig, Receiver, Route } from './alertmanager.js';
import type { RuleFile } from './rules.js';

/** A Secret key, which the operator's Alertmanager reads where ours reads a mounted file. */
export interface SecretKeySelector {
  name: string;
  key: string;
}

/** An AlertmanagerConfig matcher (v1alpha1): Alertmanager's `name="value"` in fields. */
export interface OperatorMatcher {
  name: string;
  value: string;
  matchType: '=' | '!=' | '=~' | '!~';
}

const MATCHER = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$/;

/** `alertname=~"A|B"` as `{ name: 'alertname', matchType: '=~', value: 'A|B' }`; throws on anything else. */
export function operatorMatcher(matcher: string): OperatorMatcher {
  const m = MATCHER.exec(matcher);
  if (!m)
    throw new Error(
      `cannot convert the matcher ${JSON.stringify(matcher)} (want name="value", =~, != or !~)`,
    );
  return {
    name: m[1]!,
    matchType: m[2] as OperatorMatcher['matchType'],
    value: JSON.parse(`"${m[3]}"`) as string,
  };
}

/** The PrometheusRule spec of a rule file: its groups as they are. */
export function prometheusRuleSpec(file: RuleFile): { groups: RuleFile['groups'] } {
  return { groups: file.groups };
}

type Json = Record<string, unknown>;

/** Leaves out undefined fields, as the CRD's schema has no nulls. */
const defined = (object: Json): Json =>
  Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined));

function operatorRoute(route: Route): Json {
  return defined({
    receiver: route.receiver,
    matchers: route.matchers?.map(operatorMatcher),
    groupBy: route.group_by,
    groupWait: route.group_wait,
    groupInterval: route.group_interval,
    repeatInterval: route.repeat_interval,
    continue: route.continue,
    routes: route.routes?.map(operatorRoute),
  });
}

/**
 * An AlertmanagerConfig spec (monitoring.coreos.com/v1alpha1) routing as `config` does. Files the
 * configuration reads (`*_file`) become keys of a Secret (`secretFor`); the global SMTP settings move into
 * each e-mail receiver, the only place the operator's format has them. `global.resolve_timeout` has no
 * equivalent: the operator's Alertmanager keeps its own.
 */
export function alertmanagerConfigSpec(
  config: AlertmanagerConfig,
  secretFor: (file: string) => SecretKeySelector,
): Json {
  const http = (c: HttpConfig | undefined) =>
    c?.authorization &&
    defined({
      authorization: defined({
        type: c.authorization.type,
        credentials: c.authorization.credentials_file && secretFor(c.authorization.credentials_file),
      }),
    });
  const receiver = (r: Receiver): Json =>
    defined({
      name: r.name,
      webhookConfigs: r.webhook_configs?.map((w) =>
        defined({
          url: w.url,
          sendResolved: w.send_resolved,
          maxAlerts: w.max_alerts,
          httpConfig: http(w.http_config),
        }),
      ),
      slackConfigs: r.slack_configs?.map((s) =>
        defined({
          apiURL: secretFor(s.api_url_file),
          channel: s.channel,
          sendResolved: s.send_resolved,
          title: s.title,
          text: s.text,
        }),
      ),
      emailConfigs: r.email_configs?.map((e) =>
        defined({
          to: e.to,
          sendResolved: e.send_resolved,
          smarthost: config.global.smtp_smarthost,
          from: config.global.smtp_from,
          requireTLS: config.global.smtp_require_tls,
          authUsername: e.auth_username,
          authPassword: e.auth_password_file && secretFor(e.auth_password_file),
        }),
      ),
    });
  return {
    route: operatorRoute(config.route),
    receivers: config.receivers.map(receiver),
    inhibitRules: config.inhibit_rules.map((rule) => ({
      sourceMatch: rule.source_matchers.map(operatorMatcher),
      targetMatch: rule.target_matchers.map(operatorMatcher),
      equal: rule.equal,
    })),
  };
}
