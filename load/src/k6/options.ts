/**
 * A script's `options`, checked and turned into the runner's plan. Supported, with k6's defaults:
 * `scenarios` with the `ramping-vus` and `per-vu-iterations` executors (startTime, gracefulStop, exec, env,
 * tags), the `stages` shortcut (+ `vus` as startVUs), and `thresholds`. No options: one VU, one iteration.
 * Any other key fails by name (UnsupportedK6Api), so nothing a script asks for is dropped.
 */
import { parseDuration } from './duration.js';
import { parseThresholds, type Threshold } from './thresholds.js';
import { onlyKnownKeys, UnsupportedK6Api } from './unsupported.js';

export interface Stage {
  durationMs: number;
  target: number;
}

interface CommonPlan {
  name: string;
  startTimeMs: number;
  gracefulStopMs: number;
  exec: string;
  env: Record<string, string>;
  tags: Record<string, string>;
}

export type ScenarioPlan = CommonPlan &
  (
    | { executor: 'ramping-vus'; startVUs: number; stages: Stage[]; gracefulRampDownMs: number }
    | { executor: 'per-vu-iterations'; vus: number; iterations: number; maxDurationMs: number }
  );

export interface TestPlan {
  scenarios: ScenarioPlan[];
  thresholds: Threshold[];
}

const COMMON_KEYS = ['executor', 'startTime', 'gracefulStop', 'exec', 'env', 'tags'];
const EXECUTOR_KEYS: Record<string, string[]> = {
  'ramping-vus': ['startVUs', 'stages', 'gracefulRampDown'],
  'per-vu-iterations': ['vus', 'iterations', 'maxDuration'],
};
const DEFAULT_GRACE = '30s';

type Raw = Record<string, unknown>;

function count(value: unknown, what: string, fallback: number, min = 0): number {
  const n = value === undefined ? fallback : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min)
    throw new Error(`${what} must be an integer of at least ${min}, got ${JSON.stringify(value)}`);
  return n;
}

function stringRecord(value: unknown, what: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Object.values(value).some((v) => typeof v !== 'string'))
    throw new Error(`${what} must map names to strings`);
  return value as Record<string, string>;
}

function stages(value: unknown, what: string): Stage[] {
  if (!Array.isArray(value) || value.length === 0) throw new Error(`${what} must be a non-empty array`);
  return value.map((stage: Raw, i) => {
    onlyKnownKeys(stage, ['duration', 'target'], `${what}[${i}]`);
    return {
      durationMs: parseDuration(stage.duration, `${what}[${i}].duration`),
      target: count(stage.target, `${what}[${i}].target`, 0),
    };
  });
}

function scenario(name: string, raw: Raw): ScenarioPlan {
  const what = `options.scenarios.${name}`;
  const executor = String(raw.executor);
  const own = EXECUTOR_KEYS[executor];
  if (!own) throw new UnsupportedK6Api(`the executor "${executor}" (${what})`);
  onlyKnownKeys(raw, [...COMMON_KEYS, ...own], what);
  const common: CommonPlan = {
    name,
    startTimeMs: parseDuration(raw.startTime ?? 0, `${what}.startTime`),
    gracefulStopMs: parseDuration(raw.gracefulStop ?? DEFAULT_GRACE, `${what}.gracefulStop`),
    exec: raw.exec === undefined ? 'default' : String(raw.exec),
    env: stringRecord(raw.env, `${what}.env`),
    tags: stringRecord(raw.tags, `${what}.tags`),
  };
  if (executor === 'ramping-vus') {
    return {
      ...common,
      executor,
      startVUs: count(raw.startVUs, `${what}.startVUs`, 1),
      stages: stages(raw.stages, `${what}.stages`),
      gracefulRampDownMs: parseDuration(raw.gracefulRampDown ?? DEFAULT_GRACE, `${what}.gracefulRampDown`),
    };
  }
  return {
    ...common,
    executor: 'per-vu-iterations',
    vus: count(raw.vus, `${what}.vus`, 1, 1),
    iterations: count(raw.iterations, `${what}.iterations`, 1, 1),
    maxDurationMs: parseDuration(raw.maxDuration ?? '10m', `${what}.maxDuration`),
  };
}

/** The plan for `options` (undefined when the script exports none), or an error naming what is wrong. */
export function planFromOptions(options: unknown): TestPlan {
  const raw = (options ?? {}) as Raw;
  onlyKnownKeys(raw, ['scenarios', 'stages', 'vus', 'thresholds'], 'options');
  if (raw.scenarios !== undefined && (raw.stages !== undefined || raw.vus !== undefined))
    throw new Error('options: use either scenarios or the stages/vus shortcut, not both');
  if (raw.vus !== undefined && raw.stages === undefined)
    throw new UnsupportedK6Api('options.vus without options.stages');
  const scenarios = raw.scenarios
    ? Object.entries(raw.scenarios as Record<string, Raw>).map(([name, s]) => scenario(name, s))
    : [
        raw.stages
          ? scenario('default', { executor: 'ramping-vus', startVUs: raw.vus, stages: raw.stages })
          : scenario('default', { executor: 'per-vu-iterations' }),
      ];
  if (scenarios.length === 0) throw new Error('options.scenarios is empty');
  return { scenarios, thresholds: parseThresholds(raw.thresholds) };
}
