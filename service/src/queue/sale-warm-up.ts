import type { Logger } from '@concert-booking/lib';
import type { SeatMapCache } from '../catalog/seat-map-cache.js';
import { warmUpDue } from './sale.js';
import type { QueueStore } from './store.js';

export interface SaleWarmUpOptions {
  store: QueueStore;
  seatMaps: SeatMapCache;
  /** How long before opensAt the seat maps are loaded: within the cache's TTL (config.ts checks). */
  leadMs: number;
  intervalMs: number;
  logger: Logger;
}

/**
 * Loads a scheduled sale's seat maps into the cache before it opens, so the first reads after opensAt are
 * hits. The service does it on its own schedule (every replica checks; one claims the sale in the store):
 * the sale is already in the store for the pre-queue, and the service owns the cache and its TTLs.
 */
export class SaleWarmUp {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(private readonly options: SaleWarmUpOptions) {}

  start(): void {
    this.timer ??= setInterval(() => void this.check(), this.options.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One check (the timer calls this; tests may too): the seat maps warmed, if due and unclaimed. */
  async check(now = Date.now()): Promise<number> {
    const { store, seatMaps, leadMs, logger } = this.options;
    if (this.running || !seatMaps.enabled) return 0;
    this.running = true;
    try {
      const sale = await store.sale();
      if (!sale || !warmUpDue(sale, now, leadMs) || !(await store.claimWarmUp(sale.opensAt))) return 0;
      let warmed = 0;
      for (const timeslotId of sale.timeslotIds) if (await seatMaps.get(timeslotId)) warmed++;
      logger.info(
        { opensAt: new Date(sale.opensAt).toISOString(), seatMaps: warmed },
        'sale seat maps warmed',
      );
      return warmed;
    } catch (error) {
      logger.warn({ err: (error as Error).message }, 'sale warm-up failed; the first reads fill the cache');
      return 0;
    } finally {
      this.running = false;
    }
  }
}
