import type { Logger } from '@concert-booking/lib';
import type { ControllerMetrics } from '../metrics.js';

type Key = { namespace: string; name: string };

const MAX_BACKOFF_MS = 60_000;
const FIRST_BACKOFF_MS = 500;

/**
 * A work queue of AlertScaler keys processed one at a time (so one AlertScaler is never reconciled twice
 * at once): keys are enqueued on change, all of them on each periodic resync, one again when its
 * cooldown or window ends, and again with exponential backoff after an error.
 */
export class ReconcileLoop {
  private readonly dirty = new Map<string, Key>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private running = false;

  constructor(
    private readonly reconcile: (namespace: string, name: string) => Promise<number | undefined>,
    private readonly listKeys: () => Key[],
    private readonly resyncMs: number,
    private readonly metrics: ControllerMetrics,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.resync();
    this.resyncTimer = setInterval(() => this.resync(), this.resyncMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.resyncTimer);
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.dirty.clear();
    await this.draining;
  }

  enqueue(key: Key): void {
    if (!this.running) return;
    this.dirty.set(`${key.namespace}/${key.name}`, key);
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  private resync(): void {
    for (const key of this.listKeys()) this.enqueue(key);
  }

  private later(key: Key, ms: number): void {
    const id = `${key.namespace}/${key.name}`;
    clearTimeout(this.timers.get(id));
    const timer = setTimeout(() => {
      this.timers.delete(id);
      this.enqueue(key);
    }, ms);
    timer.unref();
    this.timers.set(id, timer);
  }

  private async drain(): Promise<void> {
    while (this.running && this.dirty.size > 0) {
      const [id, key] = this.dirty.entries().next().value as [string, Key];
      this.dirty.delete(id);
      try {
        const recheckSeconds = await this.reconcile(key.namespace, key.name);
        this.failures.delete(id);
        if (recheckSeconds !== undefined) this.later(key, recheckSeconds * 1000);
      } catch (error) {
        const failures = (this.failures.get(id) ?? 0) + 1;
        this.failures.set(id, failures);
        this.metrics.reconcileErrors.inc();
        const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (failures - 1));
        this.logger.warn({ err: error, scaler: id, retryInMs: backoff }, 'reconcile failed');
        this.later(key, backoff);
      }
    }
  }
}
