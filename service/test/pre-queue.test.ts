// The pre-queue of a scheduled sale on a real Redis (a server of its own: a sale pauses admission for every
// waiting room sharing its keys): joiners before opensAt are shuffled, admitted before any later joiner, and
// nobody is lost or admitted twice. The same properties hold for the embedded default's in-process store.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { bearer } from '@concert-booking/devkit/identity';
import { PrivateRedis } from '@concert-booking/devkit/servers';
import { waitFor } from '@concert-booking/devkit/wait';
import { METRICS } from '@concert-booking/lib';
import { createRedis, type Redis } from '../src/cache/redis.js';
import { serviceLogger } from '../src/logger.js';
import { RedisQueueStore } from '../src/queue/redis-store.js';
import { shuffleFraction, type SaleSchedule } from '../src/queue/sale.js';
import { MemoryQueueStore, type QueueStore } from '../src/queue/store.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startTestService, type TestService } from './support/service.js';

const logger = serviceLogger('silent');
/** A real date (the store expires a sale a week after it opens), on a round boundary. */
const OPENS_AT = Date.parse('2030-01-01T00:00:00Z');
const SALE: SaleSchedule = { opensAt: OPENS_AT, preQueueStart: OPENS_AT - 600_000, timeslotIds: [1] };
const ROUND_MS = 1000;
const ACTIVE_TTL_MS = 3_600_000;

let redisServer: PrivateRedis;
let redis: Redis;

beforeAll(async () => {
  redisServer = await PrivateRedis.create();
  redis = createRedis(redisServer.url, 2_000, logger);
  await waitFor(async () => (await redis.ping()) === 'PONG');
}, 30_000);
afterAll(async () => {
  redis?.disconnect();
  await redisServer?.stop();
});

const stores: [string, () => Promise<QueueStore>][] = [
  [
    'Redis',
    async () => {
      await redis.flushall();
      return new RedisQueueStore(redis);
    },
  ],
  ['in-process', async () => new MemoryQueueStore()],
];

const enter = (store: QueueStore, user: number, nowMs: number) =>
  store.join(user, `token-${user}`, `signed-${user}`, '', nowMs, shuffleFraction());

/** Runs rounds from `fromMs` until nobody waits; the round (0-based) each token became active in. */
async function admitAll(store: QueueStore, tokens: string[], perRound: number, fromMs: number) {
  const roundOf = new Map<string, number>();
  for (let round = 0; roundOf.size < tokens.length && round <= tokens.length; round++) {
    const now = fromMs + round * ROUND_MS;
    await store.admit(Math.floor(now / ROUND_MS), ROUND_MS, now, ACTIVE_TTL_MS, (_active, waiting) =>
      Math.min(perRound, waiting),
    );
    for (const token of tokens) {
      if (!roundOf.has(token) && (await store.state(token, now)).kind === 'active') roundOf.set(token, round);
    }
  }
  return roundOf;
}

describe.each(stores)('the pre-queue (%s store)', (_name, freshStore) => {
  test('before opensAt nobody is admitted; then the pre-queue goes first, nobody lost or twice', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 1, max: 7 }),
        async (early, late, perRound) => {
          const store = await freshStore();
          await store.scheduleSale(SALE);
          const preQueued: string[] = [];
          for (let user = 1; user <= early; user++) {
            const joined = await enter(store, user, SALE.preQueueStart + user);
            expect(joined).toEqual({ token: `signed-${user}`, created: true });
            preQueued.push(`token-${user}`);
          }
          // A round during the pre-queue admits nobody, and joining again keeps one's place.
          const before = OPENS_AT - ROUND_MS;
          expect(
            (await store.admit(before / ROUND_MS, ROUND_MS, before, ACTIVE_TTL_MS, () => 100)).admitted,
          ).toBe(0);
          expect(await enter(store, 1, before)).toEqual({ token: 'signed-1', created: false });
          const later: string[] = [];
          for (let i = 1; i <= late; i++) {
            await enter(store, 1000 + i, OPENS_AT + i);
            later.push(`token-${1000 + i}`);
          }
          const rounds = await admitAll(store, [...preQueued, ...later], perRound, OPENS_AT + 1000);
          expect(rounds.size).toBe(early + late);
          const lastPre = Math.max(...preQueued.map((t) => rounds.get(t)!));
          for (const token of later) expect(rounds.get(token)!).toBeGreaterThanOrEqual(lastPre);
          expect(await store.counts(OPENS_AT + 1_000_000)).toMatchObject({ waiting: 0 });
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);

  test('the order at opensAt is not arrival order: positions uncorrelated with arrival', async () => {
    const store = await freshStore();
    await store.scheduleSale(SALE);
    const users = 200;
    for (let user = 1; user <= users; user++) await enter(store, user, SALE.preQueueStart + user);
    // Publishing the same sale again (the controller does every pass) moves nobody.
    const positionsAt = async (now: number) => {
      const out: number[] = [];
      for (let user = 1; user <= users; user++) {
        const state = await store.state(`token-${user}`, now);
        if (state.kind !== 'waiting') throw new Error(`token-${user} is ${state.kind}`);
        out.push(state.position);
      }
      return out;
    };
    const beforeRepublish = await positionsAt(OPENS_AT);
    await store.scheduleSale(SALE);
    const positions = await positionsAt(OPENS_AT);
    expect(positions).toEqual(beforeRepublish);
    expect([...positions].sort((a, b) => a - b)).toEqual(Array.from({ length: users }, (_, i) => i + 1));
    // Spearman's rank correlation of arrival and place: about 0 (sd 0.07 at 200) for a shuffle, 1 for FIFO.
    const d2 = positions.reduce((sum, position, i) => sum + (position - (i + 1)) ** 2, 0);
    const rho = 1 - (6 * d2) / (users * (users ** 2 - 1));
    expect(Math.abs(rho)).toBeLessThan(0.35);
  });

  test('those waiting before the sale stay ahead of its pre-queue; joins before the pre-queue are refused', async () => {
    const store = await freshStore();
    await enter(store, 1, 10);
    await store.scheduleSale(SALE);
    expect(await enter(store, 2, SALE.preQueueStart - 1)).toEqual({ preQueueStart: SALE.preQueueStart });
    for (let user = 3; user <= 12; user++) await enter(store, user, SALE.preQueueStart + user);
    const inPreQueue = await store.state('token-3', OPENS_AT - 1);
    expect(inPreQueue).toMatchObject({ kind: 'waiting', opensAt: OPENS_AT });
    expect((inPreQueue as { position: number }).position).toBeGreaterThan(1);
    expect(await store.state('token-1', OPENS_AT)).toEqual({ kind: 'waiting', position: 1 });
  });

  test('a pre-queued token gets its ETA promise once the sale has opened, not before', async () => {
    const store = await freshStore();
    await store.scheduleSale(SALE);
    await enter(store, 1, SALE.preQueueStart + 1);
    await store.promise('token-1', OPENS_AT - 10, OPENS_AT - 20);
    await store.promise('token-1', OPENS_AT + 5000, OPENS_AT + 1);
    await store.promise('token-1', OPENS_AT + 9000, OPENS_AT + 2);
    const round = await store.admit(
      (OPENS_AT + 3000) / ROUND_MS,
      ROUND_MS,
      OPENS_AT + 3000,
      ACTIVE_TTL_MS,
      () => 1,
    );
    expect(round).toEqual({ admitted: 1, promisedAt: [OPENS_AT + 5000] });
  });
});

describe('a sale through the service', () => {
  let database: TestDatabase;
  let service: TestService;
  const adminToken = 'sale-admin-token';
  const admin = (body: unknown, token = adminToken) =>
    fetch(`${service.adminUrl}/queue/sale`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    database = await createTestDatabase({ concerts: 1, timeslotsPerConcert: 2, seatsPerTimeslot: 20 });
    const dir = mkdtempSync(join(tmpdir(), 'pre-queue-'));
    writeFileSync(join(dir, 'token'), adminToken);
    service = await startTestService({
      DATABASE_URL: database.url,
      REDIS_URL: redisServer.url,
      ADMIN_TOKEN_FILE: join(dir, 'token'),
      SALE_WARM_UP_SECONDS: '60',
    });
  }, 60_000);
  afterAll(async () => {
    await service?.close();
    await database?.drop();
  });
  beforeEach(async () => {
    service.service.warmUp.stop(); // the test runs the warm-up check itself
    await redis.flushall();
  });

  test('PUT /queue/sale refuses a wrong token and a malformed sale with problem+json', async () => {
    const sale = {
      opensAt: new Date(Date.now() + 60_000).toISOString(),
      preQueueSeconds: 30,
      timeslotIds: [1],
    };
    const wrong = await admin(sale, 'not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('content-type')).toMatch(/application\/problem\+json/);
    for (const bad of [
      { ...sale, opensAt: 'tomorrow' },
      { ...sale, preQueueSeconds: -1 },
      { ...sale, timeslotIds: [] },
      { ...sale, extra: true },
    ]) {
      const response = await admin(bad);
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    expect(await redis.exists('queue:sale')).toBe(0);
  });

  test('joining before the pre-queue opens is a 403 naming when; in it, a place with the wait from opensAt', async () => {
    const opensAt = Date.now() + 120_000;
    const published = await admin({
      opensAt: new Date(opensAt).toISOString(),
      preQueueSeconds: 30,
      timeslotIds: [1],
    });
    expect(published.status).toBe(204);
    const early = await fetch(`${service.url}/v1/queue/tokens`, {
      method: 'POST',
      headers: await bearer(71),
    });
    expect(early.status).toBe(403);
    expect(await early.json()).toMatchObject({
      type: expect.stringContaining('queue-not-open'),
      detail: expect.stringContaining(new Date(opensAt - 30_000).toISOString()),
    });
    await admin({ opensAt: new Date(opensAt).toISOString(), preQueueSeconds: 600, timeslotIds: [1] });
    const joined = await fetch(`${service.url}/v1/queue/tokens`, {
      method: 'POST',
      headers: await bearer(72),
    });
    expect(joined.status).toBe(201);
    const { status } = (await joined.json()) as { status: { state: string; estimatedWaitSeconds: number } };
    expect(status.state).toBe('WAITING');
    expect(status.estimatedWaitSeconds).toBeGreaterThanOrEqual(110);
  });

  test('the sale seat maps are warmed before opensAt: the first read after it is a cache hit', async () => {
    const requests = async () => {
      const text = await (await fetch(`${service.adminUrl}/metrics`)).text();
      const count = (layer: string, result: string) =>
        Number(
          text
            .split('\n')
            .find((l) => l.startsWith(`${METRICS.seatMapCacheRequests}{layer="${layer}",result="${result}"}`))
            ?.split(' ')[1] ?? 0,
        );
      return {
        redisHit: count('redis', 'hit'),
        redisMiss: count('redis', 'miss'),
        memoryHit: count('memory', 'hit'),
      };
    };
    const opensAt = Date.now() + 3_000;
    expect(
      (await admin({ opensAt: new Date(opensAt).toISOString(), preQueueSeconds: 60, timeslotIds: [1, 2] }))
        .status,
    ).toBe(204);
    // Not due yet 61 s before, due now, claimed once.
    expect(await service.service.warmUp.check(opensAt - 61_000)).toBe(0);
    expect(await service.service.warmUp.check()).toBe(2);
    expect(await service.service.warmUp.check()).toBe(0);
    await waitFor(
      async () => (await redis.exists('concert:timeslot:seat:1', 'concert:timeslot:seat:2')) === 2,
    );
    const warmed = await requests();
    await new Promise((done) => setTimeout(done, Math.max(0, opensAt - Date.now()) + 1100));
    const response = await fetch(`${service.url}/v1/timeslots/2/seats`);
    expect(response.status).toBe(200);
    const after = await requests();
    // The memory layer has expired by now (1 s): the read is Redis' hit, and nothing missed.
    expect(after.redisHit + after.memoryHit - warmed.redisHit - warmed.memoryHit).toBe(1);
    expect(after.redisMiss).toBe(warmed.redisMiss);
  }, 30_000);
});
