/**
 * Runs a k6 script the way `k6 run` does, on this machine: bundle, init (options), setup, the scenarios,
 * teardown, handleSummary (its files written, `stdout`/`stderr` printed), thresholds. Each VU is a worker
 * thread of its own, like k6's one JS runtime per VU. Exit codes are k6's: 99 a threshold failed, 104 the
 * options are invalid or unsupported, 107 the script threw outside an iteration or used an unsupported API.
 */
import { writeFileSync } from 'node:fs';
import { bundleScript, ScriptBundleError } from './bundle.js';
import { runScenario, type VuPool } from './executors.js';
import { MetricStore, summarize, type Summary } from './metrics.js';
import { planFromOptions, type TestPlan } from './options.js';
import type { Assignment, Lifecycle } from './protocol.js';
import { maxVUs } from './schedule.js';
import { Vu } from './vus.js';

export const K6_EXIT = { ok: 0, thresholdsFailed: 99, invalidConfig: 104, scriptException: 107 } as const;

/** Slots of the shared iteration counters, one per scenario. */
const MAX_SCENARIOS = 64;

export interface K6RunOptions {
  script: string;
  /** __ENV of every VU (scenario env on top). */
  env: Record<string, string>;
  /** Progress, script output and errors (the CLI prints them on stderr). */
  log(line: string): void;
  /** handleSummary's `stdout` (the CLI prints it on stdout). */
  stdout(text: string): void;
  progressIntervalMs?: number;
}

export interface K6RunResult {
  exitCode: number;
  /** Why the run failed, if it did (a script exception, an unsupported API, bad options). */
  error?: string;
  summary?: Summary;
  /** `http_req_duration: p(90)<500` for each failed threshold. */
  failedThresholds: string[];
  /** Exceptions in iterations (k6 logs them and goes on). */
  iterationErrors: number;
}

class RunFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** The script's own k6 run; resolves with k6's exit code, never rejects for the script's faults. */
export async function runK6Script(options: K6RunOptions): Promise<K6RunResult> {
  const store = new MetricStore();
  const vus: Vu[] = [];
  const abort = new AbortController();
  let fatal: string | undefined;
  let iterationErrors = 0;
  /** Ends the run at once (interrupting every VU) with exit 107 and `message`. */
  function stopRun(message: string): void {
    if (fatal) return;
    fatal = message;
    abort.abort();
  }
  const events = {
    store,
    log: options.log,
    scriptError(message: string, unsupported: boolean) {
      options.log(`ERROR in an iteration: ${message}`);
      iterationErrors++;
      if (unsupported) stopRun(message);
    },
    lost: stopRun,
  };
  const counters = new SharedArrayBuffer(MAX_SCENARIOS * Int32Array.BYTES_PER_ELEMENT);
  let bundleUrl: URL;
  const newVu = () => {
    const vu = new Vu(vus.length, bundleUrl, counters, options.env, events);
    vus.push(vu);
    return vu;
  };
  const lifecycle = async (vu: Vu, fn: Lifecycle, data?: unknown) => {
    try {
      return await vu.call(fn, data);
    } catch (error) {
      throw new RunFailure(`${fn}: ${(error as Error).message}`, K6_EXIT.scriptException);
    }
  };

  try {
    try {
      const code = await bundleScript(options.script);
      bundleUrl = new URL(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
    } catch (error) {
      if (error instanceof ScriptBundleError) throw new RunFailure(error.message, K6_EXIT.scriptException);
      throw error;
    }
    // VU 0 runs init for the options, and the lifecycle functions, as k6's own init VU does.
    const first = newVu();
    const init = await first.ready.catch((error: Error) => {
      throw new RunFailure(`init: ${error.message}`, K6_EXIT.scriptException);
    });
    let plan: TestPlan;
    try {
      plan = planFromOptions(init.options);
      for (const s of plan.scenarios)
        if (!init.functions.includes(s.exec))
          throw new Error(`options.scenarios.${s.name}.exec: the script exports no function "${s.exec}"`);
    } catch (error) {
      throw new RunFailure((error as Error).message, K6_EXIT.invalidConfig);
    }
    if (plan.scenarios.length > MAX_SCENARIOS)
      throw new RunFailure(`options.scenarios: more than ${MAX_SCENARIOS}`, K6_EXIT.invalidConfig);

    const idle: Vu[] = [];
    for (let i = 0; i < Math.max(...plan.scenarios.map(maxVUs)); i++) idle.push(newVu());
    await Promise.all(idle.map((vu) => vu.ready)).catch((error: Error) => {
      throw new RunFailure(`init: ${error.message}`, K6_EXIT.scriptException);
    });
    const pool: VuPool = {
      async take() {
        const vu = idle.pop() ?? newVu();
        await vu.ready;
        return vu;
      },
      give: (vu) => idle.push(vu),
    };

    const data = init.functions.includes('setup') ? await lifecycle(first, 'setup') : undefined;
    const testStart = performance.now();
    const progress = setInterval(
      () => options.log(progressLine(store, performance.now() - testStart)),
      options.progressIntervalMs ?? 1000,
    );
    try {
      await Promise.all(
        plan.scenarios.map((scenario, counter) => {
          const assignment: Assignment = {
            scenario: scenario.name,
            counter,
            exec: scenario.exec,
            env: scenario.env,
            tags: scenario.tags,
          };
          if (scenario.executor === 'per-vu-iterations') assignment.iterations = scenario.iterations;
          return runScenario(scenario, assignment, data, pool, testStart, abort.signal);
        }),
      );
    } finally {
      clearInterval(progress);
    }
    const durationMs = performance.now() - testStart;
    if (fatal) throw new RunFailure(fatal, K6_EXIT.scriptException);
    if (init.functions.includes('teardown')) await lifecycle(first, 'teardown', data);

    const { summary, failed } = summarize(store, plan.thresholds, durationMs);
    const failedThresholds = failed.map((t) => `${t.metricKey}: ${t.expression}`);
    options.log(summaryLine(summary, failedThresholds));
    if (init.functions.includes('handleSummary'))
      writeOutputs(await lifecycle(first, 'handleSummary', summary), options);
    return {
      exitCode: failed.length > 0 ? K6_EXIT.thresholdsFailed : K6_EXIT.ok,
      summary,
      failedThresholds,
      iterationErrors,
    };
  } catch (error) {
    if (!(error instanceof RunFailure)) throw error;
    options.log(`ERROR ${error.message}`);
    return { exitCode: error.exitCode, error: error.message, failedThresholds: [], iterationErrors };
  } finally {
    await Promise.all(vus.map((vu) => vu.terminate()));
  }
}

/** handleSummary's result: `stdout` and `stderr` printed, any other key a file written. */
function writeOutputs(outputs: unknown, options: K6RunOptions): void {
  for (const [target, content] of Object.entries((outputs ?? {}) as Record<string, unknown>)) {
    if (typeof content !== 'string')
      throw new RunFailure(`handleSummary: "${target}" is not a string`, K6_EXIT.scriptException);
    if (target === 'stdout') options.stdout(content);
    else if (target === 'stderr') options.log(content.replace(/\n$/, ''));
    else writeFileSync(target, content);
  }
}

const count = (summary: Summary, metric: string, value: string) =>
  summary.metrics[metric]?.values[value] ?? 0;

function progressLine(store: MetricStore, elapsedMs: number): string {
  const checks = store.values('checks');
  const passed = checks.filter((ok) => ok).length;
  return `[k6 ${(elapsedMs / 1000).toFixed(0)} s] requests ${store.values('http_reqs').length}  iterations ${store.values('iterations').length}  checks ${passed}/${checks.length}`;
}

function summaryLine(summary: Summary, failed: string[]): string {
  return [
    `requests ${count(summary, 'http_reqs', 'count')}, failed ${(count(summary, 'http_req_failed', 'rate') * 100).toFixed(2)}%, ` +
      `p(90) ${count(summary, 'http_req_duration', 'p(90)').toFixed(1)} ms, ` +
      `checks ${count(summary, 'checks', 'passes')} passed / ${count(summary, 'checks', 'fails')} failed, iterations ${count(summary, 'iterations', 'count')}`,
    failed.length ? `thresholds failed: ${failed.join('; ')}` : 'thresholds: all passed',
  ].join('\n');
}
