import { Gauge, type Registry } from 'prom-client';
import type { Knex } from '../db/knex.js';
import { SERVICE_METRICS } from '../metrics.js';
import type { SweepTask } from './sweeper.js';

/**
 * The business invariants, read from Postgres by a sweeper task (every SWEEP_INTERVAL_MS), never by a scrape: a
 * scrape must not wait for a lock or take a pool connection from requests. Both queries stay small: live
 * reservations are few next to seats, and the held-seat scan uses the sweeper's partial index. A failed read
 * reports NaN (no sample to alert on), never a false 0 or a false alarm.
 */
export function invariantsTask(db: Knex, registry: Registry): SweepTask {
  const oversold = new Gauge({ ...SERVICE_METRICS.oversoldSeats, registers: [registry] });
  const lag = new Gauge({ ...SERVICE_METRICS.holdExpiryLag, registers: [registry] });
  oversold.set(Number.NaN);
  lag.set(Number.NaN);
  return {
    name: 'invariants',
    async run() {
      oversold.set(await oversoldSeats(db).catch(() => Number.NaN));
      lag.set(await holdExpiryLagSeconds(db).catch(() => Number.NaN));
      // Nothing handled: one pass per interval.
      return 0;
    },
  };
}

/** Live reservations (HELD or CONFIRMED) beyond their timeslot's seats, summed over timeslots. */
export async function oversoldSeats(db: Knex): Promise<number> {
  const { rows } = await db.raw<{ rows: { oversold: string }[] }>(`
    select coalesce(sum(greatest(live.count - inventory.count, 0)), 0) as oversold
    from (
      select timeslot_id, count(*) as count from reservations
      where status in ('HELD', 'CONFIRMED') group by timeslot_id
    ) live
    cross join lateral (select count(*) as count from seats where seats.timeslot_id = live.timeslot_id) inventory`);
  return Number(rows[0]?.oversold ?? 0);
}

/** Seconds since the oldest still-HELD seat's hold expired; 0 when none is overdue. */
export async function holdExpiryLagSeconds(db: Knex): Promise<number> {
  const { rows } = await db.raw<{ rows: { lag: string | null }[] }>(`
    select extract(epoch from now() - min(hold_expires_at)) as lag
    from seats where status = 'HELD' and hold_expires_at < now()`);
  return Math.max(0, Number(rows[0]?.lag ?? 0));
}
