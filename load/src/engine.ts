/**
 * Drives a scenario through stages: closed model (N virtual users, each running iterations back to
 * back) or open model (iterations started at a constant rate whatever the answers, at most
 * `maxInFlight` at once: the rest are dropped and counted, like k6's dropped_iterations).
 */
import type { LoadClient, Sink } from './client.js';
import type { Scenario, ScenarioOptions } from './scenarios.js';
import { percentile, stageStats, type Load, type StageStats } from './stats.js';

export interface StagePlan {
  load: Load;
  durationMs: number;
}

export interface Progress {
  stageIndex: number;
  stageCount: number;
  load: Load;
  elapsedMs: number;
  durationMs: number;
  /** Over the last progress interval. */
  requestsPerSecond: number;
  p90Ms: number;
  errors: number;
}

export interface RunOptions extends ScenarioOptions {
  maxInFlight: number;
  progressIntervalMs: number;
  /** Run the scenario's warm-up, unmeasured, before the first stage. */
  warmUp?: boolean;
  onProgress?: (progress: Progress) => void;
  /** Awaited before each stage starts (e.g. until the service has drained the previous stage). */
  beforeStage?: (stageIndex: number) => Promise<void>;
  /** Ends the current stage early (its iterations in flight finish first), e.g. once a drill saw enough. */
  stop?: AbortSignal;
}

/** Collects one stage's samples, plus a window for the progress line. */
class StageRecorder implements Sink {
  readonly latencies: number[] = [];
  readonly errors: Record<string, number> = {};
  dropped = 0;
  private window: number[] = [];
  private windowErrors = 0;

  answered(latencyMs: number): void {
    this.latencies.push(latencyMs);
    this.window.push(latencyMs);
  }

  failed(kind: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
    this.windowErrors++;
  }

  takeWindow(): { latencies: Float64Array; errors: number } {
    const out = { latencies: Float64Array.from(this.window).sort(), errors: this.windowErrors };
    this.window = [];
    this.windowErrors = 0;
    return out;
  }
}

/** Iterations end on their own; a failed iteration (a thrown error) is counted, never fatal. */
async function safeIteration<S>(
  scenario: Scenario<S>,
  client: LoadClient,
  state: S,
  options: ScenarioOptions,
) {
  try {
    await scenario.iteration(client, state, options);
  } catch {
    client.sink.failed('iteration');
  }
}

const inTime = (until: number, stop?: AbortSignal) => performance.now() < until && !stop?.aborted;

async function runClosed<S>(
  vus: number,
  until: number,
  scenario: Scenario<S>,
  client: LoadClient,
  state: S,
  options: RunOptions,
) {
  const vu = async () => {
    while (inTime(until, options.stop)) await safeIteration(scenario, client, state, options);
  };
  await Promise.all(Array.from({ length: vus }, vu));
}

async function runOpen<S>(
  rate: number,
  until: number,
  recorder: StageRecorder,
  scenario: Scenario<S>,
  client: LoadClient,
  state: S,
  options: RunOptions,
) {
  const running = new Set<Promise<void>>();
  const start = performance.now();
  let started = 0;
  while (inTime(until, options.stop)) {
    // Catch up on every arrival due by now: timers are coarse, arrivals are not.
    const due = Math.floor(((performance.now() - start) / 1000) * rate) + 1;
    for (; started < due; started++) {
      if (running.size >= options.maxInFlight) {
        recorder.dropped++;
        continue;
      }
      const iteration = safeIteration(scenario, client, state, options).then(() => {
        running.delete(iteration);
      });
      running.add(iteration);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, 1000 / rate / 2)));
  }
  await Promise.all(running);
}

/**
 * The scenario's warm-up with its outcomes kept out of every stage. A failed warm-up request means the
 * stages would not start from the state they claim (e.g. a warm cache), so it throws.
 */
async function warmUp<S>(scenario: Scenario<S>, client: LoadClient, state: S, options: ScenarioOptions) {
  const recorder = new StageRecorder();
  client.sink = recorder;
  await scenario.warmUp?.(client, state, options);
  const failures = Object.entries(recorder.errors);
  if (failures.length > 0) {
    throw new Error(
      `warm-up failed (${failures.map(([kind, n]) => `${kind}: ${n}`).join(', ')}; ${recorder.latencies.length} answered)`,
    );
  }
}

/** Runs every stage in order with one setup; returns each stage's statistics. */
export async function runStages<S>(
  scenario: Scenario<S>,
  client: LoadClient,
  plans: StagePlan[],
  options: RunOptions,
): Promise<StageStats[]> {
  const state = await scenario.setup(client, options);
  if (options.warmUp) await warmUp(scenario, client, state, options);
  const results: StageStats[] = [];
  for (const [stageIndex, plan] of plans.entries()) {
    await options.beforeStage?.(stageIndex);
    const recorder = new StageRecorder();
    client.sink = recorder;
    const begin = performance.now();
    const until = begin + plan.durationMs;
    const ticker = setInterval(() => {
      const window = recorder.takeWindow();
      options.onProgress?.({
        stageIndex,
        stageCount: plans.length,
        load: plan.load,
        elapsedMs: performance.now() - begin,
        durationMs: plan.durationMs,
        requestsPerSecond: (window.latencies.length * 1000) / options.progressIntervalMs,
        p90Ms: percentile(window.latencies, 90),
        errors: window.errors,
      });
    }, options.progressIntervalMs);
    try {
      if (plan.load.model === 'closed')
        await runClosed(plan.load.vus, until, scenario, client, state, options);
      else await runOpen(plan.load.rate, until, recorder, scenario, client, state, options);
    } finally {
      clearInterval(ticker);
    }
    results.push(
      stageStats({
        load: plan.load,
        elapsedMs: performance.now() - begin,
        latenciesMs: recorder.latencies,
        errors: recorder.errors,
        dropped: recorder.dropped,
      }),
    );
  }
  return results;
}
