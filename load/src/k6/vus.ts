/**
 * The runner's side of a VU: the worker thread running the bundled script, its gate, and the HTTP requests
 * it asks for (sent here with fetch, recorded as http_reqs, http_req_duration and http_req_failed).
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { MetricStore } from './metrics.js';
import {
  GATE,
  Gate,
  REPLY,
  SIGNAL_SLOTS,
  type Assignment,
  type FromVu,
  type HttpAnswer,
  type HttpRequest,
  type InitResult,
  type Lifecycle,
} from './protocol.js';
import type { VuWorkerData } from './vu-context.js';

/** What a VU reports that is the run's business, not the VU's. */
export interface VuEvents {
  store: MetricStore;
  /** An iteration threw: k6 logs it and goes on; an unsupported API ends the run. */
  scriptError(message: string, unsupported: boolean): void;
  /** Script output (console.*) and warnings. */
  log(line: string): void;
  /** The worker died outside a lifecycle call (an uncaught error, an exit): the run cannot go on. */
  lost(message: string): void;
}

/** k6 spells response header names canonically (`Content-Type`); fetch lowercases them. */
const canonical = (name: string) =>
  name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());

export class ScriptError extends Error {
  constructor(
    message: string,
    readonly unsupported: boolean,
  ) {
    super(message);
  }
}

export class Vu {
  private readonly worker: Worker;
  private readonly signals: Int32Array;
  private readonly replies: MessagePort;
  private readonly inFlight = new Set<AbortController>();
  private pending?: { resolve(value: unknown): void; reject(error: Error): void };
  private onStopped?: () => void;
  private isLost = false;
  /** Resolves with init's result once the script's init code ran here. */
  readonly ready: Promise<InitResult>;

  constructor(
    readonly id: number,
    bundleUrl: URL,
    counters: SharedArrayBuffer,
    env: Record<string, string>,
    private readonly events: VuEvents,
  ) {
    const signals = new SharedArrayBuffer(SIGNAL_SLOTS * Int32Array.BYTES_PER_ELEMENT);
    this.signals = new Int32Array(signals);
    const { port1, port2 } = new MessageChannel();
    this.replies = port1;
    const workerData: VuWorkerData = { vu: id, signals, counters, replyPort: port2, env };
    this.worker = new Worker(bundleUrl, {
      workerData,
      transferList: [port2],
      execArgv: ['--enable-source-maps'],
      stdout: true,
      stderr: true,
    });
    for (const stream of [this.worker.stdout, this.worker.stderr]) {
      stream.setEncoding('utf8');
      stream.on('data', (text: string) => events.log(text.replace(/\n$/, '')));
    }
    this.ready = new Promise((resolve, reject) => {
      this.pending = { resolve: resolve as (value: unknown) => void, reject };
    });
    this.worker.on('message', (message: FromVu) => this.receive(message));
    // An exception the worker did not catch (the script's init code threw), or an exit: 'exit' follows 'error'.
    this.worker.once('error', (error) => this.lose(error.message));
    this.worker.once('exit', (code) => this.lose(`VU ${id} exited (code ${code})`));
  }

  private lose(message: string): void {
    if (this.isLost) return;
    this.isLost = true;
    if (this.pending) this.settle(undefined, new ScriptError(message, false));
    else this.events.lost(message);
    // A scenario waiting for this VU to leave must not wait forever.
    this.onStopped?.();
  }

  private settle(value: unknown, error?: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    if (error) pending?.reject(error);
    else pending?.resolve(value);
  }

  private receive(message: FromVu): void {
    const { store } = this.events;
    switch (message.kind) {
      case 'ready':
        return this.settle(message.init);
      case 'returned':
        return this.settle(message.value);
      case 'threw':
        return this.settle(undefined, new ScriptError(message.message, message.unsupported));
      case 'http':
        void this.send(message.request);
        return;
      case 'check':
        return store.add('checks', message.ok ? 1 : 0, message.tags);
      case 'iteration':
        store.add('iterations', 1, message.tags);
        return store.add('iteration_duration', message.durationMs, message.tags);
      case 'error':
        return this.events.scriptError(message.message, message.unsupported);
      case 'stopped':
        this.setGate(Gate.idle);
        this.onStopped?.();
        return;
    }
  }

  private setGate(state: number): void {
    Atomics.store(this.signals, GATE, state);
    Atomics.notify(this.signals, GATE);
  }

  private reply(answer: HttpAnswer): void {
    this.replies.postMessage(answer);
    Atomics.store(this.signals, REPLY, 1);
    Atomics.notify(this.signals, REPLY);
  }

  private async send(request: HttpRequest): Promise<void> {
    const interrupt = new AbortController();
    this.inFlight.add(interrupt);
    const started = performance.now();
    let answer: HttpAnswer;
    try {
      const response = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.any([interrupt.signal, AbortSignal.timeout(request.timeoutMs)]),
      });
      const body = await response.text();
      const headers = Object.fromEntries(
        [...response.headers].map(([name, value]) => [canonical(name), value]),
      );
      answer = { status: response.status, url: response.url, body, headers, error: '' };
    } catch (error) {
      const cause = (error as { cause?: Error }).cause ?? (error as Error);
      const timedOut = (error as Error).name === 'TimeoutError';
      answer = {
        status: 0,
        url: request.url,
        body: null,
        headers: {},
        error: timedOut ? `request timeout after ${request.timeoutMs} ms` : cause.message,
        interrupted: interrupt.signal.aborted,
      };
    } finally {
      this.inFlight.delete(interrupt);
    }
    if (!answer.interrupted) {
      const expected = request.expected.some(({ min, max }) => answer.status >= min && answer.status <= max);
      const tags = {
        ...request.tags,
        method: request.method,
        url: request.url,
        status: String(answer.status),
        expected_response: String(expected),
      };
      const { store } = this.events;
      store.add('http_reqs', 1, tags);
      store.add('http_req_duration', performance.now() - started, tags);
      store.add('http_req_failed', expected ? 0 : 1, tags);
      if (answer.error)
        this.events.log(`WARN request failed: ${request.method} ${request.url}: ${answer.error}`);
    }
    this.reply(answer);
  }

  /** Runs `fn` (setup, teardown, handleSummary) on this VU; rejects with ScriptError if it throws. */
  call(fn: Lifecycle, data?: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage({ kind: 'call', fn, data });
    });
  }

  /** Starts the assignment's iterations; resolves when the VU has left the scenario. */
  start(assignment: Assignment, data: unknown): Promise<void> {
    return new Promise((resolve) => {
      this.onStopped = resolve;
      // Open before the message: the worker may read the gate as soon as the message is posted.
      this.setGate(Gate.run);
      this.worker.postMessage({ kind: 'start', assignment, data });
    });
  }

  /** Finish the current iteration, then leave. */
  stop(): void {
    if (Atomics.load(this.signals, GATE) === Gate.run) this.setGate(Gate.stop);
  }

  /** Abandon the current iteration at its next sleep or request (in flight ones are cancelled). */
  interrupt(): void {
    if (Atomics.load(this.signals, GATE) === Gate.idle) return;
    this.setGate(Gate.interrupt);
    for (const request of this.inFlight) request.abort();
  }

  async terminate(): Promise<void> {
    this.isLost = true;
    this.replies.close();
    await this.worker.terminate();
  }
}
