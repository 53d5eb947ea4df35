import { sharedRedisUrl } from '@concert-booking/devkit/databases';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import type { TestService } from './support/service.js';
import {
  activeToken,
  bookingEnv,
  client,
  joinQueue,
  privateRedisDb,
  startBookingService,
  topUp,
  withToken,
  type Client,
} from './booking-support.js';
import { bearer } from '@concert-booking/devkit/identity';
import { issueToken } from '../src/queue/tokens.js';

let database: TestDatabase;
let running: TestService;
let api: Client;

beforeAll(async () => {
  database = await createTestDatabase({ concerts: 1, timeslotsPerConcert: 2, seatsPerTimeslot: 20 });
  const redisUrl = await privateRedisDb(sharedRedisUrl(), 6);
  running = await startBookingService(bookingEnv(database.url, redisUrl));
  api = client(running.url);
});

afterAll(async () => {
  api?.close();
  await running?.close();
  await database?.drop();
});

const seat = async (timeslotId: number, number: number) => {
  const row = await database.db('seats').where({ timeslot_id: timeslotId, number }).first('id', 'price');
  return { seatId: Number(row.id), price: Number(row.price) };
};

describe('booking flow', () => {
  test('queue -> hold -> charge -> pay, and the token is used up by the payment', async () => {
    const token = await activeToken(api, 101);
    const { seatId, price } = await seat(1, 1);

    const before = await api.send('GET', '/v1/timeslots/1/seats');
    expect(before.body.seats[0].status).toBe('AVAILABLE');

    const hold = await api.send('POST', '/v1/reservations', {
      headers: withToken(token),
      body: { timeslotId: 1, seatId },
    });
    expect(hold.status).toBe(201);
    expect(hold.body).toMatchObject({ seatId, timeslotId: 1, userId: 101, status: 'HELD' });
    expect(Date.parse(hold.body.expiresAt) - Date.now()).toBeGreaterThan(250_000);
    // The seat map was invalidated on commit.
    expect((await api.send('GET', '/v1/timeslots/1/seats')).body.seats[0].status).toBe('HELD');

    const other = await activeToken(api, 202);
    const lost = await api.send('POST', '/v1/reservations', {
      headers: withToken(other),
      body: { timeslotId: 1, seatId },
    });
    expect(lost.status).toBe(409);
    expect(lost.type).toMatch(/problem\+json/);
    expect(lost.body.type).toBe('/problems/seat-unavailable');

    const reservationId = hold.body.id as number;
    expect(
      (await api.send('GET', `/v1/reservations/${reservationId}`, { headers: withToken(token) })).body.status,
    ).toBe('HELD');
    expect(
      (await api.send('GET', `/v1/reservations/${reservationId}`, { headers: withToken(other) })).status,
    ).toBe(404);
    const foreignPay = await api.send('POST', '/v1/payments', {
      headers: withToken(other),
      body: { reservationId },
    });
    expect([foreignPay.status, foreignPay.body.type]).toEqual([404, '/problems/not-found']);
    // Another user's queue token, even genuine and active, is refused with the caller's own JWT.
    const borrowed = await api.send('POST', '/v1/payments', {
      headers: { ...withToken(token), ...(await bearer(202)) },
      body: { reservationId },
    });
    expect([borrowed.status, borrowed.body.type]).toEqual([403, '/problems/queue-token-foreign']);

    const poor = await api.send('POST', '/v1/payments', {
      headers: withToken(token),
      body: { reservationId },
    });
    expect([poor.status, poor.body.type]).toEqual([402, '/problems/insufficient-balance']);

    const charge = await topUp(api, 101, price + 500, 'charge-1');
    expect(charge.status).toBe(201);
    expect(charge.body.balance).toBe(price + 500);

    const paid = await api.send('POST', '/v1/payments', {
      headers: withToken(token, { 'Idempotency-Key': 'pay-1' }),
      body: { reservationId },
    });
    expect(paid.status).toBe(201);
    expect(paid.body).toMatchObject({ reservationId, amount: price, balance: 500 });
    expect(
      (await api.send('GET', '/v1/users/101/balance', { headers: await bearer(101) })).body.balance,
    ).toBe(500);
    expect((await api.send('GET', '/v1/timeslots/1/seats')).body.seats[0].status).toBe('SOLD');
    expect(
      (await api.send('GET', `/v1/reservations/${reservationId}`, { headers: withToken(token) })).body.status,
    ).toBe('CONFIRMED');

    // The token is used up: no more holds, and it says so.
    const status = await api.send('GET', '/v1/queue/tokens/current', { headers: withToken(token) });
    expect([status.status, status.body.type]).toEqual([401, '/problems/queue-token-expired']);
    const { seatId: another } = await seat(1, 2);
    const afterPay = await api.send('POST', '/v1/reservations', {
      headers: withToken(token),
      body: { timeslotId: 1, seatId: another },
    });
    expect(afterPay.status).toBe(401);
    // ...but a retry of the payment with its key still replays the first result.
    const replay = await api.send('POST', '/v1/payments', {
      headers: withToken(token, { 'Idempotency-Key': 'pay-1' }),
      body: { reservationId },
    });
    expect([replay.status, replay.body]).toEqual([201, paid.body]);
    expect(await database.db('payments').where('reservation_id', reservationId).count({ n: '*' })).toEqual([
      { n: '1' },
    ]);
  });

  test('cancelling a hold frees the seat and cancelling again is a no-op', async () => {
    const token = await activeToken(api, 303);
    const { seatId } = await seat(2, 5);
    const hold = await api.send('POST', '/v1/reservations', {
      headers: withToken(token),
      body: { timeslotId: 2, seatId },
    });
    expect(hold.status).toBe(201);
    const path = `/v1/reservations/${hold.body.id}`;
    expect((await api.send('DELETE', path, { headers: withToken(token) })).status).toBe(204);
    expect((await api.send('DELETE', path, { headers: withToken(token) })).status).toBe(204);
    expect((await api.send('GET', path, { headers: withToken(token) })).body.status).toBe('CANCELLED');
    expect(await database.db('seats').where('id', seatId).first('status')).toEqual({ status: 'AVAILABLE' });
    const again = await api.send('POST', '/v1/reservations', {
      headers: withToken(token),
      body: { timeslotId: 2, seatId },
    });
    expect(again.status).toBe(201);
  });

  test('a lapsed hold is free for the next hold attempt, before any sweep', async () => {
    const first = await activeToken(api, 404);
    const second = await activeToken(api, 405);
    const { seatId } = await seat(2, 6);
    const hold = await api.send('POST', '/v1/reservations', {
      headers: withToken(first),
      body: { timeslotId: 2, seatId },
    });
    await database
      .db('seats')
      .where('id', seatId)
      .update({ hold_expires_at: database.db.raw("now() - interval '1 second'") });
    await database
      .db('reservations')
      .where('id', hold.body.id)
      .update({ expires_at: database.db.raw("now() - interval '1 second'") });

    const pay = await api.send('POST', '/v1/payments', {
      headers: withToken(first),
      body: { reservationId: hold.body.id },
    });
    expect([pay.status, pay.body.type]).toEqual([409, '/problems/hold-expired']);
    const retake = await api.send('POST', '/v1/reservations', {
      headers: withToken(second),
      body: { timeslotId: 2, seatId },
    });
    expect(retake.status).toBe(201);
    const statuses = await database.db('reservations').where('seat_id', seatId).orderBy('id').pluck('status');
    expect(statuses).toEqual(['EXPIRED', 'HELD']);
  });

  test('charges replay with the same key, refuse the key with another body (422), and never go below zero', async () => {
    const send = (key: string, amount: number) => topUp(api, 505, amount, key);
    const first = await send('k1', 1000);
    const replay = await send('k1', 1000);
    expect(first.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    const reused = await send('k1', 2000);
    expect([reused.status, reused.body.type]).toEqual([422, '/problems/idempotency-key-reused']);
    expect(
      (await api.send('GET', '/v1/users/505/balance', { headers: await bearer(505) })).body.balance,
    ).toBe(1000);
    await expect(database.db('wallets').where('user_id', 505).update({ balance: -1 })).rejects.toThrow(
      /wallets_balance_not_negative/,
    );
  });

  test('tokens: forged, altered, missing, waiting and expired each get their own problem', async () => {
    const genuine = await activeToken(api, 606);
    const auth = withToken(genuine).Authorization;
    const status = (headers: Record<string, string>) =>
      api.send('GET', '/v1/queue/tokens/current', { headers: { Authorization: auth, ...headers } });
    const hold = (headers: Record<string, string>) =>
      api.send('POST', '/v1/reservations', {
        headers: { Authorization: auth, ...headers },
        body: { timeslotId: 1, seatId: 3 },
      });

    expect((await status({})).body.type).toBe('/problems/queue-token-missing');
    const forged = issueToken('another-secret-another-secret-another', 1, Date.now()).token;
    expect([
      (await status({ 'Queue-Token': forged })).status,
      (await hold({ 'Queue-Token': forged })).body.type,
    ]).toEqual([401, '/problems/queue-token-invalid']);
    const [prefix, payload, signature] = genuine.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const altered = `${prefix}.${Buffer.from(JSON.stringify({ ...claims, sub: 1 })).toString('base64url')}.${signature}`;
    expect((await status({ 'Queue-Token': altered })).body.type).toBe('/problems/queue-token-invalid');
    expect((await status({ 'Queue-Token': 'garbage' })).status).toBe(401);

    // A token that is signed but not in the queue store (used up, expired) is expired.
    const stranger = issueToken(running.config.QUEUE_TOKEN_SECRET!, 606, Date.now()).token;
    expect((await hold({ 'Queue-Token': stranger })).body.type).toBe('/problems/queue-token-expired');
  });

  test('a waiting token is 403 for holds and shows its position; the active time runs out', async () => {
    const redisUrl = await privateRedisDb(sharedRedisUrl(), 8);
    const slow = await startBookingService(
      bookingEnv(database.url, redisUrl, {
        QUEUE_ADMIT_PER_INTERVAL: '1',
        QUEUE_ADMIT_INTERVAL_MS: '3600000',
        QUEUE_ACTIVE_TTL_SECONDS: '1',
      }),
    );
    const slowApi = client(slow.url);
    try {
      const tokens = [];
      for (const userId of [1, 2, 3]) tokens.push((await joinQueue(slowApi, userId)).body);
      expect(tokens.map((t) => t.status)).toEqual([
        { state: 'WAITING', position: 1, estimatedWaitSeconds: 3600 },
        { state: 'WAITING', position: 2, estimatedWaitSeconds: 7200 },
        { state: 'WAITING', position: 3, estimatedWaitSeconds: 10800 },
      ]);
      const waiting = await slowApi.send('POST', '/v1/reservations', {
        headers: withToken(tokens[1].token),
        body: { timeslotId: 1, seatId: 4 },
      });
      expect([waiting.status, waiting.body.type]).toEqual([403, '/problems/queue-token-not-active']);
      // A histogram's values carry their series name (_count, _sum), which prom-client's type leaves out.
      const metric = async (name: string, series = name) =>
        (
          (await slow.service.registry.getSingleMetric(name)?.get())?.values as
            { metricName?: string; value: number }[] | undefined
        )?.find((v) => (v.metricName ?? name) === series)?.value;
      expect(await metric('booking_queue_jump_attempts_total')).toBe(1);

      expect(await slow.service.room.runRound()).toBe(1); // this round admits the head only
      // The head was promised an hour (one round) and admitted now, by hand: an hour early.
      const eta = 'booking_queue_eta_error_seconds';
      expect(await metric(eta, `${eta}_count`)).toBe(1);
      expect(await metric(eta, `${eta}_sum`)).toBeGreaterThan(-3600);
      expect(await metric(eta, `${eta}_sum`)).toBeLessThan(-3590);
      const head = await slowApi.send('GET', '/v1/queue/tokens/current', {
        headers: withToken(tokens[0].token),
      });
      expect(head.body.state).toBe('ACTIVE');
      const next = await slowApi.send('GET', '/v1/queue/tokens/current', {
        headers: withToken(tokens[1].token),
      });
      expect(next.body).toEqual({ state: 'WAITING', position: 1, estimatedWaitSeconds: 3600 });

      await new Promise((resolve) => setTimeout(resolve, 1100));
      const lapsed = await slowApi.send('GET', '/v1/queue/tokens/current', {
        headers: withToken(tokens[0].token),
      });
      expect([lapsed.status, lapsed.body.type]).toEqual([401, '/problems/queue-token-expired']);
    } finally {
      slowApi.close();
      await slow.close();
    }
  });

  test('the lock experiment is not mounted unless enabled', async () => {
    expect((await api.send('POST', '/v1/experiments/counter?strategy=atomic')).status).toBe(404);
  });
});
