// The monitoring configuration as prometheus-operator specs (src/operator.ts): the matchers, the same routing
// tree and receivers as the Alertmanager configuration, secrets as Secret keys. The CRDs' own judgement is
// cdk8s/test/modes-apply.test.ts (envtest).
import { alertmanagerConfig, type Route } from '../src/alertmanager.js';
import { alertmanagerConfigSpec, operatorMatcher, prometheusRuleSpec } from '../src/operator.js';
import { bookingRules } from '../src/rules.js';

describe('operatorMatcher', () => {
  it.each([
    ['severity="page"', { name: 'severity', matchType: '=', value: 'page' }],
    ['alertname=~"A|B"', { name: 'alertname', matchType: '=~', value: 'A|B' }],
    ['env!="dev"', { name: 'env', matchType: '!=', value: 'dev' }],
    ['pod!~"x-.*"', { name: 'pod', matchType: '!~', value: 'x-.*' }],
    [' quoted = "a \\"b\\"" ', { name: 'quoted', matchType: '=', value: 'a "b"' }],
  ])('%s', (matcher, expected) => {
    expect(operatorMatcher(matcher)).toEqual(expected);
  });

  it.each(['severity=page', 'severity', '="x"', 'a=="b"'])('refuses %s, naming it', (matcher) => {
    expect(() => operatorMatcher(matcher)).toThrow(JSON.stringify(matcher));
  });
});

describe('alertmanagerConfigSpec', () => {
  const config = alertmanagerConfig({ controllerWebhookUrl: 'http://alertscaler.ns.svc:8080/alerts' });
  const secretFor = (file: string) => ({ name: 'secrets', key: file.split('/').pop()! });
  const spec = alertmanagerConfigSpec(config, secretFor) as {
    route: Record<string, unknown>;
    receivers: Record<string, unknown>[];
    inhibitRules: unknown[];
  };

  /** A route tree as `receiver [matchers] timing` lines, in either format. */
  const tree = (route: Record<string, unknown>, depth = 0): string[] => {
    const matchers = (
      (route.matchers ?? []) as (string | { name: string; matchType: string; value: string })[]
    ).map((m) => (typeof m === 'string' ? m : `${m.name}${m.matchType}"${m.value}"`));
    const timing = ['group_wait', 'groupWait', 'repeat_interval', 'repeatInterval', 'continue'].map(
      (k) => route[k],
    );
    return [
      `${'  '.repeat(depth)}${String(route.receiver)} [${matchers.join(',')}] ${timing.filter((t) => t !== undefined).join(' ')}`,
      ...((route.routes ?? []) as Record<string, unknown>[]).flatMap((r) => tree(r, depth + 1)),
    ];
  };

  it('routes as the Alertmanager configuration does, to the same receivers', () => {
    expect(tree(spec.route)).toEqual(tree(config.route as Route as Record<string, unknown>));
    expect(tree(spec.route).length).toBeGreaterThan(2);
    expect(spec.receivers.map((r) => r.name)).toEqual(config.receivers.map((r) => r.name));
    expect(spec.inhibitRules).toHaveLength(config.inhibit_rules.length);
  });

  it('calls the controller with its bearer token read from the Secret', () => {
    expect(spec.receivers[0]).toEqual({
      name: 'alertscaler',
      webhookConfigs: [
        {
          url: 'http://alertscaler.ns.svc:8080/alerts',
          sendResolved: true,
          httpConfig: {
            authorization: {
              type: 'Bearer',
              credentials: { name: 'secrets', key: 'controller-webhook-token' },
            },
          },
        },
      ],
    });
  });

  it('gives each e-mail receiver the global SMTP settings, its password from the Secret', () => {
    const page = spec.receivers.find((r) => r.name === 'booking-page') as {
      emailConfigs: Record<string, unknown>[];
    };
    expect(page.emailConfigs[0]).toMatchObject({
      smarthost: config.global.smtp_smarthost,
      from: config.global.smtp_from,
      requireTLS: config.global.smtp_require_tls,
      authPassword: { name: 'secrets', key: 'smtp-password' },
    });
  });
});

describe('prometheusRuleSpec', () => {
  it('holds the rule groups as they are', () => {
    const rules = bookingRules();
    expect(prometheusRuleSpec(rules)).toEqual({ groups: rules.groups });
  });
});
