// Issue 15's measured cases, each refused with a 4xx problem+json and the data unchanged, and a property: for
// random pairs of users, nothing one of them does changes or reveals the other's data.
import fc from 'fast-check';
import { sharedRedisUrl } from '@concert-booking/devkit/databases';
import { bearer } from '@concert-booking/devkit/identity';
import { TOPUP_SCOPE } from '@concert-booking/lib';
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
  type Reply,
} from './booking-support.js';

const USER_LIMIT = 20;
const HOLD_CAP = 4;
let database: TestDatabase;
let running: TestService;
let api: Client;

beforeAll(async () => {
  database = await createTestDatabase({ concerts: 1, timeslotsPerConcert: 2, seatsPerTimeslot: 30 });
  running = await startBookingService(
    bookingEnv(database.url, await privateRedisDb(sharedRedisUrl(), 12), {
      RATE_LIMIT_USER_PER_MINUTE: String(USER_LIMIT),
      HOLD_MAX_PER_USER: String(HOLD_CAP),
      TOPUP_MAX_AMOUNT: '100000',
      TOPUP_DAILY_MAX: '250000',
    }),
  );
  api = client(running.url);
});

afterAll(async () => {
  api?.close();
  await running?.close();
  await database?.drop();
});

const seatIds = async (timeslotId: number) =>
  (await database.db('seats').where('timeslot_id', timeslotId).orderBy('number').pluck('id')).map(Number);
const balance = async (userId: number) =>
  Number((await database.db('wallets').where('user_id', userId).first('balance'))?.balance ?? 0);

function expectProblem(reply: Reply, status: number, type?: string): void {
  expect({ status: reply.status, type: reply.type }).toEqual({
    status,
    type: expect.stringMatching(/^application\/problem\+json/),
  });
  if (type) expect(reply.body.type).toBe(type);
}

describe('no one acts as another user', () => {
  test('joining the waiting room needs a credential, and the user is the token subject, not the body', async () => {
    expectProblem(await api.send('POST', '/v1/queue/tokens', { body: { userId: 919191 } }), 401);
    const issued = await api.send('POST', '/v1/queue/tokens', {
      headers: await bearer(31),
      body: { userId: 919191 },
    });
    expect(issued.status).toBe(201);
    const claims = JSON.parse(Buffer.from(issued.body.token.split('.')[1], 'base64url').toString());
    expect(claims.sub).toBe(31);
  });

  test("another user's queue token holds nothing, and another user's hold cannot be cancelled", async () => {
    const [seatId, other] = await seatIds(1);
    const victimToken = await activeToken(api, 919191);
    const attacker = await bearer(666);
    const borrowed = await api.send('POST', '/v1/reservations', {
      headers: { 'Queue-Token': victimToken, ...attacker },
      body: { timeslotId: 1, seatId },
    });
    expectProblem(borrowed, 403, '/problems/queue-token-foreign');
    expect(await database.db('reservations').where('user_id', 919191)).toEqual([]);

    const hold = await api.send('POST', '/v1/reservations', {
      headers: withToken(victimToken),
      body: { timeslotId: 1, seatId: other },
    });
    expect(hold.status).toBe(201);
    for (const method of ['GET', 'DELETE']) {
      expectProblem(await api.send(method, `/v1/reservations/${hold.body.id}`, { headers: attacker }), 404);
    }
    expect(await database.db('reservations').where('id', hold.body.id).first('status')).toEqual({
      status: 'HELD',
    });
  });

  test('a wallet is read and topped up by its owner only, with the top-up scope, within the maximums', async () => {
    const owner = 5001;
    expect((await topUp(api, owner, 100_000)).status).toBe(201);
    const stranger = await bearer(5002, [TOPUP_SCOPE]);
    expectProblem(await api.send('GET', `/v1/users/${owner}/balance`, { headers: stranger }), 404);
    const foreign = await api.send('POST', `/v1/users/${owner}/balance/charges`, {
      headers: stranger,
      body: { amount: 1000 },
    });
    expectProblem(foreign, 404);
    const unscoped = await api.send('POST', `/v1/users/${owner}/balance/charges`, {
      headers: await bearer(owner),
      body: { amount: 1000 },
    });
    expectProblem(unscoped, 403, '/problems/scope-missing');
    expectProblem(await topUp(api, owner, 100_001), 400);
    expect((await topUp(api, owner, 100_000)).status).toBe(201);
    // 200,000 of the day's 250,000 used: the next 100,000 is over the daily maximum, and nothing is written.
    expectProblem(await topUp(api, owner, 100_000), 422, '/problems/topup-daily-limit');
    expect(await balance(owner)).toBe(200_000);
    const ledger = await database.db('wallet_ledger').where('user_id', owner).pluck('amount');
    expect(ledger.map(Number)).toEqual([100_000, 100_000]);
  });

  test("nobody can take another user's Idempotency-Key first", async () => {
    const victim = 6001;
    const attacker = await bearer(6002, [TOPUP_SCOPE]);
    const taken = await api.send('POST', `/v1/users/${victim}/balance/charges`, {
      headers: { ...attacker, 'Idempotency-Key': 'victims-key' },
      body: { amount: 1 },
    });
    expectProblem(taken, 404);
    const own = await topUp(api, victim, 5000, 'victims-key');
    expect([own.status, own.body.balance]).toEqual([201, 5000]);
  });
});

describe('no single client fills the queue or a timeslot', () => {
  test('one place in the queue per user: joining again answers the same token', async () => {
    const first = await joinQueue(api, 7001);
    const again = await Promise.all(Array.from({ length: 10 }, () => joinQueue(api, 7001)));
    expect(first.status).toBe(201);
    expect(again.map((r) => [r.status, r.body.token])).toEqual(
      Array.from({ length: 10 }, () => [200, first.body.token]),
    );
  });

  test('a place signed with a replaced queue secret is replaced, not a 500 (found by Schemathesis)', async () => {
    const first = await joinQueue(api, 7003);
    const rotated = await startBookingService(
      bookingEnv(database.url, running.config.REDIS_URL, {
        QUEUE_TOKEN_SECRET: 'a-new-secret-a-new-secret-a-new-secret',
      }),
    );
    const rotatedApi = client(rotated.url);
    try {
      const again = await joinQueue(rotatedApi, 7003);
      expect(again.status).toBe(201);
      expect(again.body.token).not.toBe(first.body.token);
      expect((await joinQueue(rotatedApi, 7003)).body.token).toBe(again.body.token);
    } finally {
      rotatedApi.close();
      await rotated.close();
    }
  });

  test('minting tokens is rate limited per user: 429 problem+json with Retry-After', async () => {
    const replies = [];
    for (let i = 0; i < USER_LIMIT + 5; i++) replies.push(await joinQueue(api, 7002));
    const refused = replies.filter((r) => r.status === 429);
    expect(replies.slice(0, USER_LIMIT).every((r) => r.status === 200 || r.status === 201)).toBe(true);
    expect(refused).toHaveLength(5);
    expectProblem(refused[0]!, 429, '/problems/rate-limited');
    const raw = await fetch(`${running.url}/v1/queue/tokens`, {
      method: 'POST',
      headers: await bearer(7002),
    });
    expect(raw.status).toBe(429);
    expect(Number(raw.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(raw.headers.get('ratelimit-remaining')).toBe('0');
  });

  test(`one ACTIVE token holds at most ${HOLD_CAP} seats at once`, async () => {
    const token = await activeToken(api, 8001);
    const seats = await seatIds(2);
    const held = async () =>
      Number((await database.db('seats').where({ timeslot_id: 2, status: 'HELD' }).count({ n: '*' }))[0]!.n);
    const hold = (seatId: number) =>
      api.send('POST', '/v1/reservations', { headers: withToken(token), body: { timeslotId: 2, seatId } });
    // Ten at once: never more than the cap survive (concurrent ones past it may all be refused).
    const burst = await Promise.all(seats.slice(0, 10).map(hold));
    const created = burst.filter((r) => r.status === 201).length;
    expect(created).toBeLessThanOrEqual(HOLD_CAP);
    for (const refused of burst.filter((r) => r.status !== 201))
      expectProblem(refused, 429, '/problems/hold-limit');
    expect(await held()).toBe(created);
    // One at a time, the holds fill up to the cap exactly, and the next is refused.
    for (const seatId of seats.slice(10, 10 + HOLD_CAP - created))
      expect((await hold(seatId)).status).toBe(201);
    expectProblem(await hold(seats[20]!), 429, '/problems/hold-limit');
    expect(await held()).toBe(HOLD_CAP);
  });

  test('the address limit stops many users behind one address', async () => {
    const small = await startBookingService(
      bookingEnv(database.url, undefined, { RATE_LIMIT_IP_PER_MINUTE: '5', SEED_DEMO_DATA: 'false' }),
    );
    const smallApi = client(small.url);
    try {
      const statuses = [];
      for (let user = 9001; user <= 9008; user++) statuses.push((await joinQueue(smallApi, user)).status);
      expect(statuses).toEqual([201, 201, 201, 201, 201, 429, 429, 429]);
    } finally {
      smallApi.close();
      await small.close();
    }
  });
});

describe('HTTP conformance', () => {
  test('methods the router does not know are a 405 with Allow, never a 5xx', async () => {
    for (const method of ['TRACE', 'PROPFIND', 'PURGE', 'PATCH', 'PUT']) {
      for (const path of ['/v1/reservations', '/v1/concerts', '/v1/users/1/balance']) {
        const reply = await api.send(method, path);
        expect({ method, path, status: reply.status }).toEqual({ method, path, status: 405 });
        expectProblem(reply, 405, '/problems/method-not-allowed');
        expect(reply.headers.allow).toMatch(/^(GET|POST|HEAD)/);
      }
    }
    expectProblem(await api.send('PROPFIND', '/nowhere'), 404);
    const metrics = await running.service.registry.metrics();
    expect(metrics).not.toMatch(/http_request_duration_seconds_count\{[^}]*status="5\d\d"/);
  });

  test('the OpenAPI document states the limit range and every status a route can answer', async () => {
    const openapi = (await (await fetch(`${running.url}/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<string, { parameters: { name: string; schema: unknown }[]; responses: object }>
      >;
    };
    const list = openapi.paths['/v1/concerts']!.get!;
    expect(list.parameters.find((p) => p.name === 'limit')!.schema).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 100,
    });
    const statuses = (path: string, method: string) => Object.keys(openapi.paths[path]![method]!.responses);
    expect(statuses('/v1/reservations', 'post')).toEqual(
      expect.arrayContaining(['400', '401', '403', '404', '409', '413', '415', '429', '503']),
    );
    expect(statuses('/v1/users/{userId}/balance/charges', 'post')).toEqual(
      expect.arrayContaining(['400', '401', '403', '404', '409', '413', '415', '422', '503']),
    );
    expect(statuses('/v1/payments', 'post')).toEqual(
      expect.arrayContaining(['400', '401', '402', '403', '404', '409', '413', '415', '422', '429', '503']),
    );
  });
});

test("for random pairs of users, nothing one does changes or reveals the other's data", async () => {
  const seats = await seatIds(1);
  /** Everything of `userId` in the database. */
  const dataOf = async (userId: number) => ({
    reservations: await database.db('reservations').where('user_id', userId).orderBy('id'),
    wallet: await database.db('wallets').where('user_id', userId).first('balance'),
    ledger: await database.db('wallet_ledger').where('user_id', userId).orderBy('id').pluck('amount'),
    payments: await database.db('payments').where('user_id', userId).orderBy('id'),
  });
  let nextUser = 100_000;
  const action = fc.oneof(
    fc.record({ kind: fc.constant('hold'), seat: fc.nat(seats.length - 1) }),
    fc.record({ kind: fc.constantFrom('read', 'cancel', 'pay'), target: fc.boolean() }),
    fc.record({
      kind: fc.constant('top-up'),
      amount: fc.integer({ min: 1, max: 1000 }),
      target: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('balance'), target: fc.boolean() }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 8 }), async (actions) => {
      const victim = nextUser++;
      const attacker = nextUser++;
      // The victim has a hold and some money; the attacker knows the victim's ids.
      const victimToken = await activeToken(api, victim);
      await topUp(api, victim, 500);
      const free = (await database.db('seats').where({ timeslot_id: 1, status: 'AVAILABLE' }).first('id')).id;
      const held = await api.send('POST', '/v1/reservations', {
        headers: withToken(victimToken),
        body: { timeslotId: 1, seatId: Number(free) },
      });
      expect(held.status).toBe(201);
      const before = await dataOf(victim);
      const attackerToken = await activeToken(api, attacker);
      const as = withToken(attackerToken);
      const stolen = { ...as, 'Queue-Token': victimToken };
      for (const step of actions) {
        const victimOrOwn = (target: boolean) => (target ? victim : attacker);
        let reply: Reply;
        switch (step.kind) {
          case 'hold':
            reply = await api.send('POST', '/v1/reservations', {
              headers: stolen,
              body: { timeslotId: 1, seatId: seats[step.seat!]! },
            });
            break;
          case 'read':
          case 'cancel':
            reply = await api.send(
              step.kind === 'read' ? 'GET' : 'DELETE',
              `/v1/reservations/${held.body.id}`,
              {
                headers: step.target ? as : stolen,
              },
            );
            break;
          case 'pay':
            reply = await api.send('POST', '/v1/payments', {
              headers: step.target ? as : stolen,
              body: { reservationId: held.body.id },
            });
            break;
          case 'top-up':
            reply = await api.send('POST', `/v1/users/${victimOrOwn(step.target!)}/balance/charges`, {
              headers: { ...(await bearer(attacker, [TOPUP_SCOPE])) },
              body: { amount: step.amount },
            });
            if (!step.target) {
              expect(reply.status).toBe(201);
              continue;
            }
            break;
          case 'balance':
            reply = await api.send('GET', `/v1/users/${victimOrOwn(step.target!)}/balance`, { headers: as });
            if (!step.target) {
              expect(reply.status).toBe(200);
              continue;
            }
            break;
        }
        // Every attempt on the victim's data is refused, and says nothing of it.
        expect(reply.status).toBeGreaterThanOrEqual(400);
        expect(reply.status).toBeLessThan(500);
        expect(JSON.stringify(reply.body)).not.toContain(String(victim));
      }
      expect(await dataOf(victim)).toEqual(before);
    }),
    { numRuns: 25, seed: 15 },
  );
}, 120_000);
