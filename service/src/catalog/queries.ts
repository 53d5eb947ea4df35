import type { Knex } from 'knex';

export interface ConcertRow {
  id: number;
  name: string;
  artist: string;
  venue: string;
}

export interface TimeslotRow {
  id: number;
  concertId: number;
  startsAt: string;
  totalSeats: number;
  availableSeats: number;
}

export interface SeatRow {
  id: number;
  number: number;
  grade: string;
  price: number;
  status: string;
}

export interface SeatMap {
  timeslotId: number;
  concertId: number;
  startsAt: string;
  seats: SeatRow[];
}

/** Keyset pagination by id: stable under inserts, no OFFSET scans. */
export async function listConcerts(db: Knex, limit: number, afterId: number): Promise<ConcertRow[]> {
  const rows = await db('concerts')
    .select('id', 'name', 'artist', 'venue')
    .where('id', '>', afterId)
    .orderBy('id')
    .limit(limit);
  return rows.map((row) => ({ ...row, id: Number(row.id) }));
}

export async function concertExists(db: Knex, concertId: number): Promise<boolean> {
  return (await db('concerts').where('id', concertId).first('id')) !== undefined;
}

export async function listTimeslots(db: Knex, concertId: number): Promise<TimeslotRow[]> {
  const { rows } = await db.raw<{
    rows: { id: string; concert_id: string; starts_at: Date; total: string; available: string }[];
  }>(
    `select t.id, t.concert_id, t.starts_at,
            count(s.id) as total,
            count(s.id) filter (where s.status = 'AVAILABLE') as available
     from timeslots t left join seats s on s.timeslot_id = t.id
     where t.concert_id = ?
     group by t.id
     order by t.starts_at`,
    [concertId],
  );
  return rows.map((row) => ({
    id: Number(row.id),
    concertId: Number(row.concert_id),
    startsAt: row.starts_at.toISOString(),
    totalSeats: Number(row.total),
    availableSeats: Number(row.available),
  }));
}

/** `findConcertSeats` of the incident document: every seat of one timeslot, null for an unknown timeslot. */
export async function findSeatMap(db: Knex, timeslotId: number): Promise<SeatMap | null> {
  const timeslot = await db('timeslots').where('id', timeslotId).first('id', 'concert_id', 'starts_at');
  if (!timeslot) return null;
  const seats = await db('seats')
    .select('id', 'number', 'grade', 'price', 'status')
    .where('timeslot_id', timeslotId)
    .orderBy('number');
  return {
    timeslotId,
    concertId: Number(timeslot.concert_id),
    startsAt: (timeslot.starts_at as Date).toISOString(),
    seats: seats.map((seat) => ({ ...seat, id: Number(seat.id) })),
  };
}
