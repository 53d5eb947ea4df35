// Prometheus recording and alerting rules for the booking service and its AlertScaler, as code
// (in the manner of the kube-prometheus mixins). `render.ts` writes the defaults to
// monitoring/generated/booking.rules.yml, which the cdk8s app mounts and promtool tests; the local
// incident drill calls `bookingRules()` with short durations and writes its own copy.
//
import { ALERTS } from '../../lib/src/names.js';

// Metric contract (exposed by service/ and controller/):
//   http_request_duration_seconds{method,route,status}            histogram, job="booking-service"
//   booking_seatmap_cache_requests_total{layer,result}            counter (layer memory|redis, result hit|miss|error)
//   booking_seatmap_degraded_total                                counter (served from Postgres, Redis failed)
//   booking_db_pool_size / _in_use / _waiting                     gauges
//   booking_dependency_up{dependency="postgres"|"redis"}          gauge 1/0 (readiness checks)
//   alertscaler_{desired,current,max,min}_replicas{alertscaler,namespace}, job="alertscaler"
//   alertscaler_scale_operations_total{direction,result}

/** Alert severities: `page` reaches the on-call person now (Slack + email); `ticket` goes to the team channel. */
export type Severity = 'page' | 'ticket';

export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

export interface AlertingRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string> & { severity: Severity; service: string };
  annotations: { summary: string; description: string; runbook_url: string };
}

export type Rule = RecordingRule | AlertingRule;

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

export interface RuleFile {
  groups: RuleGroup[];
}

/** One multi-window condition: both the long and the short window burn faster than `factor`. */
export interface BurnRateWindow {
  long: string;
  short: string;
  factor: number;
}

export interface BurnRateAlert {
  /** How long the condition must hold; short, because the short window already filters blips. */
  for: string;
  windows: BurnRateWindow[];
}

export interface RuleParams {
  /** Scrape job of the booking service (the cluster and the drill both use `booking-service`). */
  serviceJob: string;
  /** Scrape job of the AlertScaler controller. */
  controllerJob: string;
  /** Regex on the `namespace` label; `.*` (the default) adds no matcher. */
  namespaceRegex: string;
  /** Routes left out of the latency, error and SLO rules (probes and scrapes are not user traffic). */
  excludedRoutes: string[];
  /** Evaluation interval written on every group. */
  evaluationInterval: string;
  /** Window of the per-route rate, error ratio and quantile recording rules and of the p90 alert. */
  rateWindow: string;
  /** BookingHighP90Latency: p90 threshold in seconds (the incident document's example rule: 0.5 s). */
  p90ThresholdSeconds: number;
  /** BookingHighP90Latency: how long p90 must stay above the threshold. */
  forDuration: string;
  /** BookingHighP90Latency: requests per second below which a p90 is not trusted (too few samples). */
  minRequestRate: number;
  /** Value of the `autoscale` label on BookingHighP90Latency; the Alertmanager route to the controller matches it. */
  autoscaleTarget: string;
  /** Availability SLO: share of requests that must not answer 5xx, over the SLO period. */
  availabilityObjective: number;
  /** Latency SLO: share of requests that must finish within `latencyObjectiveThresholdSeconds`. */
  latencyObjective: number;
  /** Latency SLO threshold; must be one of `histogramBuckets` (the rule reads that `le` bucket). */
  latencyObjectiveThresholdSeconds: number;
  /** The buckets the service exposes (used to check the latency SLO threshold). */
  histogramBuckets: number[];
  /** Multi-window, multi-burn-rate alert conditions, per severity. */
  burnRates: Record<Severity, BurnRateAlert>;
  /** BookingDbPoolWaiting: clients waiting for a connection, above which the pool is saturated. */
  poolWaitingThreshold: number;
  poolWaitingFor: string;
  /** BookingPostgresDown / BookingRedisDown. */
  dependencyDownFor: string;
  /** BookingSeatmapCacheHitRatioLow: hit ratio of a cache layer below which it has collapsed. */
  cacheHitRatioMin: number;
  /** Lookups per second below which the hit ratio is not judged. */
  cacheMinLookupRate: number;
  cacheFor: string;
  /** BookingServiceDown. */
  serviceDownFor: string;
  /** BookingAlertScalerAtMaxReplicas. */
  scalerAtMaxFor: string;
  /** Base of every runbook_url; `<base>/<AlertName>.md`. The default is the path in this repository. */
  runbookBaseUrl: string;
  /** Value of the `service` label on every alert. */
  serviceLabel: string;
}

// SLO burn-rate math (Google SRE workbook, "Alerting on SLOs", multiwindow multi-burn-rate), SLO period 30 days:
//   a burn rate b spends the error budget b times faster than "exactly on target"; over a window w it spends
//   b * w / 30d of the monthly budget:
//     page   14.4x over 1h (and 5m)   -> 14.4 * 1h  / 720h = 2%  of the budget
//     page    6x   over 6h (and 30m)  ->    6 * 6h  / 720h = 5%
//     ticket  3x   over 1d (and 2h)   ->    3 * 24h / 720h = 10%
//     ticket  1x   over 3d (and 6h)   ->    1 * 72h / 720h = 10%
//   The alert compares an error ratio with b * (1 - objective). With the 99% objectives below the thresholds are
//   14.4%, 6%, 3% and 1% of requests: all below 100%, so every condition can fire. (With a 90% objective the
//   14.4x threshold would be 144% of requests, which can never happen; `bookingRules` refuses such parameters.)
//   The short window (1/12 of the long one) makes an alert stop soon after the burn stops.
export const DEFAULT_RULE_PARAMS: RuleParams = {
  serviceJob: 'booking-service',
  controllerJob: 'alertscaler',
  namespaceRegex: '.*',
  excludedRoutes: ['/metrics', '/livez', '/readyz'],
  evaluationInterval: '30s',
  rateWindow: '5m',
  p90ThresholdSeconds: 0.5,
  // 5 minutes: long enough that one slow scrape window does not page or scale, short enough that the
  // controller adds replicas before a 14.4x latency burn has spent much budget.
  forDuration: '5m',
  minRequestRate: 1,
  autoscaleTarget: 'booking-service',
  availabilityObjective: 0.99,
  latencyObjective: 0.99,
  latencyObjectiveThresholdSeconds: 1,
  histogramBuckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  burnRates: {
    page: {
      for: '2m',
      windows: [
        { long: '1h', short: '5m', factor: 14.4 },
        { long: '6h', short: '30m', factor: 6 },
      ],
    },
    ticket: {
      for: '15m',
      windows: [
        { long: '1d', short: '2h', factor: 3 },
        { long: '3d', short: '6h', factor: 1 },
      ],
    },
  },
  poolWaitingThreshold: 0,
  poolWaitingFor: '2m',
  dependencyDownFor: '1m',
  cacheHitRatioMin: 0.5,
  cacheMinLookupRate: 1,
  cacheFor: '10m',
  serviceDownFor: '1m',
  scalerAtMaxFor: '10m',
  runbookBaseUrl: 'docs/runbooks',
  serviceLabel: 'booking',
};

/** Every alert this module defines, in the order of the rule file. Each has docs/runbooks/<name>.md. */
export const ALERT_NAMES = [
  'BookingHighP90Latency',
  'BookingAvailabilityBudgetBurn',
  'BookingLatencyBudgetBurn',
  'BookingServiceDown',
  'BookingPostgresDown',
  'BookingRedisDown',
  'BookingDbPoolWaiting',
  'BookingSeatmapCacheHitRatioLow',
  'BookingAlertScalerAtMaxReplicas',
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];
// The names the controller and the drill read come from lib (one source): a rename here that is not made there
// fails to compile.
const _sharedNames: readonly AlertName[] = Object.values(ALERTS);

const DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;
const SAFE_LABEL_VALUE = /^[A-Za-z0-9_:/.-]*$/;

function checkDuration(name: string, value: string): void {
  if (!DURATION.test(value)) throw new Error(`${name}: "${value}" is not a Prometheus duration`);
}

/** `le` as exposed: prom-client writes 1 as "1"; Prometheus 3 normalises classic buckets to "1.0". */
function leMatcher(seconds: number): string {
  const plain = String(seconds);
  return Number.isInteger(seconds) ? `le=~"${plain}|${plain}\\\\.0"` : `le="${plain}"`;
}

function mergeParams(overrides: Partial<RuleParams>): RuleParams {
  const p: RuleParams = { ...DEFAULT_RULE_PARAMS, ...overrides };
  for (const key of [
    'evaluationInterval',
    'rateWindow',
    'forDuration',
    'poolWaitingFor',
    'dependencyDownFor',
    'cacheFor',
    'serviceDownFor',
    'scalerAtMaxFor',
  ] as const) {
    checkDuration(key, p[key]);
  }
  for (const [severity, burn] of Object.entries(p.burnRates)) {
    checkDuration(`burnRates.${severity}.for`, burn.for);
    if (burn.windows.length === 0) throw new Error(`burnRates.${severity}: no windows`);
    for (const w of burn.windows) {
      checkDuration(`burnRates.${severity}.long`, w.long);
      checkDuration(`burnRates.${severity}.short`, w.short);
      for (const [slo, objective] of [
        ['availability', p.availabilityObjective],
        ['latency', p.latencyObjective],
      ] as const) {
        // The error ratio can never exceed 1: a threshold at or above it is an alert that cannot fire.
        const threshold = w.factor * (1 - objective);
        if (!(objective > 0 && objective < 1) || threshold >= 1) {
          throw new Error(
            `${slo} objective ${objective} with burn rate ${w.factor} needs an error ratio of ${threshold}: it can never fire`,
          );
        }
      }
    }
  }
  if (!p.histogramBuckets.includes(p.latencyObjectiveThresholdSeconds)) {
    throw new Error(
      `latencyObjectiveThresholdSeconds ${p.latencyObjectiveThresholdSeconds} is not a bucket boundary (${p.histogramBuckets.join(', ')})`,
    );
  }
  for (const route of p.excludedRoutes) {
    if (!SAFE_LABEL_VALUE.test(route)) throw new Error(`excluded route "${route}" has regex characters`);
  }
  for (const [name, value] of [
    ['serviceJob', p.serviceJob],
    ['controllerJob', p.controllerJob],
    ['autoscaleTarget', p.autoscaleTarget],
    ['serviceLabel', p.serviceLabel],
  ] as const) {
    if (!SAFE_LABEL_VALUE.test(value) || value === '')
      throw new Error(`${name} "${value}" is not a plain label value`);
  }
  if (p.namespaceRegex.includes('"')) throw new Error('namespaceRegex must not contain a double quote');
  return p;
}

/** Builds `{job="...",namespace=~"...",...}`. */
function selector(p: RuleParams, job: string, extra: string[] = []): string {
  const matchers = [`job="${job}"`];
  if (p.namespaceRegex !== '.*') matchers.push(`namespace=~"${p.namespaceRegex}"`);
  return `{${[...matchers, ...extra].join(',')}}`;
}

function httpSelector(p: RuleParams, extra: string[] = []): string {
  const excluded = p.excludedRoutes.length > 0 ? [`route!~"${p.excludedRoutes.join('|')}"`] : [];
  return selector(p, p.serviceJob, [...excluded, ...extra]);
}

function alert(
  p: RuleParams,
  name: AlertName,
  spec: {
    expr: string;
    for?: string;
    severity: Severity;
    labels?: Record<string, string>;
    summary: string;
    description: string;
  },
): AlertingRule {
  return {
    alert: name,
    expr: spec.expr,
    ...(spec.for ? { for: spec.for } : {}),
    labels: { severity: spec.severity, service: p.serviceLabel, ...spec.labels },
    annotations: {
      summary: spec.summary,
      description: spec.description,
      runbook_url: runbookUrl(name, p.runbookBaseUrl),
    },
  };
}

export function runbookUrl(alertName: string, base: string = DEFAULT_RULE_PARAMS.runbookBaseUrl): string {
  return `${base.replace(/\/+$/, '')}/${alertName}.md`;
}

/**
 * What a load test must stay within, from the values the alerts use: p90 below the p90 alert's threshold, and
 * failed requests within the availability objective's error budget (1 - 0.99 = 1%).
 */
export function loadTestThresholds(p: RuleParams = DEFAULT_RULE_PARAMS): {
  p90Ms: number;
  maxFailedRate: number;
} {
  // toFixed: 1 - 0.99 is 0.010000000000000009 in binary floating point.
  return {
    p90Ms: p.p90ThresholdSeconds * 1000,
    maxFailedRate: Number((1 - p.availabilityObjective).toFixed(6)),
  };
}

/** loadTestThresholds() as the k6 scripts read them (load/k6/common.ts), set by the cdk8s Jobs and `npm run load -- k6`. */
export function loadTestThresholdEnv(p: RuleParams = DEFAULT_RULE_PARAMS): {
  P90_MS: string;
  MAX_FAILED_RATE: string;
} {
  const { p90Ms, maxFailedRate } = loadTestThresholds(p);
  return { P90_MS: String(p90Ms), MAX_FAILED_RATE: String(maxFailedRate) };
}

/**
 * Rate of 5xx responses that is 0 rather than absent when no 5xx series exists yet (the service creates a
 * status's series on its first response): `or` adds every non-5xx series multiplied by 0.
 */
function errorRate(errors: string, all: string, w: string): string {
  return `rate(http_request_duration_seconds_count${errors}[${w}]) or 0 * rate(http_request_duration_seconds_count${all}[${w}])`;
}

/** Request rate, error ratio and p50/p90/p99 per route and per namespace, plus the p90 alert. */
function httpGroup(p: RuleParams): RuleGroup {
  const w = p.rateWindow;
  const all = httpSelector(p);
  const errors = httpSelector(p, ['status=~"5.."']);
  const quantiles = ['0.5', '0.9', '0.99'];
  const rules: Rule[] = [
    {
      record: `namespace_route:http_requests:rate${w}`,
      expr: `sum by (namespace, route) (rate(http_request_duration_seconds_count${all}[${w}]))`,
    },
    {
      record: `namespace_route:http_request_errors:ratio_rate${w}`,
      expr:
        `sum by (namespace, route) (${errorRate(errors, all, w)})\n` +
        `/\n` +
        `sum by (namespace, route) (rate(http_request_duration_seconds_count${all}[${w}]))`,
    },
    // Quantiles are computed from bucket rates summed by `le` (never by averaging per-pod quantiles).
    {
      record: `namespace_route_le:http_request_duration_seconds_bucket:rate${w}`,
      expr: `sum by (namespace, route, le) (rate(http_request_duration_seconds_bucket${all}[${w}]))`,
    },
    ...quantiles.map((q): RecordingRule => ({
      record: 'namespace_route_quantile:http_request_duration_seconds:histogram_quantile',
      expr: `histogram_quantile(${q}, namespace_route_le:http_request_duration_seconds_bucket:rate${w})`,
      labels: { quantile: q },
    })),
    {
      record: `namespace:http_requests:rate${w}`,
      expr: `sum by (namespace) (namespace_route:http_requests:rate${w})`,
    },
    {
      record: `namespace_le:http_request_duration_seconds_bucket:rate${w}`,
      expr: `sum by (namespace, le) (namespace_route_le:http_request_duration_seconds_bucket:rate${w})`,
    },
    ...quantiles.map((q): RecordingRule => ({
      record: 'namespace_quantile:http_request_duration_seconds:histogram_quantile',
      expr: `histogram_quantile(${q}, namespace_le:http_request_duration_seconds_bucket:rate${w})`,
      labels: { quantile: q },
    })),
    // In the same group as the recordings it reads, so it sees this evaluation's values.
    alert(p, 'BookingHighP90Latency', {
      expr:
        `namespace_quantile:http_request_duration_seconds:histogram_quantile{quantile="0.9"} > ${p.p90ThresholdSeconds}\n` +
        `and on (namespace)\n` +
        `namespace:http_requests:rate${w} >= ${p.minRequestRate}`,
      for: p.forDuration,
      severity: 'page',
      labels: { autoscale: p.autoscaleTarget },
      summary: `Booking service p90 latency is above ${p.p90ThresholdSeconds}s`,
      description:
        `p90 latency of ${p.serviceJob} in namespace {{ $labels.namespace }} has been {{ $value | humanizeDuration }} ` +
        `over the last ${w} (threshold ${p.p90ThresholdSeconds}s, for ${p.forDuration}, with at least ${p.minRequestRate} req/s). ` +
        `The AlertScaler adds replicas while this fires.`,
    }),
  ];
  return { name: 'booking-service.http', interval: p.evaluationInterval, rules };
}

function uniqueWindows(p: RuleParams): string[] {
  const windows = new Set<string>();
  for (const burn of Object.values(p.burnRates)) {
    for (const w of burn.windows) {
      windows.add(w.long);
      windows.add(w.short);
    }
  }
  return [...windows].sort((a, b) => seconds(a) - seconds(b));
}

const UNIT_SECONDS: Record<string, number> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 604800,
  y: 31536000,
};

/** Seconds in a Prometheus duration such as `1h30m`. */
export function seconds(duration: string): number {
  checkDuration('duration', duration);
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/([0-9]+)(ms|s|m|h|d|w|y)/g))
    total += Number(n) * UNIT_SECONDS[unit!]!;
  return total;
}

/** SLI ratios over every burn-rate window and the page/ticket burn-rate alerts for both SLOs. */
function sloGroup(p: RuleParams): RuleGroup {
  const all = httpSelector(p);
  const errors = httpSelector(p, ['status=~"5.."']);
  const fast = httpSelector(p, [leMatcher(p.latencyObjectiveThresholdSeconds)]);
  const rules: Rule[] = [];
  for (const w of uniqueWindows(p)) {
    rules.push({
      record: `namespace:http_request_errors:ratio_rate${w}`,
      expr:
        `sum by (namespace) (${errorRate(errors, all, w)})\n` +
        `/\n` +
        `sum by (namespace) (rate(http_request_duration_seconds_count${all}[${w}]))`,
    });
    rules.push({
      record: `namespace:http_requests_slow:ratio_rate${w}`,
      expr:
        `1 - (\n` +
        `  sum by (namespace) (rate(http_request_duration_seconds_bucket${fast}[${w}]))\n` +
        `  /\n` +
        `  sum by (namespace) (rate(http_request_duration_seconds_count${all}[${w}]))\n` +
        `)`,
    });
  }
  const burnExpr = (record: string, objective: number, severity: Severity): string =>
    p.burnRates[severity].windows
      .map((w) => {
        const threshold = `${w.factor} * ${(1 - objective).toFixed(6).replace(/0+$/, '')}`;
        return (
          `(\n  ${record}${w.long} > (${threshold})\n` + `  and\n  ${record}${w.short} > (${threshold})\n)`
        );
      })
      .join('\nor\n');
  const pct = (x: number): string => `${Number((x * 100).toFixed(4))}%`;
  for (const severity of ['page', 'ticket'] as const) {
    const windows = p.burnRates[severity].windows
      .map((w) => `${w.factor}x over ${w.long}/${w.short}`)
      .join(' or ');
    rules.push(
      alert(p, 'BookingAvailabilityBudgetBurn', {
        expr: burnExpr('namespace:http_request_errors:ratio_rate', p.availabilityObjective, severity),
        for: p.burnRates[severity].for,
        severity,
        labels: { slo: 'availability' },
        summary: `Booking service is burning its availability error budget (${severity})`,
        description:
          `{{ $value | humanizePercentage }} of requests to ${p.serviceJob} in namespace {{ $labels.namespace }} ` +
          `answer 5xx; the SLO allows ${pct(1 - p.availabilityObjective)} ` +
          `(objective ${pct(p.availabilityObjective)}, burn rate ${windows}).`,
      }),
      alert(p, 'BookingLatencyBudgetBurn', {
        expr: burnExpr('namespace:http_requests_slow:ratio_rate', p.latencyObjective, severity),
        for: p.burnRates[severity].for,
        severity,
        labels: { slo: 'latency' },
        summary: `Booking service is burning its latency error budget (${severity})`,
        description:
          `{{ $value | humanizePercentage }} of requests to ${p.serviceJob} in namespace {{ $labels.namespace }} ` +
          `take longer than ${p.latencyObjectiveThresholdSeconds}s; the SLO allows ${pct(1 - p.latencyObjective)} ` +
          `(objective ${pct(p.latencyObjective)}, burn rate ${windows}).`,
      }),
    );
  }
  return { name: 'booking-service.slo', interval: p.evaluationInterval, rules };
}

/** The service's dependencies and saturation: up, Postgres, Redis, the DB pool, the seat-map cache. */
function saturationGroup(p: RuleParams): RuleGroup {
  const svc = (extra: string[] = []): string => selector(p, p.serviceJob, extra);
  const cache = (extra: string[]): string => `booking_seatmap_cache_requests_total${svc(extra)}`;
  const w = p.rateWindow;
  const dependencyDown = (dependency: 'postgres' | 'redis'): string =>
    // max: every replica reports the dependency down. One replica alone failing its check is taken
    // out of the Service by its readiness probe and is not a dependency outage.
    `max by (namespace) (booking_dependency_up${svc([`dependency="${dependency}"`])}) == 0`;
  return {
    name: 'booking-service.saturation',
    interval: p.evaluationInterval,
    rules: [
      alert(p, 'BookingServiceDown', {
        // `up == 0` for every target of the job: no replica answers its scrape.
        expr: `max by (namespace) (up${svc()}) == 0`,
        for: p.serviceDownFor,
        severity: 'page',
        summary: 'No booking service replica answers its metrics scrape',
        description: `Every ${p.serviceJob} target in namespace {{ $labels.namespace }} has failed its scrape for ${p.serviceDownFor}.`,
      }),
      alert(p, 'BookingPostgresDown', {
        expr: dependencyDown('postgres'),
        for: p.dependencyDownFor,
        severity: 'page',
        summary: 'Booking service replicas cannot reach Postgres',
        description:
          `Every ${p.serviceJob} replica in namespace {{ $labels.namespace }} reports Postgres not ready for ${p.dependencyDownFor}. ` +
          `Latency alerts and the scaling webhook are inhibited meanwhile: more replicas do not help a dead database.`,
      }),
      alert(p, 'BookingRedisDown', {
        expr: dependencyDown('redis'),
        for: p.dependencyDownFor,
        severity: 'ticket',
        summary: 'Booking service replicas cannot reach Redis',
        description:
          `Every ${p.serviceJob} replica in namespace {{ $labels.namespace }} reports Redis not ready for ${p.dependencyDownFor}. ` +
          `Seat maps are served from memory or Postgres (booking_seatmap_degraded_total rises).`,
      }),
      alert(p, 'BookingDbPoolWaiting', {
        expr: `max by (namespace, pod) (booking_db_pool_waiting${svc()}) > ${p.poolWaitingThreshold}`,
        for: p.poolWaitingFor,
        severity: 'ticket',
        // Routed to the AlertScaler too: its saturation guard holds scale-ups while the database is the bottleneck.
        labels: { autoscale: p.autoscaleTarget },
        summary: 'Booking service requests are queueing for a database connection',
        description:
          `{{ $value }} clients of pod {{ $labels.pod }} in namespace {{ $labels.namespace }} have been waiting for a ` +
          `Postgres connection for ${p.poolWaitingFor}: the pool is exhausted and requests will time out. ` +
          `The AlertScaler adds no replicas meanwhile: more replicas would add load to the database.`,
      }),
      alert(p, 'BookingSeatmapCacheHitRatioLow', {
        expr:
          `sum by (namespace, layer) (rate(${cache(['result="hit"'])}[${w}]))\n` +
          `/\n` +
          `sum by (namespace, layer) (rate(${cache([])}[${w}]))\n` +
          `< ${p.cacheHitRatioMin}\n` +
          `and on (namespace, layer)\n` +
          `sum by (namespace, layer) (rate(${cache([])}[${w}])) >= ${p.cacheMinLookupRate}`,
        for: p.cacheFor,
        severity: 'ticket',
        summary: 'Seat-map cache hit ratio has collapsed',
        description:
          `The {{ $labels.layer }} seat-map cache in namespace {{ $labels.namespace }} hits only ` +
          `{{ $value | humanizePercentage }} of lookups (minimum ${p.cacheHitRatioMin * 100}%): ` +
          `the seat-map hot path is going to Postgres.`,
      }),
    ],
  };
}

/** The AlertScaler at its maximum: alert-driven scaling can do no more. */
function controllerGroup(p: RuleParams): RuleGroup {
  const sel = selector(p, p.controllerJob);
  // In the cluster the controller's own `namespace` metric label collides with the target label that
  // relabeling adds and is kept as `exported_namespace`; grouping by both works there and locally.
  const by = 'max by (namespace, exported_namespace, alertscaler)';
  return {
    name: 'alertscaler',
    interval: p.evaluationInterval,
    rules: [
      alert(p, 'BookingAlertScalerAtMaxReplicas', {
        expr:
          `${by} (alertscaler_current_replicas${sel})\n` +
          `>= ${by} (alertscaler_max_replicas${sel})\n` +
          `and\n` +
          `${by} (alertscaler_desired_replicas${sel})\n` +
          `>= ${by} (alertscaler_max_replicas${sel})`,
        for: p.scalerAtMaxFor,
        severity: 'ticket',
        summary: 'AlertScaler is pinned at its maximum replicas',
        description:
          `AlertScaler {{ $labels.alertscaler }} has run at its maximum of {{ $value }} replicas for ${p.scalerAtMaxFor} ` +
          `and still wants more: scaling out no longer helps, the bottleneck is elsewhere (database, cache, code).`,
      }),
    ],
  };
}

/** The rule file for the booking service and its AlertScaler. */
export function bookingRules(overrides: Partial<RuleParams> = {}): RuleFile {
  const p = mergeParams(overrides);
  return { groups: [httpGroup(p), sloGroup(p), saturationGroup(p), controllerGroup(p)] };
}

export function isAlertingRule(rule: Rule): rule is AlertingRule {
  return 'alert' in rule;
}

/** Every alerting rule of a rule file (the burn-rate alerts appear once per severity). */
export function alertingRules(file: RuleFile): AlertingRule[] {
  return file.groups.flatMap((g) => g.rules.filter(isAlertingRule));
}
