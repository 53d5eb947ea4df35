import { sharedRedisUrl } from '@concert-booking/devkit/databases';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import type { TestService } from './support/service.js';
import { holdSeat } from '../src/reservations/queries.js';
import {
  NO_VIOLATIONS,
  activeToken,
  topUp,
  withToken,
  bookingEnv,
  client,
  invariantViolations,
  privateRedisDb,
  startBookingService,
  type Client,
} from './booking-support.js';

/** Timeslot 1: the one-seat stampede and the payment retries. 2: the randomized run. 3: the sweepers. */
const SEATS = 300;
let database: TestDatabase;
let running: TestService;
let api: Client;

beforeAll(async () => {
  database = await createTestDatabase({ concerts: 1, timeslotsPerConcert: 3, seatsPerTimeslot: SEATS });
  // Its own sweeper stays idle: the sweeper test counts what exactly two replicas release.
  running = await startBookingService(
    bookingEnv(database.url, await privateRedisDb(sharedRedisUrl(), 7), { SWEEP_INTERVAL_MS: '3600000' }),
  );
  api = client(running.url, 100);
});

afterAll(async () => {
  api?.close();
  await running?.close();
  await database?.drop();
});

const seatId = async (timeslotId: number, number: number) =>
  Number((await database.db('seats').where({ timeslot_id: timeslotId, number }).first('id')).id);

const countBy = (statuses: number[]) =>
  statuses.reduce<Record<number, number>>(
    (counts, status) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }),
    {},
  );

describe('concurrency', () => {
  test('1,000 concurrent holds on one seat: exactly one 201, the rest 409', async () => {
    const tokens = await Promise.all(Array.from({ length: 1_000 }, (_, i) => activeToken(api, 10_000 + i)));
    const seat = await seatId(1, 1);
    const stampede = client(running.url, 1_000);
    try {
      const replies = await Promise.all(
        tokens.map((token) =>
          stampede.send('POST', '/v1/reservations', {
            headers: withToken(token),
            body: { timeslotId: 1, seatId: seat },
          }),
        ),
      );
      expect(countBy(replies.map((reply) => reply.status))).toEqual({ 201: 1, 409: 999 });
      expect(new Set(replies.filter((r) => r.status === 409).map((r) => r.body.type))).toEqual(
        new Set(['/problems/seat-unavailable']),
      );
    } finally {
      stampede.close();
    }
    const rows = await database.db('reservations').where('seat_id', seat);
    expect(rows).toHaveLength(1);
    expect(rows[0].status).toBe('HELD');
  });

  test('100 concurrent retries of one payment with one Idempotency-Key: one debit', async () => {
    const userId = 20_000;
    const token = await activeToken(api, userId);
    const seat = await seatId(1, 2);
    const hold = await api.send('POST', '/v1/reservations', {
      headers: withToken(token),
      body: { timeslotId: 1, seatId: seat },
    });
    expect(hold.status).toBe(201);
    await topUp(api, userId, 1_000_000);

    const retries = client(running.url, 100);
    const pay = () =>
      retries.send('POST', '/v1/payments', {
        headers: withToken(token, { 'Idempotency-Key': 'one-payment' }),
        body: { reservationId: hold.body.id },
      });
    let replies;
    try {
      replies = await Promise.all(Array.from({ length: 100 }, pay));
    } finally {
      retries.close();
    }
    const succeeded = replies.filter((reply) => reply.status === 201);
    const waiting = replies.filter((reply) => reply.status === 409);
    expect(succeeded.length + waiting.length).toBe(100);
    expect(succeeded.length).toBeGreaterThanOrEqual(1);
    // Replays send back the first answer's very bytes.
    expect(new Set(succeeded.map((reply) => JSON.stringify(reply.body))).size).toBe(1);
    for (const reply of waiting) expect(reply.body.type).toBe('/problems/idempotency-request-in-progress');

    const debits = await database.db('wallet_ledger').where({ user_id: userId, kind: 'PAYMENT' });
    expect(debits).toHaveLength(1);
    expect(await database.db('payments').where('user_id', userId)).toHaveLength(1);
    const price = Number((await database.db('seats').where('id', seat).first('price')).price);
    expect(Number((await database.db('wallets').where('user_id', userId).first('balance')).balance)).toBe(
      1_000_000 - price,
    );
    // Once it is done, a late retry replays the one result.
    const late = await api.send('POST', '/v1/payments', {
      headers: withToken(token, { 'Idempotency-Key': 'one-payment' }),
      body: { reservationId: hold.body.id },
    });
    expect([late.status, late.body]).toEqual([201, succeeded[0]!.body]);
  });

  test('a randomized run of clients holding, cancelling, paying and letting holds lapse keeps every invariant', async () => {
    // Short holds and a busy sweeper, so lapses and sweeps race with everything else.
    const churn = await startBookingService(
      bookingEnv(database.url, await privateRedisDb(sharedRedisUrl(), 9), {
        HOLD_TTL_SECONDS: '1',
        SWEEP_INTERVAL_MS: '100',
      }),
    );
    const churnApi = client(churn.url, 64);
    const seats = (
      await database.db('seats').where('timeslot_id', 2).orderBy('number').limit(15).pluck('id')
    ).map(Number);
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const statuses: number[] = [];
    const runClient = async (userId: number) => {
      let token = await activeToken(churnApi, userId);
      const mine: number[] = [];
      for (let step = 0; step < 40; step++) {
        const headers = withToken(token);
        const op = random(10);
        let reply;
        if (op < 4) {
          reply = await churnApi.send('POST', '/v1/reservations', {
            headers,
            body: { timeslotId: 2, seatId: seats[random(seats.length)] },
          });
          if (reply.status === 201) mine.push(reply.body.id);
        } else if (op < 5 && mine.length > 0) {
          reply = await churnApi.send('DELETE', `/v1/reservations/${mine[random(mine.length)]}`, { headers });
        } else if (op < 8 && mine.length > 0) {
          const reservationId = mine[random(mine.length)];
          const key = `pay-${userId}-${reservationId}-${random(2)}`; // sometimes a retry of an earlier key
          reply = await churnApi.send('POST', '/v1/payments', {
            headers: { ...headers, 'Idempotency-Key': key },
            body: { reservationId },
          });
          if (reply.status === 201) token = await activeToken(churnApi, userId); // the token is used up
        } else if (op < 9) {
          reply = await topUp(churnApi, userId, 50_000 + random(200_000));
        } else {
          await new Promise((resolve) => setTimeout(resolve, 300)); // let holds lapse
          continue;
        }
        statuses.push(reply.status);
      }
    };
    const outcomes = async () =>
      (await database.db('reservations').where('timeslot_id', 2).distinct('status').pluck('status')).sort();
    try {
      // Rounds until the run has paid for a hold and let one lapse (on a busy machine a 1 s hold is often gone
      // before its payment arrives): the invariants below are then checked after both races, however slow.
      for (let round = 0; round < 5; round++) {
        await Promise.all(Array.from({ length: 12 }, (_, i) => runClient(30_000 + i)));
        await new Promise((resolve) => setTimeout(resolve, 1_100)); // every hold has lapsed
        await churn.service.sweeper.sweepOnce();
        const seen = await outcomes();
        if (seen.includes('CONFIRMED') && seen.includes('EXPIRED')) break;
      }
    } finally {
      churnApi.close();
      await churn.close();
    }
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    const counts = countBy(statuses);
    expect(counts[201]).toBeGreaterThan(0);
    expect(counts[409]).toBeGreaterThan(0);
    expect(await invariantViolations(database.db)).toEqual(NO_VIOLATIONS);
    const held = await database.db('seats').where({ timeslot_id: 2, status: 'HELD' });
    expect(held).toEqual([]); // the sweep released every lapsed hold
    expect(await outcomes()).toEqual(expect.arrayContaining(['CONFIRMED', 'EXPIRED']));
  }, 240_000);

  test('two sweepers at once release every lapsed hold exactly once', async () => {
    const seats = await database.db('seats').where('timeslot_id', 3).orderBy('number').pluck('id');
    for (const [index, id] of seats.entries()) {
      await holdSeat(database.db, {
        seatId: Number(id),
        timeslotId: 3,
        userId: 40_000 + index,
        ttlSeconds: 60,
      });
    }
    await database.db.raw(
      `update seats set hold_expires_at = now() - interval '1 second' where timeslot_id = 3;
       update reservations set expires_at = now() - interval '1 second' where timeslot_id = 3`,
    );
    const env = bookingEnv(database.url, undefined, { SWEEP_BATCH_SIZE: '25', SWEEP_INTERVAL_MS: '3600000' });
    const replicas = await Promise.all([startBookingService(env), startBookingService(env)]);
    try {
      const [first, second] = await Promise.all(
        replicas.map((replica) => replica.service.sweeper.sweepOnce()),
      );
      expect(first!['lapsed-holds']! + second!['lapsed-holds']!).toBe(SEATS);
      expect(first!['lapsed-holds']).toBeGreaterThan(0);
      expect(second!['lapsed-holds']).toBeGreaterThan(0);
      const metric = async (replica: TestService) =>
        (await replica.service.registry.getSingleMetric('booking_holds_total')!.get()).values.find(
          (value) => value.labels.result === 'expired',
        )?.value ?? 0;
      expect((await metric(replicas[0]!)) + (await metric(replicas[1]!))).toBe(SEATS);
    } finally {
      await Promise.all(replicas.map((replica) => replica.close()));
    }
    expect(await database.db('seats').where({ timeslot_id: 3 }).whereNot('status', 'AVAILABLE')).toEqual([]);
    const statuses = await database
      .db('reservations')
      .where('timeslot_id', 3)
      .distinct('status')
      .pluck('status');
    expect(statuses).toEqual(['EXPIRED']);
  });
});
