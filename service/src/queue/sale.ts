import { randomInt } from 'node:crypto';
import { z } from 'zod';

/**
 * A scheduled sale as the waiting room knows it (docs/onsale.md): the OnSale controller publishes it on the
 * admin port (PUT /queue/sale), the service keeps it in the queue store, where every replica's joins and
 * admission rounds read it in the same step as the queue itself.
 */
export interface SaleSchedule {
  /** Epoch ms: admission starts; the pre-queue is shuffled. */
  opensAt: number;
  /** Epoch ms: joins are taken from then on (into the pre-queue until opensAt). */
  preQueueStart: number;
  /** The sale's seat maps, warmed into the cache before opensAt. */
  timeslotIds: number[];
}

const DAY_SECONDS = 86_400;

/** The body of PUT /queue/sale: the OnSale's own fields (controller/src/api/onsale.ts). */
export const saleScheduleSchema = z
  .strictObject({
    opensAt: z.iso.datetime(),
    preQueueSeconds: z.int().min(0).max(DAY_SECONDS),
    timeslotIds: z.array(z.int().min(1)).min(1).max(1000),
  })
  .transform(({ opensAt, preQueueSeconds, timeslotIds }): SaleSchedule => ({
    opensAt: Date.parse(opensAt),
    preQueueStart: Date.parse(opensAt) - preQueueSeconds * 1000,
    timeslotIds,
  }));

export type SaleWindow = 'none' | 'before' | 'pre-queue' | 'open';

/** Where `now` falls in the sale: before its pre-queue (joins refused), in it (joins shuffled), or open. */
export function saleWindow(sale: SaleSchedule | undefined, now: number): SaleWindow {
  if (!sale) return 'none';
  if (now < sale.preQueueStart) return 'before';
  return now < sale.opensAt ? 'pre-queue' : 'open';
}

/** Whether the sale's seat maps are to be loaded now: from `leadMs` before opensAt until it opens. */
export function warmUpDue(sale: SaleSchedule | undefined, now: number, leadMs: number): boolean {
  return !!sale && now >= sale.opensAt - leadMs && now < sale.opensAt;
}

const SHUFFLE_RESOLUTION = 2 ** 48;

/**
 * A pre-queued token's place, in (0, 1) after the sale's base score: from the OS's CSPRNG, so nobody can
 * predict or steer it, and every token that joined before opensAt is equally likely to be at any place.
 */
export const shuffleFraction = (): number => randomInt(1, SHUFFLE_RESOLUTION) / SHUFFLE_RESOLUTION;
