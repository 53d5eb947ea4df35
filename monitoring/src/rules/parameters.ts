// The rules' parameters: their types, the defaults, and the checks that refuse parameters under which an alert
// could never fire.
import {
  ALERTS,
  AVAILABILITY_OBJECTIVE,
  ETA_ERROR_BUCKETS,
  LATENCY_BUCKETS,
  P90_THRESHOLD_SECONDS,
} from '@concert-booking/lib';

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
  histogramBuckets: readonly number[];
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
  /** BookingOversold: how long oversold seats must be seen (short: it is never right). */
  oversoldFor: string;
  /** BookingHoldExpiryLeak: seconds a hold may stay HELD past its expiry (a few sweep intervals). */
  holdLeakSeconds: number;
  holdLeakFor: string;
  /** BookingQueueJumping: refused waiting-token holds and payments per second above which someone jumps. */
  queueJumpRatePerSecond: number;
  queueJumpFor: string;
  /** BookingQueueEtaInaccurate: admissions later than their estimate by more than this are late. */
  etaLateSeconds: number;
  /** Share of admissions that may be late. */
  etaLateRatioMax: number;
  /** Admissions per second below which the share is not judged. */
  etaMinAdmissionRate: number;
  etaFor: string;
  /** The ETA histogram's buckets (etaLateSeconds must be one). */
  etaBuckets: readonly number[];
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
  p90ThresholdSeconds: P90_THRESHOLD_SECONDS,
  // 5 minutes: long enough that one slow scrape window does not page or scale, short enough that the
  // controller adds replicas before a 14.4x latency burn has spent much budget.
  forDuration: '5m',
  minRequestRate: 1,
  autoscaleTarget: 'booking-service',
  availabilityObjective: AVAILABILITY_OBJECTIVE,
  latencyObjective: 0.99,
  latencyObjectiveThresholdSeconds: 1,
  histogramBuckets: LATENCY_BUCKETS,
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
  oversoldFor: '1m',
  // The sweeper runs every 5 s (SWEEP_INTERVAL_MS): a minute is a dozen sweeps missed, not one slow one.
  holdLeakSeconds: 60,
  holdLeakFor: '2m',
  queueJumpRatePerSecond: 0.5,
  queueJumpFor: '10m',
  etaLateSeconds: 10,
  etaLateRatioMax: 0.1,
  etaMinAdmissionRate: 0.1,
  etaFor: '10m',
  etaBuckets: ETA_ERROR_BUCKETS,
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
  'BookingOversold',
  'BookingHoldExpiryLeak',
  'BookingQueueJumping',
  'BookingQueueEtaInaccurate',
] as const;
export type AlertName = (typeof ALERT_NAMES)[number];
// The names the controller and the drill read come from lib (one source): a rename here that is not made there
// fails to compile.
const _sharedNames: readonly AlertName[] = Object.values(ALERTS);

const DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;
const SAFE_LABEL_VALUE = /^[A-Za-z0-9_:/.-]*$/;

export function checkDuration(name: string, value: string): void {
  if (!DURATION.test(value)) throw new Error(`${name}: "${value}" is not a Prometheus duration`);
}

export function mergeParams(overrides: Partial<RuleParams>): RuleParams {
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
    'oversoldFor',
    'holdLeakFor',
    'queueJumpFor',
    'etaFor',
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
  if (!p.etaBuckets.includes(p.etaLateSeconds)) {
    throw new Error(
      `etaLateSeconds ${p.etaLateSeconds} is not a bucket boundary (${p.etaBuckets.join(', ')})`,
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
