import type { Logger } from '@concert-booking/lib';

/** One kind of clean-up: handles up to `batchSize` items per call and says how many it handled. */
export interface SweepTask {
  name: string;
  run(batchSize: number): Promise<number>;
}

/**
 * Runs clean-up tasks every interval, batch after batch while batches come back full. Every
 * replica runs one; the tasks use SKIP LOCKED, so they share the work instead of waiting.
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly tasks: SweepTask[],
    private readonly options: { intervalMs: number; batchSize: number; logger: Logger },
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  /** Stops the timer and waits for a pass in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over every task until each has nothing left (the timer calls this; tests may too). */
  async sweepOnce(): Promise<Record<string, number>> {
    const handled: Record<string, number> = {};
    for (const task of this.tasks) {
      let total = 0;
      for (;;) {
        const count = await task.run(this.options.batchSize);
        total += count;
        if (count < this.options.batchSize || this.stopped) break;
      }
      handled[task.name] = total;
    }
    return handled;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.running = this.sweepOnce()
        .then(() => undefined)
        .catch((error: Error) => this.options.logger.warn({ err: error.message }, 'sweep failed'))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule();
        });
    }, this.options.intervalMs);
    this.timer.unref();
  }
}
