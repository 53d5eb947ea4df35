/**
 * Calibration: the drill's peak load derived from a measurement on this machine, so that the alert fires on
 * a fast machine and recovery is possible on a slow one. One capped worker is driven at rising concurrency
 * (closed model) and its p90 is read from the service's own histogram, the signal the alert rule reads.
 */
import { METRICS } from '@concert-booking/lib';
import type { DrillTarget } from './stack.js';

/** Virtual users of the ramp; it stops once p90 is well over the threshold. */
export const RAMP_VUS = [2, 4, 8, 12, 16, 24, 32, 48, 64] as const;
const STEP_SECONDS = 4;
const SEAT_MAP_ROUTE = '/v1/timeslots/:timeslotId/seats';
/** The peak must push one worker's p90 this far over the threshold, so the alert fires without doubt... */
export const FIRE_MARGIN = 1.5;
/** ...and spread over the maximum workers it must leave each one's p90 this far under it. */
export const RECOVER_MARGIN = 0.7;

export interface CalibrationStep {
  vus: number;
  requestsPerSecond: number;
  /** From the service's histogram over the step (the server's view, as Prometheus sees it). */
  serverP90Seconds: number;
  /** From the load runner (the clients' view). */
  clientP90Ms: number;
}

export type PeakChoice =
  | {
      ok: true;
      peakVus: number;
      /** p90 of the step the peak was chosen from. */
      p90AtPeakSeconds: number;
      /** Measured p90 of one worker at the per-worker load of the peak spread over maxWorkers. */
      p90PerWorkerAtMaxSeconds: number;
    }
  | { ok: false; reason: string };

/**
 * One worker's p90 at `vus`, interpolated linearly between the measured steps around it (below the first
 * step: the first step's, p90 does not fall below a single request's latency); undefined past the last.
 */
export function p90At(sorted: readonly CalibrationStep[], vus: number): number | undefined {
  const above = sorted.findIndex((s) => s.vus >= vus);
  if (above < 0) return undefined;
  const high = sorted[above]!;
  const low = sorted[above - 1];
  if (!low || high.vus === vus) return high.serverP90Seconds;
  return (
    low.serverP90Seconds +
    ((high.serverP90Seconds - low.serverP90Seconds) * (vus - low.vus)) / (high.vus - low.vus)
  );
}

/**
 * The peak: the smallest measured concurrency whose p90 is at least FIRE_MARGIN x the threshold, provided that
 * its share per worker at maxWorkers would see at most RECOVER_MARGIN x the threshold. Pure, for the table test.
 */
export function choosePeak(
  steps: readonly CalibrationStep[],
  thresholdSeconds: number,
  maxWorkers: number,
): PeakChoice {
  const sorted = [...steps].sort((a, b) => a.vus - b.vus);
  const firing = sorted.find((s) => s.serverP90Seconds >= FIRE_MARGIN * thresholdSeconds);
  if (!firing) {
    const top = sorted.at(-1);
    return {
      ok: false,
      reason: `one worker's p90 stayed under ${FIRE_MARGIN} x ${thresholdSeconds}s up to ${top?.vus ?? 0} virtual users (${top ? top.serverP90Seconds.toFixed(3) : '-'}s): the alert could not fire reliably`,
    };
  }
  const share = firing.vus / maxWorkers;
  const spread = p90At(sorted, share)!;
  if (spread > RECOVER_MARGIN * thresholdSeconds) {
    return {
      ok: false,
      reason: `at ${firing.vus} virtual users over ${maxWorkers} workers each worker would see ${share}, where one worker's p90 is about ${spread.toFixed(3)}s (over ${RECOVER_MARGIN} x ${thresholdSeconds}s): recovery could not be shown`,
    };
  }
  return {
    ok: true,
    peakVus: firing.vus,
    p90AtPeakSeconds: firing.serverP90Seconds,
    p90PerWorkerAtMaxSeconds: Math.round(spread * 1000) / 1000,
  };
}

/** Cumulative bucket counts (`le` in seconds, +Inf last) of one route, summed over every other label. */
export type Buckets = Map<number, number>;

export function routeBuckets(metricsText: string, route: string): Buckets {
  return histogramBuckets(metricsText, METRICS.httpRequestDuration, `route="${route}"`);
}

/** A histogram's cumulative bucket counts, summed over every label but `le`, of the lines containing `having`. */
export function histogramBuckets(metricsText: string, name: string, having = ''): Buckets {
  const buckets: Buckets = new Map();
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`) || !line.includes(having)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return new Map([...buckets].sort(([a], [b]) => a - b));
}

/**
 * The q-quantile of the observations between two scrapes, interpolated linearly inside a bucket like
 * PromQL's histogram_quantile (the highest finite bound when it falls in +Inf). NaN without observations.
 */
export function quantileBetween(q: number, before: Buckets, after: Buckets): number {
  const rows = [...after].map(([le, count]) => [le, count - (before.get(le) ?? 0)] as const);
  const total = rows.at(-1)?.[1] ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, count] of rows) {
    if (count >= rank) {
      if (le === Infinity) return lower;
      return lower + ((le - lower) * (rank - below)) / Math.max(count - below, 1e-9);
    }
    lower = le;
    below = count;
  }
  return lower;
}

/** Runs the ramp against the target's service (one worker or pod, nothing else watching yet). */
export async function measureRamp(
  target: DrillTarget,
  thresholdSeconds: number,
  log: (line: string) => void,
): Promise<CalibrationStep[]> {
  const load = (vus: number, seconds: number, warmUp = false) => target.load({ vus, seconds, warmUp });
  // Unmeasured: every seat map read once, pool connections open, code compiled.
  await load(1, 0.1, true);
  const steps: CalibrationStep[] = [];
  for (const vus of RAMP_VUS) {
    const before = routeBuckets(await target.serviceMetrics(), SEAT_MAP_ROUTE);
    const stage = await load(vus, STEP_SECONDS);
    const after = routeBuckets(await target.serviceMetrics(), SEAT_MAP_ROUTE);
    const step: CalibrationStep = {
      vus,
      requestsPerSecond: Math.round(stage.requestsPerSecond),
      serverP90Seconds: Math.round(quantileBetween(0.9, before, after) * 1000) / 1000,
      clientP90Ms: Math.round(stage.p90Ms),
    };
    steps.push(step);
    log(`calibration ${formatStep(step)}`);
    if (step.serverP90Seconds >= 2 * thresholdSeconds) break;
  }
  return steps;
}

export function formatStep(step: CalibrationStep): string {
  return (
    `${String(step.vus).padStart(3)} VUs  ${String(step.requestsPerSecond).padStart(5)} req/s` +
    `  server p90 ${(step.serverP90Seconds * 1000).toFixed(0).padStart(5)} ms  client p90 ${String(step.clientP90Ms).padStart(5)} ms`
  );
}
