/**
 * Inside a VU worker: its link to the runner, its state, and k6's globals (`__ENV`, `__VU`, `__ITER`).
 * Imported before the script (see bundle.ts), so the globals exist when the script's init code runs.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import {
  GATE,
  Gate,
  REPLY,
  type Assignment,
  type FromVu,
  type HttpAnswer,
  type HttpRequest,
  type Tags,
} from './protocol.js';

export interface VuWorkerData {
  /** 1.. for the VUs that run iterations; 0 for the one that runs init, setup, teardown and handleSummary. */
  vu: number;
  signals: SharedArrayBuffer;
  /** One Int32 per scenario: iterations started so far (exec.scenario.iterationInTest). */
  counters: SharedArrayBuffer;
  replyPort: MessagePort;
  env: Record<string, string>;
}

const data = workerData as VuWorkerData;
const signals = new Int32Array(data.signals);
export const counters = new Int32Array(data.counters);

/** Where the script is: k6 forbids requests in the init context, and exec.scenario exists in iterations only. */
export type Phase = 'init' | 'setup' | 'iteration' | 'teardown' | 'handleSummary';

export const vu = {
  id: data.vu,
  phase: 'init' as Phase,
  assignment: undefined as Assignment | undefined,
  /** Per scenario, like exec.vu.iterationInScenario. */
  iterationInScenario: 0,
  iterationInInstance: 0,
  iterationInTest: 0,
  /** Nested group() names. */
  groups: [] as string[],
};

/** Kept for the VU loop: scripts do not see it (below). */
export const nextTick: (fn: () => void) => void = setImmediate;

// k6 has no Node globals: a script that used them would pass here and fail in k6.
for (const name of ['process', 'Buffer', 'global', 'fetch', 'setImmediate', 'clearImmediate'])
  Object.defineProperty(globalThis, name, { value: undefined, configurable: true });

const globals = globalThis as unknown as { __ENV: Record<string, string>; __VU: number; __ITER: number };
globals.__ENV = { ...data.env };
globals.__VU = data.vu;
Object.defineProperty(globalThis, '__ITER', { get: () => vu.iterationInScenario });

/** k6 gives iterations the scenario's env on top of the test's. */
export function enterScenario(assignment: Assignment): void {
  vu.assignment = assignment;
  vu.phase = 'iteration';
  globals.__ENV = { ...data.env, ...assignment.env };
}

/** Thrown at a sleep or request once the runner interrupts the iteration; the VU loop swallows it. */
export class IterationInterrupted extends Error {}

export function post(message: FromVu): void {
  parentPort!.postMessage(message);
}

export const gate = (): number => Atomics.load(signals, GATE);

/** The runner performs the request; this thread blocks until the answer is there. */
export function requestSync(request: HttpRequest): HttpAnswer {
  Atomics.store(signals, REPLY, 0);
  post({ kind: 'http', request });
  while (Atomics.load(signals, REPLY) === 0) Atomics.wait(signals, REPLY, 0);
  const answer = receiveMessageOnPort(data.replyPort)!.message as HttpAnswer;
  if (answer.interrupted) throw new IterationInterrupted();
  return answer;
}

/** Blocks for `ms`; an interrupt (a change of the gate) ends it early with IterationInterrupted. */
export function sleepMs(ms: number): void {
  const end = performance.now() + ms;
  for (let left = ms; left > 0; left = end - performance.now()) {
    const state = gate();
    if (state === Gate.interrupt) break;
    Atomics.wait(signals, GATE, state, left);
  }
  if (gate() === Gate.interrupt) throw new IterationInterrupted();
}

/** The tags k6 puts on a sample taken now: scenario, group, and the scenario's own tags. */
export function currentTags(): Tags {
  const assignment = vu.assignment;
  return {
    group: vu.groups.map((name) => `::${name}`).join(''),
    ...(assignment ? { scenario: assignment.scenario, ...assignment.tags } : {}),
  };
}
