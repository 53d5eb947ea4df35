/**
 * Shared by the k6 scripts (k6 runs TypeScript natively; these files cannot import Node code).
 * The scenario shapes are documented once in load/README.md; load/src/scenarios.ts is the local twin.
 *
 * Environment:
 *   BASE_URL        the service (default http://booking-service, the in-cluster Service)
 *   STAGES          virtual users per step, comma-separated (default 100,200,400,600,800,1000)
 *   STAGE_SECONDS   how long each step holds (default 30); RAMP_SECONDS to reach it (default 10)
 *   P90_MS          threshold on http_req_duration p(90), required
 *   MAX_FAILED_RATE threshold on http_req_failed (and 1 - it on checks), required
 *                   Both are the alerts' values (lib/src/slo.ts loadTestThresholds), which k6 scripts
 *                   cannot import: the cdk8s Jobs and `npm run load -- k6` set them from there.
 *   SUMMARY_DIR     where handleSummary writes <scenario>-summary.json (default /tmp)
 */
import type { Stage } from 'k6/options';

export const BASE_URL = (__ENV.BASE_URL || 'http://booking-service').replace(/\/+$/, '');

function numberList(text: string): number[] {
  const values = text.split(',').map((v) => Number(v.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new Error(`expected comma-separated positive integers, got "${text}"`);
  }
  return values;
}

function envNumber(name: string, fallback?: number): number {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback;
    throw new Error(
      `${name} is not set: it comes from the alert rules (monitoring/src/rules.ts); the k6 Jobs and ` +
        '`npm run load -- k6` set it, with k6 itself pass -e ' +
        `${name}=...`,
    );
  }
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return value;
}

/** Ramp to each step's virtual users, hold it, and ramp down at the end: the incident document's steps. */
export function stagesFromEnv(): Stage[] {
  const steps = numberList(__ENV.STAGES || '100,200,400,600,800,1000');
  const ramp = `${envNumber('RAMP_SECONDS', 10)}s`;
  const hold = `${envNumber('STAGE_SECONDS', 30)}s`;
  return [
    ...steps.flatMap((target) => [
      { duration: ramp, target },
      { duration: hold, target },
    ]),
    { duration: ramp, target: 0 },
  ];
}

/** Total seconds of {@link stagesFromEnv}, to start scenarios one after another. */
export function stagesSeconds(stages: Stage[]): number {
  return stages.reduce((sum, stage) => sum + Number(stage.duration.replace(/s$/, '')), 0);
}

/** Thresholds on latency and failures, optionally per tag (`{strategy:atomic}`). */
export function thresholds(tagFilters: string[] = ['']): Record<string, string[]> {
  const p90 = envNumber('P90_MS');
  const failed = envNumber('MAX_FAILED_RATE');
  const out: Record<string, string[]> = {};
  for (const filter of tagFilters) {
    out[`http_req_duration${filter}`] = [`p(90)<${p90}`];
    out[`http_req_failed${filter}`] = [`rate<${failed}`];
  }
  out.checks = [`rate>${1 - failed}`];
  return out;
}

/** The parts of k6's end-of-test data that the summaries use. */
export interface SummaryData {
  metrics: Record<
    string,
    { type: string; values: Record<string, number>; thresholds?: Record<string, { ok: boolean }> }
  >;
  state: { testRunDurationMs: number };
}

/**
 * A compact JSON line on stdout (read it with `kubectl logs job/...`) and the full data in a file.
 */
export function summaryOutputs(scenario: string, data: SummaryData): Record<string, string> {
  const pick = (metric: string) => data.metrics[metric]?.values ?? {};
  const failedThresholds = Object.entries(data.metrics).flatMap(([name, metric]) =>
    Object.entries(metric.thresholds ?? {})
      .filter(([, result]) => !result.ok)
      .map(([threshold]) => `${name}: ${threshold}`),
  );
  const compact = {
    scenario,
    durationSeconds: Math.round(data.state.testRunDurationMs / 1000),
    requests: pick('http_reqs').count ?? 0,
    requestsPerSecond: pick('http_reqs').rate ?? 0,
    latencyMs: pick('http_req_duration'),
    failedRate: pick('http_req_failed').rate ?? 0,
    checksRate: pick('checks').rate ?? 0,
    failedThresholds,
  };
  const dir = (__ENV.SUMMARY_DIR || '/tmp').replace(/\/+$/, '');
  return {
    stdout: `${JSON.stringify(compact)}\n`,
    [`${dir}/${scenario}-summary.json`]: JSON.stringify(data, null, 2),
  };
}

/** JSON request parameters with optional extra headers and tags. */
export function jsonParams(headers: Record<string, string> = {}, tags: Record<string, string> = {}) {
  return {
    headers: { 'Content-Type': 'application/json', ...headers },
    tags,
    timeout: __ENV.TIMEOUT || '10s',
  };
}
