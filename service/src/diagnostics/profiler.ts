/**
 * On-demand V8 diagnostics of the running process through node:inspector: a CPU profile of N
 * seconds (the `.cpuprofile` JSON that Chrome DevTools, VS Code and speedscope open) and a heap
 * snapshot. Free of the service's own modules so the controller can mount it too.
 */
import { Session } from 'node:inspector/promises';
import type { Profiler } from 'node:inspector';
import { setTimeout as sleep } from 'node:timers/promises';

export type CpuProfile = Profiler.Profile;

/** Bounds of one CPU profile, in seconds: long enough to see a load pattern, short enough to end. */
export const PROFILE_SECONDS = { min: 1, max: 60, default: 10 } as const;

export class DiagnosticsBusyError extends Error {
  constructor(readonly running: string) {
    super(`a ${running} is already running in this process; try again when it ends`);
  }
}

/**
 * One diagnosis at a time per process. The inspector session is opened only while one runs, so
 * between them nothing is attached and the profiler costs nothing.
 */
export class Diagnostics {
  #running: string | undefined;

  /** What runs now, if anything. */
  get running(): string | undefined {
    return this.#running;
  }

  /** Samples every stack of this process for `seconds`, then returns the profile. */
  async cpuProfile(seconds: number): Promise<CpuProfile> {
    if (!Number.isFinite(seconds) || seconds < PROFILE_SECONDS.min || seconds > PROFILE_SECONDS.max) {
      throw new RangeError(
        `seconds must be from ${PROFILE_SECONDS.min} to ${PROFILE_SECONDS.max}, got ${seconds}`,
      );
    }
    return this.#exclusive('CPU profile', async (session) => {
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
      // Unreferenced: a profile in progress must not keep a stopping process alive.
      await sleep(seconds * 1000, undefined, { ref: false });
      const { profile } = await session.post('Profiler.stop');
      return profile;
    });
  }

  /**
   * Writes a heap snapshot (`.heapsnapshot` JSON) to `write` chunk by chunk. V8 stops the
   * process while it walks the heap, so expect a pause of about a second per 100 MB of heap.
   */
  async heapSnapshot(write: (chunk: string) => void): Promise<void> {
    await this.#exclusive('heap snapshot', async (session) => {
      session.on('HeapProfiler.addHeapSnapshotChunk', (message) => write(message.params.chunk));
      await session.post('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
    });
  }

  async #exclusive<T>(what: string, work: (session: Session) => Promise<T>): Promise<T> {
    if (this.#running) throw new DiagnosticsBusyError(this.#running);
    this.#running = what;
    const session = new Session();
    try {
      session.connect();
      return await work(session);
    } finally {
      session.disconnect();
      this.#running = undefined;
    }
  }
}
