/**
 * A VU worker's main, after the script's init code ran: reports the options, then runs what the runner asks,
 * lifecycle functions (`call`) or iterations of a scenario (`start`, until the gate closes).
 */
import { parentPort } from 'node:worker_threads';
import { Gate, type Assignment, type InitResult, type ToVu } from './protocol.js';
import { strict, UnsupportedK6Api } from './unsupported.js';
import { counters, enterScenario, gate, IterationInterrupted, nextTick, post, vu } from './vu-context.js';

type ScriptModule = Record<string, unknown>;

/** k6 logs an iteration's exception with where it happened; the first frame is enough to find it. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const frame = error.stack?.split('\n').find((line) => line.trimStart().startsWith('at '));
  return frame ? `${error.message} (${frame.trim()})` : error.message;
}

/** exec.vu.iterationInScenario carries on when a VU comes back to a scenario. */
const iterationsByScenario = new Map<string, number>();

function runIterations(script: ScriptModule, assignment: Assignment, data: unknown): void {
  enterScenario(assignment);
  const fn = script[assignment.exec] as (data: unknown) => void;
  vu.iterationInScenario = iterationsByScenario.get(assignment.scenario) ?? 0;
  let done = 0;
  const next = () => {
    if (gate() !== Gate.run || (assignment.iterations !== undefined && done >= assignment.iterations)) {
      post({ kind: 'stopped' });
      return;
    }
    vu.iterationInTest = Atomics.add(counters, assignment.counter, 1);
    const started = performance.now();
    try {
      fn(data);
      post({
        kind: 'iteration',
        durationMs: performance.now() - started,
        tags: { scenario: assignment.scenario, ...assignment.tags },
      });
    } catch (error) {
      if (!(error instanceof IterationInterrupted))
        post({ kind: 'error', message: describe(error), unsupported: error instanceof UnsupportedK6Api });
    }
    vu.groups = [];
    done++;
    vu.iterationInInstance++;
    iterationsByScenario.set(assignment.scenario, ++vu.iterationInScenario);
    // Back to the event loop between iterations, so the runner's messages are read.
    nextTick(next);
  };
  next();
}

/** The handleSummary data with k6's fields this layer does not fill (root_group, options...) refused by name. */
const summaryData = (data: unknown) => strict(data as object, 'handleSummary data');

export function serve(script: ScriptModule): void {
  const init: InitResult = {
    options: script.options,
    functions: Object.keys(script).filter((name) => typeof script[name] === 'function'),
  };
  post({ kind: 'ready', init });
  parentPort!.on('message', (message: ToVu) => {
    if (message.kind === 'start') {
      runIterations(script, message.assignment, message.data);
      return;
    }
    vu.phase = message.fn;
    try {
      const fn = script[message.fn] as (data: unknown) => unknown;
      const value = fn(message.fn === 'handleSummary' ? summaryData(message.data) : message.data);
      // k6 hands setup's data to the VUs as JSON.
      const sent = message.fn === 'setup' && value !== undefined ? JSON.parse(JSON.stringify(value)) : value;
      post({ kind: 'returned', value: sent });
    } catch (error) {
      post({ kind: 'threw', message: describe(error), unsupported: error instanceof UnsupportedK6Api });
    }
  });
}
