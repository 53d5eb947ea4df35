/**
 * The samples a k6 run records, and the end-of-test data k6 hands to handleSummary: per metric its type and
 * values (trend: avg, min, med, max, p(90), p(95) in ms; rate: rate, passes, fails; counter: count, rate),
 * a submetric per tag filter that a threshold names, and each threshold's `ok`.
 */
import { interpolatedPercentile } from '../stats.js';
import type { Tags } from './protocol.js';
import { METRICS, passes, type MetricType, type Threshold } from './thresholds.js';

/** k6's default summaryTrendStats. */
const TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'];

export interface SummaryMetric {
  type: MetricType;
  contains: 'time' | 'default';
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

export interface Summary {
  metrics: Record<string, SummaryMetric>;
  state: { testRunDurationMs: number; isStdOutTTY: boolean; isStdErrTTY: boolean };
}

export class MetricStore {
  private readonly samples = new Map<string, { value: number; tags: Tags }[]>();

  add(metric: string, value: number, tags: Tags): void {
    let list = this.samples.get(metric);
    if (!list) this.samples.set(metric, (list = []));
    list.push({ value, tags });
  }

  /** The values of `metric` whose tags include every pair of `filter`. */
  values(metric: string, filter: Tags = {}): number[] {
    const pairs = Object.entries(filter);
    return (this.samples.get(metric) ?? [])
      .filter(({ tags }) => pairs.every(([tag, value]) => tags[tag] === value))
      .map(({ value }) => value);
  }

  has(metric: string): boolean {
    return this.samples.has(metric);
  }
}

function aggregate(
  type: MetricType,
  values: number[],
  durationMs: number,
  stats: string[],
): Record<string, number> {
  if (type === 'counter') {
    const count = values.reduce((sum, v) => sum + v, 0);
    return { count, rate: durationMs > 0 ? count / (durationMs / 1000) : 0 };
  }
  if (type === 'rate') {
    const passes = values.filter((v) => v !== 0).length;
    return { rate: values.length ? passes / values.length : 0, passes, fails: values.length - passes };
  }
  const sorted = Float64Array.from(values).sort();
  const out: Record<string, number> = {};
  for (const stat of stats) {
    const p = /^p\(([\d.]+)\)$/.exec(stat);
    if (p) out[stat] = interpolatedPercentile(sorted, Number(p[1]));
    else if (stat === 'med') out[stat] = interpolatedPercentile(sorted, 50);
    else if (stat === 'avg')
      out[stat] = sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : 0;
    else if (stat === 'min') out[stat] = sorted[0] ?? 0;
    else out[stat] = sorted[sorted.length - 1] ?? 0;
  }
  return out;
}

/** The summary data and the thresholds that failed. */
export function summarize(
  store: MetricStore,
  thresholds: Threshold[],
  durationMs: number,
): { summary: Summary; failed: Threshold[] } {
  // Every recorded metric, and a submetric per threshold key; trends get the aggregates thresholds ask for too.
  const wanted = new Map<string, { metric: string; filter: Tags; stats: Set<string> }>();
  const want = (key: string, metric: string, filter: Tags) => {
    if (!wanted.has(key)) wanted.set(key, { metric, filter, stats: new Set(TREND_STATS) });
    return wanted.get(key)!;
  };
  for (const metric of Object.keys(METRICS)) if (store.has(metric)) want(metric, metric, {});
  for (const t of thresholds) want(t.metricKey, t.metric, t.filter).stats.add(t.aggregate);

  const metrics: Record<string, SummaryMetric> = {};
  for (const [key, { metric, filter, stats }] of wanted) {
    const type = METRICS[metric]!;
    metrics[key] = {
      type,
      contains: type === 'trend' ? 'time' : 'default',
      values: aggregate(type, store.values(metric, filter), durationMs, [...stats]),
    };
  }
  const failed = thresholds.filter((threshold) => {
    const metric = metrics[threshold.metricKey]!;
    const ok = passes(threshold, metric.values);
    (metric.thresholds ??= {})[threshold.expression] = { ok };
    return !ok;
  });
  const state = {
    testRunDurationMs: durationMs,
    isStdOutTTY: Boolean(process.stdout.isTTY),
    isStdErrTTY: Boolean(process.stderr.isTTY),
  };
  return { summary: { metrics, state }, failed };
}
