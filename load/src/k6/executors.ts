/**
 * The executors, as k6's docs describe them. ramping-vus: VUs follow rampingSteps(); a VU ramped down
 * finishes its iteration within gracefulRampDown, and at the end every VU within gracefulStop, else it is
 * interrupted. per-vu-iterations: each VU runs its iterations, within maxDuration (+ gracefulStop).
 */
import type { ScenarioPlan } from './options.js';
import type { Assignment } from './protocol.js';
import { rampingSteps, stagesMs } from './schedule.js';
import type { Vu } from './vus.js';

/** VUs not in a scenario; more are started when scenarios overlap more than planned. */
export interface VuPool {
  take(): Promise<Vu>;
  give(vu: Vu): void;
}

/** Resolves at `at` (performance.now() time) or when `abort` fires. */
function until(at: number, abort: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (abort.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      abort.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, at - performance.now()));
    abort.addEventListener('abort', done);
  });
}

/** One scenario's VUs: started newest last, ramped down newest first (as k6 does). */
class ScenarioVus {
  private readonly active: Vu[] = [];
  private readonly finished = new Map<Vu, Promise<void>>();

  constructor(
    private readonly pool: VuPool,
    private readonly assignment: Assignment,
    private readonly data: unknown,
  ) {}

  /** Starts or retires VUs until `count` run; a retired one is interrupted after `graceMs`. */
  async scaleTo(count: number, graceMs: number): Promise<void> {
    while (this.active.length < count) {
      const vu = await this.pool.take();
      this.active.push(vu);
      // A VU that leaves on its own (its iterations done) goes back to the pool too.
      const finished = vu.start(this.assignment, this.data).then(() => {
        this.forget(vu);
        this.pool.give(vu);
      });
      this.finished.set(vu, finished);
    }
    while (this.active.length > count) this.retire(this.active.at(-1)!, graceMs);
  }

  private forget(vu: Vu): void {
    const index = this.active.indexOf(vu);
    if (index >= 0) this.active.splice(index, 1);
  }

  private retire(vu: Vu, graceMs: number): void {
    this.forget(vu);
    vu.stop();
    const timer = setTimeout(() => vu.interrupt(), graceMs);
    void this.finished.get(vu)!.then(() => clearTimeout(timer));
  }

  /** Resolves when every VU has left, however it did. */
  allFinished(): Promise<unknown> {
    return Promise.all(this.finished.values());
  }

  async end(graceMs: number): Promise<void> {
    for (const vu of [...this.active]) this.retire(vu, graceMs);
    await this.allFinished();
  }
}

/** Runs one scenario from its startTime (relative to `testStart`); returns when its last VU has left. */
export async function runScenario(
  plan: ScenarioPlan,
  assignment: Assignment,
  data: unknown,
  pool: VuPool,
  testStart: number,
  abort: AbortSignal,
): Promise<void> {
  const start = testStart + plan.startTimeMs;
  await until(start, abort);
  if (abort.aborted) return;
  const vus = new ScenarioVus(pool, assignment, data);
  const stopGrace = () => (abort.aborted ? 0 : plan.gracefulStopMs);
  if (plan.executor === 'per-vu-iterations') {
    await vus.scaleTo(plan.vus, 0);
    const allDone = new AbortController();
    void vus.allFinished().then(() => allDone.abort());
    await until(start + plan.maxDurationMs, AbortSignal.any([abort, allDone.signal]));
    await vus.end(stopGrace());
    return;
  }
  const endMs = stagesMs(plan.stages);
  for (const step of rampingSteps(plan.startVUs, plan.stages)) {
    await until(start + step.atMs, abort);
    if (abort.aborted) break;
    // A VU ramped down near the end gets no more than the scenario's own graceful stop.
    await vus.scaleTo(step.vus, Math.min(plan.gracefulRampDownMs, endMs - step.atMs + plan.gracefulStopMs));
  }
  await until(start + endMs, abort);
  await vus.end(stopGrace());
}
