/**
 * What the runner (main thread) and a VU (a worker thread running the bundled script) say to each other.
 * k6's APIs are synchronous, so a VU blocks on Atomics.wait: for an HTTP answer (REPLY, the answer itself on
 * a port read with receiveMessageOnPort) and in sleep() (GATE, so an interrupt wakes it at once).
 */
export type Tags = Record<string, string>;

/** Int32 slots of a VU's SharedArrayBuffer. */
export const GATE = 0;
export const REPLY = 1;
export const SIGNAL_SLOTS = 2;

/** GATE values, written by the runner only. */
export const Gate = {
  /** No scenario: the VU waits for a `start`. */
  idle: 0,
  /** Start iterations while it stays so. */
  run: 1,
  /** Finish the current iteration, start no other (graceful stop or ramp-down). */
  stop: 2,
  /** Abandon the current iteration at its next sleep or request (the grace period is over). */
  interrupt: 3,
} as const;

/** A VU's work in one scenario (`exec`, `env` and `tags` as the scenario declares them). */
export interface Assignment {
  scenario: string;
  /** Index of the scenario's iteration counter in the shared counters (exec.scenario.iterationInTest). */
  counter: number;
  exec: string;
  env: Record<string, string>;
  tags: Tags;
  /** per-vu-iterations: iterations of this VU; undefined: until the gate closes. */
  iterations?: number;
}

export interface HttpRequest {
  method: string;
  url: string;
  body: string | null;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Statuses that do not count in http_req_failed (k6 default: 200-399). */
  expected: { min: number; max: number }[];
  tags: Tags;
}

export interface HttpAnswer {
  status: number;
  url: string;
  body: string | null;
  headers: Record<string, string>;
  /** Why no answer came (timeout, refused...): logged by the runner, status is 0 then. */
  error: string;
  /** The runner interrupted the iteration meanwhile. */
  interrupted?: boolean;
}

export type Lifecycle = 'setup' | 'teardown' | 'handleSummary';

export type ToVu =
  /** Run the assignment's iterations with setup's data while the gate says run. */
  { kind: 'start'; assignment: Assignment; data: unknown } | { kind: 'call'; fn: Lifecycle; data: unknown };

/** What init found: the options and which functions the script exports. */
export interface InitResult {
  options: unknown;
  functions: string[];
}

export type FromVu =
  | { kind: 'ready'; init: InitResult }
  | { kind: 'http'; request: HttpRequest }
  | { kind: 'check'; ok: boolean; tags: Tags }
  | { kind: 'iteration'; durationMs: number; tags: Tags }
  /** The VU left its scenario: the gate closed, or its iterations are done. */
  | { kind: 'stopped' }
  /** An exception in an iteration: k6 logs it and goes on; an unsupported API ends the run. */
  | { kind: 'error'; message: string; unsupported: boolean }
  | { kind: 'returned'; value: unknown }
  | { kind: 'threw'; message: string; unsupported: boolean };
