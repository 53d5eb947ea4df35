/** Concurrent calls for one key share a single execution: one query behind a hundred misses. */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  run(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.inFlight.get(key);
    if (running) return running;
    const promise = work().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    return promise;
  }
}

/**
 * Coalesces repeated requests for one key's work, such as invalidations: a call starts the
 * work at once when none is running; during a run, calls join the single next run, which
 * starts when the current one ends. Every caller's promise therefore settles with a run that
 * started after the call (an invalidation requested after a commit is sent after it), and a
 * burst of N calls costs two runs instead of N.
 */
export class Coalescer {
  private readonly running = new Map<string, Promise<void>>();
  private readonly next = new Map<string, Promise<void>>();

  run(key: string, work: () => Promise<void>): Promise<void> {
    const queued = this.next.get(key);
    if (queued) return queued;
    const current = this.running.get(key);
    if (!current) return this.start(key, work);
    const later = current
      .catch(() => undefined)
      .then(() => {
        this.next.delete(key);
        return this.start(key, work);
      });
    this.next.set(key, later);
    return later;
  }

  private start(key: string, work: () => Promise<void>): Promise<void> {
    const run: Promise<void> = work().finally(() => {
      if (this.running.get(key) === run) this.running.delete(key);
    });
    this.running.set(key, run);
    return run;
  }
}
