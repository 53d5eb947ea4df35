/**
 * The runner's statistics, as pure functions over recorded samples (no I/O, no clock).
 * Percentiles use the nearest-rank definition: the smallest value with at least p% of the
 * samples at or below it, so p50 of 1..100 is 50 and p99 of 1..1000 is 990.
 */

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of values sorted ascending; NaN for no values. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  if (sorted.length === 0) return Number.NaN;
  // The epsilon keeps float error (0.999 x 1000 = 999.0000000000001) from moving up a rank.
  const rank = Math.max(1, Math.ceil((p * sorted.length) / 100 - 1e-9));
  return sorted[rank - 1]!;
}

/**
 * k6's trend percentile (thresholds and summaries of the k6 layer): linear interpolation between the two
 * closest ranks, so p(90) of 1..10 is 9.1; 0 for no values, as k6 reports an empty trend.
 */
export function interpolatedPercentile(sorted: ArrayLike<number>, p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  if (sorted.length === 0) return 0;
  const rank = (p / 100) * (sorted.length - 1);
  const below = sorted[Math.floor(rank)]!;
  return below + (sorted[Math.ceil(rank)]! - below) * (rank - Math.floor(rank));
}

export function summarize(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
  };
}

/** How load was applied during a stage: closed model (concurrent VUs) or open model (arrivals/s). */
export type Load = { model: 'closed'; vus: number } | { model: 'open'; rate: number };

export function loadLabel(load: Load): string {
  return load.model === 'closed' ? `${load.vus} VUs` : `${load.rate}/s`;
}

export function loadValue(load: Load): number {
  return load.model === 'closed' ? load.vus : load.rate;
}

/** What a stage recorded: latencies of answered requests and failures by kind. */
export interface StageSamples {
  load: Load;
  elapsedMs: number;
  latenciesMs: ArrayLike<number>;
  /** Failed requests by kind (`timeout`, `connection`, `http 503`, `check`, ...). */
  errors: Record<string, number>;
  /** Open model: iterations not started because maxInFlight were still running. */
  dropped: number;
}

export interface StageStats {
  load: Load;
  elapsedSeconds: number;
  requests: number;
  requestsPerSecond: number;
  latencyMs: LatencySummary;
  errors: Record<string, number>;
  errorCount: number;
  errorRate: number;
  timeouts: number;
  dropped: number;
}

export function stageStats(samples: StageSamples): StageStats {
  const errorCount = Object.values(samples.errors).reduce((a, b) => a + b, 0);
  // Requests that failed without an answer (timeouts, connection errors) carry no latency.
  const answeredFailures = Object.entries(samples.errors)
    .filter(([kind]) => kind.startsWith('http ') || kind === 'check')
    .reduce((sum, [, n]) => sum + n, 0);
  const requests = samples.latenciesMs.length + errorCount - answeredFailures;
  const seconds = samples.elapsedMs / 1000;
  return {
    load: samples.load,
    elapsedSeconds: seconds,
    requests,
    requestsPerSecond: seconds > 0 ? requests / seconds : 0,
    latencyMs: summarize(samples.latenciesMs),
    errors: { ...samples.errors },
    errorCount,
    errorRate: requests > 0 ? errorCount / requests : 0,
    timeouts: samples.errors.timeout ?? 0,
    dropped: samples.dropped,
  };
}

/** The first stage whose error rate reaches `threshold` (the capacity limit), if any. */
export function firstFailingStage(stages: StageStats[], threshold = 0.01): StageStats | undefined {
  return stages.find((s) => s.errorRate >= threshold || s.dropped > 0);
}

/** What a run must stay within (lib/src/slo.ts loadTestThresholds: the alerts' values). */
export interface LoadThresholds {
  p90Ms: number;
  maxFailedRate: number;
}

/**
 * Each stage that breaks a threshold, as a line: p90 at or above `p90Ms`, or an error rate at or above
 * `maxFailedRate` (k6's `p(90)<x` and `rate<y`, judged per stage since each stage is one load level).
 */
export function thresholdBreaches(stages: StageStats[], { p90Ms, maxFailedRate }: LoadThresholds): string[] {
  return stages.flatMap((s, i) => {
    const stage = `stage ${i + 1} (${loadLabel(s.load)})`;
    return [
      ...(s.latencyMs.p90 >= p90Ms
        ? [`${stage}: p90 ${s.latencyMs.p90.toFixed(1)} ms, not below ${p90Ms} ms`]
        : []),
      ...(s.errorRate >= maxFailedRate
        ? [`${stage}: ${(s.errorRate * 100).toFixed(2)}% failed, not below ${maxFailedRate * 100}%`]
        : []),
    ];
  });
}

/** `10,50,100` -> [10, 50, 100]; positive integers only. */
export function parseStepList(text: string): number[] {
  const steps = text.split(',').map((s) => s.trim());
  if (steps.length === 0 || steps.some((s) => !/^[1-9][0-9]*$/.test(s))) {
    throw new Error(`expected comma-separated positive integers, got "${text}"`);
  }
  return steps.map(Number);
}

/** b / a, for "how many times better": NaN when a is not positive. */
export function ratio(a: number, b: number): number {
  return a > 0 ? b / a : Number.NaN;
}

/** Where more load stops buying throughput: the stage with the highest requests/s. */
export function peakThroughputStage(stages: StageStats[]): StageStats | undefined {
  return stages.reduce<StageStats | undefined>(
    (best, s) => (!best || s.requestsPerSecond > best.requestsPerSecond ? s : best),
    undefined,
  );
}
