/**
 * k6 thresholds on the metrics this layer records: `http_req_duration` (trend: avg, min, med, max, p(N)),
 * `http_req_failed` and `checks` (rate), `http_reqs` and `iterations` (counter: count, rate), each
 * optionally filtered by tags (`http_req_duration{strategy:atomic}`, several as `{a:x,b:y}`).
 */
import { UnsupportedK6Api } from './unsupported.js';

export type MetricType = 'trend' | 'rate' | 'counter';

/** The metrics the runner records, by k6 name. */
export const METRICS: Record<string, MetricType> = {
  http_reqs: 'counter',
  http_req_duration: 'trend',
  http_req_failed: 'rate',
  checks: 'rate',
  iterations: 'counter',
  iteration_duration: 'trend',
};

const AGGREGATES: Record<MetricType, RegExp> = {
  trend: /^(avg|min|med|max|p\(\d+(\.\d+)?\))$/,
  rate: /^rate$/,
  counter: /^(count|rate)$/,
};

const OPERATORS: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '==': (a, b) => a === b,
  '===': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

export interface Threshold {
  /** As written in options, `http_req_duration{strategy:atomic}`: the key of its summary metric. */
  metricKey: string;
  metric: string;
  type: MetricType;
  filter: Record<string, string>;
  /** `p(90)<500` */
  expression: string;
  aggregate: string;
  operator: string;
  value: number;
}

function parseKey(key: string): { metric: string; filter: Record<string, string> } {
  const match = /^([a-z_]+)(?:\{(.+)\})?$/.exec(key);
  if (!match)
    throw new Error(`thresholds: "${key}" is not a metric name with an optional {tag:value} filter`);
  const [, metric, filterText] = match as unknown as [string, string, string | undefined];
  const filter: Record<string, string> = {};
  for (const pair of filterText?.split(',') ?? []) {
    const [tag, ...value] = pair.split(':');
    if (!tag?.trim() || value.length === 0)
      throw new Error(`thresholds: "${key}" has a filter that is not tag:value`);
    filter[tag.trim()] = value.join(':').trim();
  }
  return { metric, filter };
}

function parseExpression(
  key: string,
  type: MetricType,
  expression: unknown,
): Omit<Threshold, 'metricKey' | 'metric' | 'type' | 'filter'> {
  if (typeof expression !== 'string')
    throw new UnsupportedK6Api(`thresholds written as objects (abortOnFail, delayAbortEval) on ${key}`);
  const match = /^\s*([a-z]+(?:\([\d.]+\))?)\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(
    expression,
  );
  if (!match) throw new Error(`thresholds: "${expression}" on ${key} is not like "p(90)<500" or "rate<0.01"`);
  const [, aggregate, operator, value] = match as unknown as [string, string, string, string];
  if (!AGGREGATES[type].test(aggregate))
    throw new UnsupportedK6Api(`the aggregation "${aggregate}" on ${key} (a ${type})`);
  return { expression, aggregate, operator, value: Number(value) };
}

export function parseThresholds(raw: unknown): Threshold[] {
  if (raw === undefined) return [];
  return Object.entries(raw as Record<string, unknown>).flatMap(([metricKey, expressions]) => {
    const { metric, filter } = parseKey(metricKey);
    const type = METRICS[metric];
    if (!type) throw new UnsupportedK6Api(`thresholds on the metric "${metric}"`);
    if (!Array.isArray(expressions))
      throw new Error(`thresholds.${metricKey} must be an array of expressions`);
    return expressions.map((expression) => ({
      metricKey,
      metric,
      type,
      filter,
      ...parseExpression(metricKey, type, expression),
    }));
  });
}

/** Whether the aggregated value passes, e.g. values['p(90)'] < 500. */
export function passes(threshold: Threshold, values: Record<string, number>): boolean {
  const value = values[threshold.aggregate];
  return value !== undefined && OPERATORS[threshold.operator]!(value, threshold.value);
}
