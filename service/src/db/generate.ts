import type { Knex } from 'knex';

export interface CatalogVolume {
  concerts: number;
  timeslotsPerConcert: number;
  seatsPerTimeslot: number;
}

export const DEMO_VOLUME: CatalogVolume = { concerts: 5, timeslotsPerConcert: 4, seatsPerTimeslot: 100 };

/**
 * Bulk catalog generation inside Postgres (generate_series), a few statements whatever the
 * volume: 100 x 20 x 500 = 1M seats takes seconds, not the minutes of row-by-row inserts.
 * Seat grades and prices follow a venue's layout: the front rows are VIP, the back rows A.
 */
export async function generateCatalog(
  db: Knex,
  volume: CatalogVolume,
  onProgress?: (seats: number, total: number) => void,
): Promise<{ seats: number }> {
  return db.transaction(async (trx) => {
    const concertIds: number[] = (
      await trx.raw<{ rows: { id: string }[] }>(
        `insert into concerts (name, artist, venue)
         select 'Concert ' || n, 'Artist ' || ((n - 1) % 37 + 1), 'Hall ' || ((n - 1) % 7 + 1)
         from generate_series(1, ?) as n
         returning id`,
        [volume.concerts],
      )
    ).rows.map((row) => Number(row.id));
    if (concertIds.length === 0) return { seats: 0 };
    await trx.raw(
      `insert into timeslots (concert_id, starts_at)
       select c.id, date_trunc('day', now()) + interval '30 days' + (k * interval '1 day') + interval '19 hours'
       from unnest(?::bigint[]) as c(id) cross join generate_series(0, ? - 1) as k`,
      [concertIds, volume.timeslotsPerConcert],
    );
    const total = concertIds.length * volume.timeslotsPerConcert * volume.seatsPerTimeslot;
    let seats = 0;
    // A statement per tenth of the concerts rather than one, so a long generation can report progress.
    const perChunk = Math.ceil(concertIds.length / 10);
    for (let start = 0; start < concertIds.length; start += perChunk) {
      const inserted = await trx.raw<{ rowCount: number }>(
        `insert into seats (timeslot_id, number, grade, price)
         select t.id, n,
                case when n <= s * 0.1 then 'VIP' when n <= s * 0.3 then 'R' when n <= s * 0.6 then 'S' else 'A' end,
                case when n <= s * 0.1 then 220000 when n <= s * 0.3 then 176000 when n <= s * 0.6 then 154000 else 121000 end
         from timeslots t
         cross join (select ?::int as s) as size
         cross join generate_series(1, size.s) as n
         where t.concert_id = any(?::bigint[])`,
        [volume.seatsPerTimeslot, concertIds.slice(start, start + perChunk)],
      );
      seats += inserted.rowCount;
      onProgress?.(seats, total);
    }
    return { seats };
  });
}

/** Demo data for the embedded default, loaded only into an empty catalog. */
export async function seedDemoDataIfEmpty(db: Knex): Promise<boolean> {
  const [{ count }] = (await db('concerts').count({ count: '*' })) as [{ count: string }];
  if (Number(count) > 0) return false;
  await generateCatalog(db, DEMO_VOLUME);
  return true;
}
