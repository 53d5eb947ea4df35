// The hold and payment statements on their own, against real Postgres. Inside one transaction now() does not
// move, so "lapsed" is decided at an exact instant: a hold that ends a millisecond later is still live.
import type { Knex } from 'knex';
import {
  confirmHold,
  findReservation,
  holdSeat,
  holdWithinLimit,
  lockReservation,
  releaseHold,
  seatExists,
  sweepLapsedHolds,
  toReservation,
} from '../src/reservations/queries.js';
import { balanceOf, chargedToday, creditWallet, debitBalance, recordLedger } from '../src/wallet/queries.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

let database: TestDatabase;
let db: Knex;

beforeAll(async () => {
  database = await createTestDatabase({ concerts: 1, timeslotsPerConcert: 2, seatsPerTimeslot: 40 });
  db = database.db;
});
afterAll(async () => database?.drop());

/** A free seat of timeslot `timeslotId`, a different one each call. */
const taken = new Set<number>();
async function freeSeat(timeslotId: number): Promise<{ id: number; timeslotId: number }> {
  const seats = (await db('seats').where({ timeslot_id: timeslotId, status: 'AVAILABLE' }).orderBy('id')) as {
    id: string;
  }[];
  const seat = seats.map((s) => Number(s.id)).find((id) => !taken.has(id));
  if (seat === undefined) throw new Error(`no free seat left in timeslot ${timeslotId}`);
  taken.add(seat);
  return { id: seat, timeslotId };
}

const seatRow = (trx: Knex, id: number) => trx('seats').where('id', id).first('status', 'hold_expires_at');
const reservationStatus = async (trx: Knex, id: number) =>
  ((await trx('reservations').where('id', id).first('status')) as { status: string }).status;

/** Holds in a transaction whose now() the test also uses; rolled back unless `commit`. */
async function inOneInstant<T>(work: (trx: Knex.Transaction) => Promise<T>, commit = false): Promise<T> {
  const trx = await db.transaction();
  try {
    const result = await work(trx);
    if (commit) await trx.commit();
    else await trx.rollback();
    return result;
  } catch (error) {
    await trx.rollback();
    throw error;
  }
}

describe('HOLD_SQL (holdSeat)', () => {
  test('a free seat is held until now() + ttl, for that user and timeslot', async () => {
    const seat = await freeSeat(1);
    await inOneInstant(async (trx) => {
      const held = await holdSeat(trx, { seatId: seat.id, timeslotId: 1, userId: 42, ttlSeconds: 90 });
      const { now } = (
        await trx.raw<{ rows: { now: Date }[] }>(`select now() + interval '90 seconds' as now`)
      ).rows[0]!;
      expect(held).toEqual({
        reservation: {
          id: expect.any(Number),
          seatId: seat.id,
          timeslotId: 1,
          userId: 42,
          status: 'HELD',
          expiresAt: now.toISOString(),
        },
        replacedLapsedHold: false,
      });
      expect(await seatRow(trx, seat.id)).toEqual({ status: 'HELD', hold_expires_at: now });
    });
  });

  test("a seat is not held under another timeslot's id", async () => {
    const seat = await freeSeat(1);
    await inOneInstant(async (trx) => {
      expect(await holdSeat(trx, { seatId: seat.id, timeslotId: 2, userId: 42, ttlSeconds: 90 })).toBeNull();
      expect(await seatRow(trx, seat.id)).toEqual({ status: 'AVAILABLE', hold_expires_at: null });
      expect(await trx('reservations').where('seat_id', seat.id).count({ n: '*' })).toEqual([{ n: '0' }]);
    });
  });

  test('a hold that ends a millisecond after now() is live: the seat is not free', async () => {
    const seat = await freeSeat(1);
    await inOneInstant(async (trx) => {
      const first = await holdSeat(trx, { seatId: seat.id, timeslotId: 1, userId: 1, ttlSeconds: 90 });
      await trx('seats')
        .where('id', seat.id)
        .update({ hold_expires_at: trx.raw(`now() + interval '1 millisecond'`) });
      expect(await holdSeat(trx, { seatId: seat.id, timeslotId: 1, userId: 2, ttlSeconds: 90 })).toBeNull();
      expect(await reservationStatus(trx, first!.reservation.id)).toBe('HELD');
    });
  });

  test('a hold that ended at now() has lapsed: taken over, and its reservation marked EXPIRED', async () => {
    const seat = await freeSeat(1);
    await inOneInstant(async (trx) => {
      const first = await holdSeat(trx, { seatId: seat.id, timeslotId: 1, userId: 1, ttlSeconds: 90 });
      await trx('seats')
        .where('id', seat.id)
        .update({ hold_expires_at: trx.raw('now()') });
      const second = await holdSeat(trx, { seatId: seat.id, timeslotId: 1, userId: 2, ttlSeconds: 90 });
      expect(second).toMatchObject({ reservation: { userId: 2, status: 'HELD' }, replacedLapsedHold: true });
      expect(await reservationStatus(trx, first!.reservation.id)).toBe('EXPIRED');
    });
  });

  test('re-holding a seat expires only its live hold: cancelled and paid reservations keep their status', async () => {
    const seat = await freeSeat(1);
    await inOneInstant(async (trx) => {
      const cancelled = (await holdSeat(trx, { seatId: seat.id, timeslotId: 1, userId: 1, ttlSeconds: 90 }))!;
      await releaseHold(trx, cancelled.reservation, 'CANCELLED');
      const lapsing = (await holdSeat(trx, { seatId: seat.id, timeslotId: 1, userId: 2, ttlSeconds: 90 }))!;
      expect(lapsing.replacedLapsedHold).toBe(false);
      await trx('seats')
        .where('id', seat.id)
        .update({ hold_expires_at: trx.raw('now()') });
      const third = await holdSeat(trx, { seatId: seat.id, timeslotId: 1, userId: 3, ttlSeconds: 90 });
      expect(third?.replacedLapsedHold).toBe(true);
      expect(await reservationStatus(trx, cancelled.reservation.id)).toBe('CANCELLED');
      expect(await reservationStatus(trx, lapsing.reservation.id)).toBe('EXPIRED');
    });
  });

  test('a sold seat is never held again, however old its hold time', async () => {
    const seat = await freeSeat(1);
    await inOneInstant(async (trx) => {
      const held = (await holdSeat(trx, { seatId: seat.id, timeslotId: 1, userId: 1, ttlSeconds: 90 }))!;
      await confirmHold(trx, held.reservation);
      await trx('seats')
        .where('id', seat.id)
        .update({ hold_expires_at: trx.raw(`now() - interval '1 hour'`) });
      expect(await holdSeat(trx, { seatId: seat.id, timeslotId: 1, userId: 2, ttlSeconds: 90 })).toBeNull();
      expect(await reservationStatus(trx, held.reservation.id)).toBe('CONFIRMED');
    });
  });
});

describe('holdWithinLimit (the per-user cap on live holds)', () => {
  /** A reservation the user (or, for 'another user', someone else) has before the new hold. */
  type Before = 'live' | 'ends at now()' | 'ends 1 ms after now()' | 'cancelled' | "another user's";
  const ends = { 'ends at now()': 'now()', 'ends 1 ms after now()': `now() + interval '1 millisecond'` };

  async function reserve(trx: Knex.Transaction, userId: number, before: Before): Promise<number> {
    const seat = await freeSeat(1);
    const owner = before === "another user's" ? userId + 1000 : userId;
    const { reservation } = (await holdSeat(trx, {
      seatId: seat.id,
      timeslotId: 1,
      userId: owner,
      ttlSeconds: 90,
    }))!;
    if (before === 'cancelled') await releaseHold(trx, reservation, 'CANCELLED');
    if (before in ends) {
      // Still HELD either way: ending at now() it has lapsed (the sweeper has not reached it yet).
      const end = trx.raw(ends[before as keyof typeof ends]);
      await trx('reservations').where('id', reservation.id).update({ expires_at: end });
      await trx('seats').where('id', seat.id).update({ hold_expires_at: end });
    }
    return reservation.id;
  }

  test.each<[string, number, 'kept' | 'limit', Before[]]>([
    ['no other hold', 2, 'kept', []],
    ['one live hold: the new one makes the cap', 2, 'kept', ['live']],
    ['two live holds: the new one would be past the cap', 2, 'limit', ['live', 'live']],
    ['one live hold', 1, 'limit', ['live']],
    ['a hold that ended at now() does not count', 2, 'kept', ['live', 'ends at now()']],
    ['a hold that ends 1 ms after now() counts', 2, 'limit', ['live', 'ends 1 ms after now()']],
    ['a cancelled reservation does not count', 2, 'kept', ['live', 'cancelled']],
    ["another user's live hold does not count", 2, 'kept', ['live', "another user's"]],
  ])('%s (cap %i): %s', async (_name, cap, outcome, before) => {
    const userId = 700;
    const seat = await freeSeat(1);
    await inOneInstant(async (trx) => {
      const earlier = [];
      for (const b of before) earlier.push(await reserve(trx, userId, b));
      const statusesBefore = await Promise.all(earlier.map((id) => reservationStatus(trx, id)));
      const hold = { seatId: seat.id, timeslotId: 1, userId, ttlSeconds: 90 };
      const result = await holdWithinLimit(trx, hold, cap);
      const made = (await trx('reservations').where('seat_id', seat.id).pluck('id')) as string[];
      expect(made).toHaveLength(1);
      if (outcome === 'kept') {
        expect(result).toEqual({
          reservation: expect.objectContaining({
            id: Number(made[0]),
            seatId: seat.id,
            userId,
            status: 'HELD',
          }),
          replacedLapsedHold: false,
        });
        expect(await reservationStatus(trx, Number(made[0]))).toBe('HELD');
        expect(await seatRow(trx, seat.id)).toMatchObject({ status: 'HELD' });
      } else {
        expect(result).toBe('limit');
        // The new hold is cancelled again and its seat free; the earlier reservations are untouched.
        expect(await reservationStatus(trx, Number(made[0]))).toBe('CANCELLED');
        expect(await seatRow(trx, seat.id)).toEqual({ status: 'AVAILABLE', hold_expires_at: null });
      }
      expect(await Promise.all(earlier.map((id) => reservationStatus(trx, id)))).toEqual(statusesBefore);
    });
  });

  test('a seat that is not free answers null, whatever the count (here already over the cap)', async () => {
    const seat = await freeSeat(1);
    await inOneInstant(async (trx) => {
      const other = (await holdSeat(trx, { seatId: seat.id, timeslotId: 1, userId: 790, ttlSeconds: 90 }))!;
      const earlier = [await reserve(trx, 791, 'live'), await reserve(trx, 791, 'live')];
      const hold = { seatId: seat.id, timeslotId: 1, userId: 791, ttlSeconds: 90 };
      expect(await holdWithinLimit(trx, hold, 1)).toBeNull();
      expect(await reservationStatus(trx, other.reservation.id)).toBe('HELD');
      for (const id of earlier) expect(await reservationStatus(trx, id)).toBe('HELD');
    });
  });
});

describe('reading a hold', () => {
  const row = (status: 'HELD' | 'CANCELLED', expiresAt: number) => ({
    id: '7',
    seat_id: '3',
    timeslot_id: '2',
    user_id: '5',
    status,
    expires_at: new Date(expiresAt),
  });

  test.each([
    ['HELD, one ms before its end', 'HELD', row('HELD', 1001)],
    ['HELD, at its end', 'EXPIRED', row('HELD', 1000)],
    ['CANCELLED, past its end', 'CANCELLED', row('CANCELLED', 10)],
  ] as const)('%s: reads as %s', (_name, status, reservation) => {
    expect(toReservation(reservation, 1000)).toEqual({
      id: 7,
      seatId: 3,
      timeslotId: 2,
      userId: 5,
      status,
      expiresAt: reservation.expires_at.toISOString(),
    });
  });

  test('findReservation reads a hold back (null for an unknown id); seatExists checks the timeslot too', async () => {
    const seat = await freeSeat(2);
    await inOneInstant(async (trx) => {
      const held = (await holdSeat(trx, { seatId: seat.id, timeslotId: 2, userId: 8, ttlSeconds: 90 }))!;
      expect(await findReservation(trx, held.reservation.id)).toEqual(held.reservation);
      expect(await findReservation(trx, 987_654_321)).toBeNull();
    });
    expect(await seatExists(db, 2, seat.id)).toBe(true);
    expect(await seatExists(db, 1, seat.id)).toBe(false);
    expect(await seatExists(db, 2, 987_654_321)).toBe(false);
  });

  test('lockReservation returns the reservation with its seat price; null for an unknown id', async () => {
    const seat = await freeSeat(2);
    await inOneInstant(async (trx) => {
      const held = (await holdSeat(trx, { seatId: seat.id, timeslotId: 2, userId: 9, ttlSeconds: 90 }))!;
      const { price } = (await trx('seats').where('id', seat.id).first('price')) as { price: string };
      expect(await lockReservation(trx, held.reservation.id)).toEqual({
        ...held.reservation,
        price: Number(price),
      });
      expect(await lockReservation(trx, 987_654_321)).toBeNull();
    });
  });
});

describe('the sweeper statement', () => {
  test('releases lapsed holds only, up to the batch size, and names their timeslots', async () => {
    const seats = [await freeSeat(1), await freeSeat(2), await freeSeat(2)];
    const live = await freeSeat(1);
    const held = [];
    for (const seat of [...seats, live]) {
      held.push(
        (await holdSeat(db, { seatId: seat.id, timeslotId: seat.timeslotId, userId: 3, ttlSeconds: 90 }))!,
      );
    }
    await db('seats')
      .whereIn(
        'id',
        seats.map((s) => s.id),
      )
      .update({ hold_expires_at: db.raw(`now() - interval '1 second'`) });
    const first = await sweepLapsedHolds(db, 2);
    const second = await sweepLapsedHolds(db, 2);
    expect(first.expired + second.expired).toBe(3);
    expect(first.expired).toBe(2);
    for (const { timeslotIds } of [first, second]) expect(new Set(timeslotIds).size).toBe(timeslotIds.length);
    expect(new Set([...first.timeslotIds, ...second.timeslotIds])).toEqual(new Set([1, 2]));
    for (const seat of seats)
      expect(await seatRow(db, seat.id)).toEqual({ status: 'AVAILABLE', hold_expires_at: null });
    expect(await seatRow(db, live.id)).toMatchObject({ status: 'HELD' });
    expect(await reservationStatus(db, held[3]!.reservation.id)).toBe('HELD');
    for (const h of held.slice(0, 3)) expect(await reservationStatus(db, h.reservation.id)).toBe('EXPIRED');
  });
});

describe('the payment statements (wallet)', () => {
  test('a debit takes exactly the balance that covers it and leaves the ledger to the caller', async () => {
    await db.transaction(async (trx) => {
      expect(await creditWallet(trx, 501, 300)).toEqual({ balance: 300, ledgerId: expect.any(Number) });
      expect(await creditWallet(trx, 501, 200)).toMatchObject({ balance: 500 });
    });
    await db.transaction(async (trx) => {
      expect(await debitBalance(trx, 501, 500)).toBe(0);
      expect(await trx('wallet_ledger').where('user_id', 501).pluck('amount')).toEqual(['300', '200']);
    });
    expect(await balanceOf(db, 501)).toBe(0);
  });

  test('a debit larger than the balance writes nothing and answers null', async () => {
    await db.transaction(async (trx) => {
      await creditWallet(trx, 502, 100);
      expect(await debitBalance(trx, 502, 101)).toBeNull();
    });
    expect(await balanceOf(db, 502)).toBe(100);
    expect(await db.transaction((trx) => debitBalance(trx, 599, 1))).toBeNull();
    expect(await balanceOf(db, 599)).toBe(0);
  });

  test("chargedToday sums the user's own top-ups since the start of the UTC day", async () => {
    await db.transaction(async (trx) => {
      expect(await chargedToday(trx, 504)).toBe(0);
      await creditWallet(trx, 504, 300);
      const startOfDay = await creditWallet(trx, 504, 200);
      const yesterday = await creditWallet(trx, 504, 4000);
      await creditWallet(trx, 505, 70);
      // In one transaction now() does not move: the day's first instant counts, the one before it does not.
      const dayStart = "date_trunc('day', now() at time zone 'UTC') at time zone 'UTC'";
      await trx('wallet_ledger')
        .where('id', startOfDay.ledgerId)
        .update({ created_at: trx.raw(dayStart) });
      await trx('wallet_ledger')
        .where('id', yesterday.ledgerId)
        .update({ created_at: trx.raw(`${dayStart} - interval '1 microsecond'`) });
      expect(await chargedToday(trx, 504)).toBe(500);
      expect(await chargedToday(trx, 505)).toBe(70);
    });
  });

  test('a payment ledger row carries its payment id; a charge none', async () => {
    const seat = await freeSeat(2);
    await inOneInstant(async (trx) => {
      await creditWallet(trx, 503, 1000);
      const held = (await holdSeat(trx, { seatId: seat.id, timeslotId: 2, userId: 503, ttlSeconds: 90 }))!;
      const [payment] = await trx('payments')
        .insert({ reservation_id: held.reservation.id, user_id: 503, amount: 10 })
        .returning('id');
      const id = await recordLedger(trx, {
        userId: 503,
        amount: -10,
        kind: 'PAYMENT',
        paymentId: Number(payment!.id),
      });
      expect(await trx('wallet_ledger').where('id', id).first('amount', 'kind', 'payment_id')).toEqual({
        amount: '-10',
        kind: 'PAYMENT',
        payment_id: String(payment!.id),
      });
      expect(await trx('wallet_ledger').where({ user_id: 503, kind: 'CHARGE' }).first('payment_id')).toEqual({
        payment_id: null,
      });
    });
  });
});
