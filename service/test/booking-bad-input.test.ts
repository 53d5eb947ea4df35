import fc from 'fast-check';
import { sharedRedisUrl } from '@concert-booking/devkit/databases';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import type { TestService } from './support/service.js';
import {
  activeToken,
  bookingEnv,
  client,
  privateRedisDb,
  startBookingService,
  topUp,
  withToken as withUserToken,
  type Client,
} from './booking-support.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { bearer, testIssuer } from '@concert-booking/devkit/identity';
import { TOPUP_SCOPE, localIssuer } from '@concert-booking/lib';

const BODY_LIMIT = 2_048;
const TABLES = [
  'seats',
  'reservations',
  'wallets',
  'wallet_ledger',
  'payments',
  'idempotency_keys',
  'experiment_counters',
];

let database: TestDatabase;
let running: TestService;
let api: Client;
let token: string;
/** User 1's JWT, plain and with the top-up scope; tokens the service must refuse. */
let auth: Record<string, string>;
let topUpAuth: Record<string, string>;
let refusedJwts: string[];
const strangerDir = mkdtempSync(join(tmpdir(), 'stranger-issuer-'));

beforeAll(async () => {
  database = await createTestDatabase({ concerts: 1, timeslotsPerConcert: 1, seatsPerTimeslot: 10 });
  running = await startBookingService(
    bookingEnv(database.url, await privateRedisDb(sharedRedisUrl(), 11), {
      BODY_LIMIT_BYTES: String(BODY_LIMIT),
      EXPERIMENTS_ENABLED: 'false',
      // Thousands of requests of user 1: what is measured here is validation, not the rate limits.
      RATE_LIMIT_USER_PER_MINUTE: '1000000',
    }),
  );
  api = client(running.url, 16);
  token = await activeToken(api, 1);
  auth = await bearer(1);
  topUpAuth = await bearer(1, [TOPUP_SCOPE]);
  const stranger = localIssuer(strangerDir, testIssuer().issuer); // same name, another key
  // The trusted key, but for another audience, or another issuer's name.
  const keyDir = dirname(testIssuer().jwksFile);
  const otherAudience = localIssuer(keyDir, testIssuer().issuer, 'someone-else');
  const otherName = localIssuer(keyDir, 'https://idp.example');
  refusedJwts = [
    await stranger.sign(1),
    await otherAudience.sign(1),
    await otherName.sign(1),
    await testIssuer().sign(1, { ttlSeconds: -3600 }), // expired an hour ago, beyond any skew
    await testIssuer().sign('not-a-number'),
    await testIssuer().sign(0),
  ];
  // Some rows for bad requests to (not) touch: a hold, a wallet with a charge.
  const seat = Number((await database.db('seats').first('id')).id);
  expect(
    (
      await api.send('POST', '/v1/reservations', {
        headers: withUserToken(token),
        body: { timeslotId: 1, seatId: seat },
      })
    ).status,
  ).toBe(201);
  expect((await topUp(api, 1, 100)).status).toBe(201);
});

afterAll(async () => {
  api?.close();
  await running?.close();
  await database?.drop();
  rmSync(strangerDir, { recursive: true, force: true });
});

/** Row count and a checksum of every row, per table. */
async function snapshot(): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  for (const table of TABLES) {
    const { rows } = await database.db.raw(
      `select count(*) as n, md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as sum from ${table} t`,
    );
    result[table] = rows[0];
  }
  return result;
}

const unknownId = fc.oneof(
  fc.integer({ min: 1_000_000, max: 2 ** 40 }),
  fc.constant(Number.MAX_SAFE_INTEGER),
);
const badId = fc.oneof(
  fc.constantFrom('0', '-1', 'abc', '1.5', '1e3', '99999999999999999999', '%20', '0x10'),
  fc
    .string({ minLength: 1, maxLength: 20 })
    .map(encodeURIComponent)
    .filter((id) => !/^[1-9][0-9]{0,14}$/.test(id)),
);
/** Anything but a valid value of the field: wrong types, negatives, zero, huge, fractions. */
const badNumber = fc.oneof(
  fc.constantFrom(0, -1, -1e12, 1.5, 1e300, Number.MAX_SAFE_INTEGER + 2, null, true, '10', [], {}),
  fc.string(),
  fc.integer({ max: 0 }),
  fc.double({ noInteger: true, noNaN: true }),
);
const garbageBody = fc.oneof(
  fc.string({ maxLength: 200 }).map((raw) => ({ raw })), // mostly malformed JSON
  fc.constantFrom('{', '{"a":', '[1,', 'nul', '{"userId": 1,}').map((raw) => ({ raw })),
  fc.jsonValue().map((value) => ({ body: value })), // valid JSON of the wrong shape
  fc
    .string({ minLength: BODY_LIMIT + 1, maxLength: BODY_LIMIT * 2 })
    .map((s) => ({ body: { userId: 1, pad: s } })), // too large
);
const badToken = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 300 }),
  fc.constantFrom('v1.e30.AAAA', 'v1..', 'Bearer x'),
);
const badIdempotencyKey = fc.constantFrom('', ' ', 'has space', 'x'.repeat(256), 'ключ');

type Payload = { body?: unknown; raw?: string };
interface BadRequest {
  method: string;
  path: string;
  payload: Payload;
  headers: Record<string, string>;
}

/** User 1's JWT with a bad queue token (or none). */
const withToken = (value: string | undefined): Record<string, string> =>
  value === undefined ? auth : { ...auth, 'Queue-Token': value.replace(/[^\x20-\x7e]/g, '') };
/** A bearer credential the service must refuse: none, garbage, or a JWT of the wrong key, age or subject. */
const badBearer = fc.oneof(
  fc.constant({}),
  fc.string({ maxLength: 300 }).map((s) => ({ Authorization: s.replace(/[^\x20-\x7e]/g, '') })),
  fc.nat(5).map((i) => ({ Authorization: `Bearer ${refusedJwts[i]}` })),
  fc.constantFrom('Bearer ', 'Basic dXNlcjpwdw==', 'Bearer a.b.c').map((value) => ({ Authorization: value })),
);
const protectedPaths = fc.constantFrom(
  ['POST', '/v1/queue/tokens'],
  ['GET', '/v1/queue/tokens/current'],
  ['POST', '/v1/reservations'],
  ['GET', '/v1/reservations/1'],
  ['DELETE', '/v1/reservations/1'],
  ['GET', '/v1/users/1/balance'],
  ['POST', '/v1/users/1/balance/charges'],
  ['POST', '/v1/payments'],
);

const badRequests: fc.Arbitrary<BadRequest> = fc.oneof(
  fc.tuple(protectedPaths, badBearer, garbageBody).map(([[method, path], headers, payload]) => ({
    method: method!,
    path: path!,
    payload,
    headers: { ...headers, 'Queue-Token': token },
  })),
  badToken.map((t) => ({
    method: 'GET',
    path: '/v1/queue/tokens/current',
    payload: {},
    headers: withToken(t),
  })),
  // Holds: bad tokens, bad bodies with a good token, unknown seats with a good token.
  fc.tuple(badToken, unknownId).map(([t, seatId]) => ({
    method: 'POST',
    path: '/v1/reservations',
    payload: { body: { timeslotId: 1, seatId } },
    headers: withToken(t),
  })),
  garbageBody.map((payload) => ({
    method: 'POST',
    path: '/v1/reservations',
    payload,
    headers: withToken(token),
  })),
  fc.tuple(badNumber, badNumber).map(([timeslotId, seatId]) => ({
    method: 'POST',
    path: '/v1/reservations',
    payload: { body: { timeslotId, seatId } },
    headers: withToken(token),
  })),
  fc.tuple(fc.constant(1), unknownId).map(([timeslotId, seatId]) => ({
    method: 'POST',
    path: '/v1/reservations',
    payload: { body: { timeslotId, seatId } },
    headers: withToken(token),
  })),
  fc
    .tuple(fc.constantFrom('GET', 'DELETE'), fc.oneof(badId, unknownId.map(String)), badToken)
    .map(([method, id, t]) => ({
      method,
      path: `/v1/reservations/${id}`,
      payload: {},
      headers: withToken(t ?? token),
    })),
  // Wallet: bad ids, bad amounts, bad keys.
  badId.map((id) => ({ method: 'GET', path: `/v1/users/${id}/balance`, payload: {}, headers: auth })),
  fc.tuple(fc.oneof(badId, fc.constant('1')), badNumber).map(([id, amount]) => ({
    method: 'POST',
    path: `/v1/users/${id}/balance/charges`,
    payload: { body: { amount } },
    headers: topUpAuth,
  })),
  fc.tuple(fc.integer({ min: 1, max: 100 }), badIdempotencyKey).map(([amount, key]) => ({
    method: 'POST',
    path: '/v1/users/1/balance/charges',
    payload: { body: { amount } },
    headers: { ...topUpAuth, 'Idempotency-Key': key.replace(/[^\x20-\x7e]/g, ' ') },
  })),
  garbageBody.map((payload) => ({
    method: 'POST',
    path: '/v1/users/1/balance/charges',
    payload,
    headers: topUpAuth,
  })),
  // Payments: bad tokens, bad or unknown reservations.
  fc.tuple(badToken, badNumber).map(([t, reservationId]) => ({
    method: 'POST',
    path: '/v1/payments',
    payload: { body: { reservationId } },
    headers: withToken(t),
  })),
  unknownId.map((reservationId) => ({
    method: 'POST',
    path: '/v1/payments',
    payload: { body: { reservationId } },
    headers: withToken(token),
  })),
  garbageBody.map((payload) => ({
    method: 'POST',
    path: '/v1/payments',
    payload,
    headers: withToken(token),
  })),
  fc.constantFrom('pessimistic', 'atomic', 'redis').map((strategy) => ({
    method: 'POST',
    path: `/v1/experiments/counter?strategy=${strategy}`,
    payload: {},
    headers: {},
  })),
);

test('thousands of bad requests: each a 4xx problem+json, and no row changes', async () => {
  const before = await snapshot();
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(badRequests, async ({ method, path, payload, headers }) => {
      const reply = await api.send(method, path, { ...payload, headers });
      seen.set(reply.status, (seen.get(reply.status) ?? 0) + 1);
      expect(reply.status).toBeGreaterThanOrEqual(400);
      expect(reply.status).toBeLessThan(500);
      expect(reply.type).toMatch(/application\/problem\+json/);
      expect(reply.body.status).toBe(reply.status);
    }),
    { numRuns: 2_000, seed: 20_240_601 },
  );
  expect(await snapshot()).toEqual(before);
  // The generators reached every kind of refusal.
  expect([...seen.keys()].sort()).toEqual(expect.arrayContaining([400, 401, 404, 413]));
}, 120_000);
