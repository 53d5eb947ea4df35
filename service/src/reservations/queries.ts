import type { Knex } from 'knex';
import { cancelHold } from './cancel.js';

export interface Reservation {
  id: number;
  seatId: number;
  timeslotId: number;
  userId: number;
  status: 'HELD' | 'CONFIRMED' | 'CANCELLED' | 'EXPIRED';
  expiresAt: string;
}

interface ReservationRow {
  id: string;
  seat_id: string;
  timeslot_id: string;
  user_id: string;
  status: Reservation['status'];
  expires_at: Date;
}

/** A hold past its expiry reads as EXPIRED even before the sweeper writes it. */
export function toReservation(row: ReservationRow, nowMs = Date.now()): Reservation {
  const lapsed = row.status === 'HELD' && row.expires_at.getTime() <= nowMs;
  return {
    id: Number(row.id),
    seatId: Number(row.seat_id),
    timeslotId: Number(row.timeslot_id),
    userId: Number(row.user_id),
    status: lapsed ? 'EXPIRED' : row.status,
    expiresAt: row.expires_at.toISOString(),
  };
}

/**
 * Holds a seat in one statement (one transaction): the conditional update takes the seat only
 * if it is free or its hold lapsed; a lapsed hold's reservation is marked EXPIRED (forced to
 * run first, so the partial unique index sees it gone); then the new reservation is inserted.
 * Null when the seat was not free. The unique index on live reservations backs this up.
 */
export const HOLD_SQL = `
with seat as (
  update seats set status = 'HELD', hold_expires_at = now() + make_interval(secs => :ttl)
  where id = :seatId and timeslot_id = :timeslotId
    and (status = 'AVAILABLE' or (status = 'HELD' and hold_expires_at <= now()))
  returning id, timeslot_id, hold_expires_at
), lapsed as (
  update reservations r set status = 'EXPIRED', updated_at = now()
  from seat where r.seat_id = seat.id and r.status = 'HELD'
  returning r.id
), lapsed_count as (select count(*) as n from lapsed)
insert into reservations (seat_id, timeslot_id, user_id, status, expires_at)
select seat.id, seat.timeslot_id, :userId, 'HELD', seat.hold_expires_at from seat, lapsed_count
returning id, seat_id, timeslot_id, user_id, status, expires_at, (select n from lapsed_count) as lapsed`;

export async function holdSeat(
  db: Knex,
  hold: { seatId: number; timeslotId: number; userId: number; ttlSeconds: number },
): Promise<{ reservation: Reservation; replacedLapsedHold: boolean } | null> {
  // A named statement is parsed and planned once per pooled connection: planning this
  // three-part statement on every hold cost Postgres about as much as running it.
  const { rows } = await db
    .raw<{ rows: (ReservationRow & { lapsed: string })[] }>(HOLD_SQL, {
      ttl: hold.ttlSeconds,
      seatId: hold.seatId,
      timeslotId: hold.timeslotId,
      userId: hold.userId,
    })
    .options({ name: 'hold-seat' });
  const row = rows[0];
  return row ? { reservation: toReservation(row), replacedLapsedHold: Number(row.lapsed) > 0 } : null;
}

/**
 * holdSeat, unless it leaves `userId` with more than `maxLiveHolds` live holds: then the new hold is cancelled
 * again and the answer is 'limit'. Counting after the hold committed keeps the common path one statement plus
 * a count, and is race-free: of concurrent holds past the cap, each sees the others that committed before its
 * count, so at most the cap survive (concurrent ones may all be refused).
 */
export async function holdWithinLimit(
  db: Knex,
  hold: { seatId: number; timeslotId: number; userId: number; ttlSeconds: number },
  maxLiveHolds: number,
): Promise<Awaited<ReturnType<typeof holdSeat>> | 'limit'> {
  const held = await holdSeat(db, hold);
  if (!held) return null;
  const [{ live }] = (await db('reservations')
    .where({ user_id: hold.userId, status: 'HELD' })
    .andWhere('expires_at', '>', db.fn.now())
    .count({ live: '*' })) as [{ live: string }];
  if (Number(live) <= maxLiveHolds) return held;
  await db.transaction((trx) => cancelHold(trx, held.reservation.id));
  return 'limit';
}

export async function seatExists(db: Knex, timeslotId: number, seatId: number): Promise<boolean> {
  return (await db('seats').where({ id: seatId, timeslot_id: timeslotId }).first('id')) !== undefined;
}

export async function findReservation(db: Knex, id: number): Promise<Reservation | null> {
  const row = (await db('reservations').where('id', id).first()) as ReservationRow | undefined;
  return row ? toReservation(row) : null;
}

/**
 * Locks a reservation's seat, then the reservation (the lock order of every writer), and
 * returns the reservation as locked. Call inside a transaction.
 */
export async function lockReservation(
  trx: Knex.Transaction,
  id: number,
): Promise<(Reservation & { price: number }) | null> {
  const seat = await trx('seats')
    .whereIn('id', trx('reservations').select('seat_id').where('id', id))
    .forUpdate()
    .first('price');
  if (!seat) return null;
  const row = (await trx('reservations').where('id', id).forUpdate().first()) as ReservationRow;
  return { ...toReservation(row), price: Number(seat.price) };
}

/** Frees a held seat and sets its reservation's final status, in the caller's transaction. */
export async function releaseHold(
  trx: Knex.Transaction,
  reservation: Reservation,
  status: 'CANCELLED',
): Promise<void> {
  await trx('reservations').where('id', reservation.id).update({ status, updated_at: trx.fn.now() });
  await trx('seats').where('id', reservation.seatId).update({ status: 'AVAILABLE', hold_expires_at: null });
}

/** Sells a held seat: the reservation is CONFIRMED and the seat SOLD, in the caller's transaction. */
export async function confirmHold(trx: Knex.Transaction, reservation: Reservation): Promise<void> {
  await trx('reservations')
    .where('id', reservation.id)
    .update({ status: 'CONFIRMED', updated_at: trx.fn.now() });
  await trx('seats').where('id', reservation.seatId).update({ status: 'SOLD', hold_expires_at: null });
}

/**
 * Releases up to `batchSize` lapsed holds in one statement. Seats are locked first with SKIP
 * LOCKED, so concurrent sweepers (one per replica) take disjoint batches and never wait on a
 * seat that a hold or payment is changing.
 */
export async function sweepLapsedHolds(
  db: Knex,
  batchSize: number,
): Promise<{ expired: number; timeslotIds: number[] }> {
  const { rows } = await db.raw<{ rows: { expired: string; timeslot_ids: string[] }[] }>(
    `with due as (
       select id from seats
       where status = 'HELD' and hold_expires_at <= now()
       order by hold_expires_at
       limit ? for update skip locked
     ), lapsed as (
       update reservations r set status = 'EXPIRED', updated_at = now()
       from due where r.seat_id = due.id and r.status = 'HELD'
       returning r.id
     ), released as (
       update seats s set status = 'AVAILABLE', hold_expires_at = null
       from due where s.id = due.id
       returning s.timeslot_id
     )
     select (select count(*) from lapsed) as expired,
            array(select distinct timeslot_id from released) as timeslot_ids`,
    [batchSize],
  );
  const row = rows[0]!;
  return { expired: Number(row.expired), timeslotIds: row.timeslot_ids.map(Number) };
}
