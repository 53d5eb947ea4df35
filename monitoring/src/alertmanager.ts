// Alertmanager configuration, as code. `render.ts` writes the defaults to monitoring/generated/alertmanager.yml,
// which the cdk8s app mounts; the local drill and the tests render their own with local URLs and short timings.
// Checked against the Debian alertmanager 0.25 (secrets from files: slack `api_url_file`, email
// `auth_password_file`, webhook `http_config.authorization.credentials_file`).

import { DEFAULT_RULE_PARAMS } from './rules.js';

export interface HttpConfig {
  authorization?: { type?: string; credentials_file?: string };
}

export interface WebhookConfig {
  url: string;
  send_resolved: boolean;
  max_alerts?: number;
  http_config?: HttpConfig;
}

export interface SlackConfig {
  api_url_file: string;
  channel: string;
  send_resolved: boolean;
  title?: string;
  text?: string;
}

export interface EmailConfig {
  to: string;
  send_resolved: boolean;
  auth_username?: string;
  auth_password_file?: string;
}

export interface Receiver {
  name: string;
  webhook_configs?: WebhookConfig[];
  slack_configs?: SlackConfig[];
  email_configs?: EmailConfig[];
}

export interface Route {
  receiver?: string;
  matchers?: string[];
  group_by?: string[];
  group_wait?: string;
  group_interval?: string;
  repeat_interval?: string;
  continue?: boolean;
  routes?: Route[];
}

export interface InhibitRule {
  source_matchers: string[];
  target_matchers: string[];
  equal: string[];
}

export interface AlertmanagerConfig {
  global: {
    resolve_timeout: string;
    smtp_smarthost: string;
    smtp_from: string;
    smtp_require_tls: boolean;
  };
  route: Route & { receiver: string };
  receivers: Receiver[];
  inhibit_rules: InhibitRule[];
}

/** Route timing of one kind of receiver. */
export interface RouteTiming {
  /** Wait before the first notification of a new group, to batch alerts that start together. */
  groupWait: string;
  /** Wait before notifying about alerts added to (or resolved in) a group already notified. */
  groupInterval: string;
  /** Resend a still-firing group after this long. */
  repeatInterval: string;
}

export interface AlertmanagerParams {
  /** The AlertScaler's webhook receiver. */
  controllerWebhookUrl: string;
  /** Directory of the mounted Secret; the three file defaults below live in it. */
  secretsDir: string;
  /** File holding the Slack incoming-webhook URL (default `<secretsDir>/slack-webhook-url`). */
  slackWebhookUrlFile?: string;
  /** File holding the SMTP password (default `<secretsDir>/smtp-password`). */
  smtpPasswordFile?: string;
  /** File holding the bearer token the controller expects (default `<secretsDir>/controller-webhook-token`). */
  controllerWebhookTokenFile?: string;
  slackPageChannel: string;
  slackTicketChannel: string;
  emailTo: string;
  smtpSmarthost: string;
  smtpFrom: string;
  smtpAuthUsername: string;
  smtpRequireTls: boolean;
  /** Label value of `autoscale` that routes an alert to the controller (as on BookingHighP90Latency). */
  autoscaleTarget: string;
  resolveTimeout: string;
  /** Timing of the routes to people. */
  people: RouteTiming;
  /** Repeat interval of pages (people.repeatInterval applies to tickets). */
  pageRepeatInterval: string;
  /** Timing of the route to the controller. */
  controller: RouteTiming;
}

export const RECEIVERS = {
  controller: 'alertscaler',
  page: 'booking-page',
  ticket: 'booking-ticket',
} as const;

export const DEFAULT_ALERTMANAGER_PARAMS: AlertmanagerParams = {
  controllerWebhookUrl: 'http://alertscaler:8080/alerts',
  secretsDir: '/etc/alertmanager/secrets',
  // Placeholders: the cluster overrides the addresses; the secrets come from the mounted files.
  slackPageChannel: '#booking-oncall',
  slackTicketChannel: '#booking-alerts',
  emailTo: 'booking-oncall@example.com',
  smtpSmarthost: 'smtp.example.com:587',
  smtpFrom: 'alertmanager@example.com',
  smtpAuthUsername: 'alertmanager@example.com',
  smtpRequireTls: true,
  autoscaleTarget: DEFAULT_RULE_PARAMS.autoscaleTarget,
  resolveTimeout: '5m',
  people: {
    // 30s: alerts of one incident (Postgres down, then the latency it causes) arrive within one or two rule
    // evaluations; waiting lets them go out together and lets an inhibiting alert arrive before its target
    // is notified (inhibition is decided at notification time).
    groupWait: '30s',
    // 5m: a person needs to hear about a new replica joining the incident, but not every few seconds.
    groupInterval: '5m',
    // 12h for tickets: one reminder per working day is enough for something that can wait.
    repeatInterval: '12h',
  },
  // 4h for pages: re-page an on-call person who has not fixed or silenced a page within a shift's quarter.
  pageRepeatInterval: '4h',
  controller: {
    // 10s: the rule has already waited its `for`; the controller should start scaling right away.
    groupWait: '10s',
    // 1m: a resolution (send_resolved) reaches the controller within a minute, so it can scale back in.
    groupInterval: '1m',
    // 5m: re-sending a still-firing alert is a heartbeat for the controller (its webhook is idempotent and it
    // also resyncs from the Alertmanager API), cheap and bounded.
    repeatInterval: '5m',
  },
};

const SLACK_TEXT =
  '{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\n' +
  'Runbook: {{ .Annotations.runbook_url }}\n{{ end }}';

/** The Alertmanager configuration: routes to the controller and to people, and the inhibit rules. */
export function alertmanagerConfig(overrides: Partial<AlertmanagerParams> = {}): AlertmanagerConfig {
  const p: AlertmanagerParams = { ...DEFAULT_ALERTMANAGER_PARAMS, ...overrides };
  const secret = (name: string): string => `${p.secretsDir.replace(/\/+$/, '')}/${name}`;
  const slackFile = p.slackWebhookUrlFile ?? secret('slack-webhook-url');
  const smtpPasswordFile = p.smtpPasswordFile ?? secret('smtp-password');
  const tokenFile = p.controllerWebhookTokenFile ?? secret('controller-webhook-token');
  const slack = (channel: string): SlackConfig => ({
    api_url_file: slackFile,
    channel,
    send_resolved: true,
    title: '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.namespace }})',
    text: SLACK_TEXT,
  });
  return {
    global: {
      resolve_timeout: p.resolveTimeout,
      smtp_smarthost: p.smtpSmarthost,
      smtp_from: p.smtpFrom,
      smtp_require_tls: p.smtpRequireTls,
    },
    route: {
      receiver: RECEIVERS.ticket,
      // One notification per alert kind, namespace and severity: the page and the ticket of one burn-rate
      // alert are separate groups, two namespaces (staging, production) never share a message.
      group_by: ['alertname', 'namespace', 'severity'],
      group_wait: p.people.groupWait,
      group_interval: p.people.groupInterval,
      repeat_interval: p.people.repeatInterval,
      routes: [
        {
          // The scaling signal. `continue` lets the same alert go on to match the people's routes below.
          receiver: RECEIVERS.controller,
          matchers: [`autoscale="${p.autoscaleTarget}"`],
          group_by: ['alertname', 'namespace'],
          group_wait: p.controller.groupWait,
          group_interval: p.controller.groupInterval,
          repeat_interval: p.controller.repeatInterval,
          continue: true,
        },
        { receiver: RECEIVERS.page, matchers: ['severity="page"'], repeat_interval: p.pageRepeatInterval },
        { receiver: RECEIVERS.ticket, matchers: ['severity="ticket"'] },
      ],
    },
    receivers: [
      {
        name: RECEIVERS.controller,
        webhook_configs: [
          {
            url: p.controllerWebhookUrl,
            // The controller scales back in when the alert resolves.
            send_resolved: true,
            http_config: { authorization: { type: 'Bearer', credentials_file: tokenFile } },
          },
        ],
      },
      {
        name: RECEIVERS.page,
        slack_configs: [slack(p.slackPageChannel)],
        email_configs: [
          {
            to: p.emailTo,
            send_resolved: true,
            auth_username: p.smtpAuthUsername,
            auth_password_file: smtpPasswordFile,
          },
        ],
      },
      { name: RECEIVERS.ticket, slack_configs: [slack(p.slackTicketChannel)] },
    ],
    // An inhibited alert is muted for every receiver, the controller's webhook included (the controller
    // sees it as still firing until it resolves or the controller resyncs from the API, where it shows
    // `status.inhibitedBy`).
    inhibit_rules: [
      {
        // Postgres down: no latency page, no pool page and no scaling: more replicas do not help a dead
        // database (they only add connections to it when it comes back).
        source_matchers: ['alertname="BookingPostgresDown"'],
        target_matchers: ['alertname=~"BookingHighP90Latency|BookingLatencyBudgetBurn|BookingDbPoolWaiting"'],
        equal: ['namespace'],
      },
      {
        // Redis down explains the cache hit ratio; one ticket is enough.
        source_matchers: ['alertname="BookingRedisDown"'],
        target_matchers: ['alertname="BookingSeatmapCacheHitRatioLow"'],
        equal: ['namespace'],
      },
      {
        // A budget burn that pages also satisfies the slower ticket condition: the page is enough.
        source_matchers: ['severity="page"', 'alertname=~"Booking(Availability|Latency)BudgetBurn"'],
        target_matchers: ['severity="ticket"', 'alertname=~"Booking(Availability|Latency)BudgetBurn"'],
        equal: ['alertname', 'namespace'],
      },
    ],
  };
}

/**
 * Replaces the people's receivers (Slack, email) by webhooks to `<baseUrl>/<receiver name>`, keeping the route
 * tree, the inhibit rules and the controller's receiver: for the local drill and the tests, which have no
 * Slack or SMTP server.
 */
export function withLocalReceivers(config: AlertmanagerConfig, baseUrl: string): AlertmanagerConfig {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    ...config,
    receivers: config.receivers.map((r) =>
      r.name === RECEIVERS.controller
        ? r
        : { name: r.name, webhook_configs: [{ url: `${base}/${r.name}`, send_resolved: true }] },
    ),
  };
}

/** Receivers an alert can be routed to (from the root route down), whether or not they notify anyone. */
function routedReceivers(route: Route, inherited?: string): string[] {
  const receiver = route.receiver ?? inherited;
  return [
    ...(receiver ? [receiver] : []),
    ...(route.routes ?? []).flatMap((r) => routedReceivers(r, receiver)),
  ];
}

const notifies = (receiver: Receiver | undefined) =>
  Object.entries(receiver ?? {}).some(
    ([key, value]) => key.endsWith('_configs') && Array.isArray(value) && value.length > 0,
  );

/**
 * When no receiver an alert can reach notifies anyone (Alertmanager's "null" receiver, everywhere), their names;
 * otherwise undefined. Such a configuration is valid to amtool and silent in production.
 */
export function silentRouting(config: Pick<AlertmanagerConfig, 'route' | 'receivers'>): string[] | undefined {
  const routed = [...new Set(routedReceivers(config.route))];
  const byName = new Map((config.receivers ?? []).map((r) => [r.name, r]));
  return routed.some((name) => notifies(byName.get(name))) ? undefined : routed;
}
