import { Registry } from 'prom-client';
import { createRedis, RedisBus, RedisStore, type Redis } from '../src/cache/redis.js';
import { SeatMapCache, seatMapKey } from '../src/catalog/seat-map-cache.js';
import { findSeatMap } from '../src/catalog/queries.js';
import { serviceLogger } from '../src/logger.js';
import { sharedRedisUrl } from '@concert-booking/devkit/databases';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { PrivateRedis } from '@concert-booking/devkit/servers';
import { waitFor } from '@concert-booking/devkit/wait';
import { startTestService } from './support/service.js';

const logger = serviceLogger('silent');
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ concerts: 2, timeslotsPerConcert: 2, seatsPerTimeslot: 40 });
});
afterAll(async () => database?.drop());

/** A cache over the real database and a real Redis, counting the queries it sends to Postgres. */
function countingCache(redis: Redis, prefix = '') {
  const registry = new Registry();
  const counter = { queries: 0 };
  const bus = new RedisBus(redis, logger);
  const cache = new SeatMapCache({
    enabled: true,
    store: new RedisStore(redis),
    bus,
    load: async (timeslotId) => {
      counter.queries++;
      const seatMap = await findSeatMap(database.db, timeslotId);
      return seatMap && Buffer.from(JSON.stringify({ ...seatMap, prefix }));
    },
    ttlSeconds: 60,
    memoryTtlMs: 5_000,
    registry,
    logger,
  });
  const metric = async (layer: string, result: string) => {
    const values = (await registry.getSingleMetric('booking_seatmap_cache_requests_total')!.get()).values;
    return values.find((v) => v.labels.layer === layer && v.labels.result === result)?.value ?? 0;
  };
  const close = async () => {
    cache.close();
    await bus.close();
  };
  return { cache, counter, metric, close };
}

describe('seat-map cache against real Redis and Postgres', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = createRedis(sharedRedisUrl(), 1_000, logger);
    await waitFor(async () => (await redis.ping()) === 'PONG');
  });
  beforeEach(async () => {
    await redis.del(seatMapKey(1), seatMapKey(2), seatMapKey(3));
  });
  afterAll(() => redis.disconnect());

  test('a miss reads Postgres once and fills Redis; then memory serves without Redis or Postgres', async () => {
    const { cache, counter, metric, close } = countingCache(redis);
    const first = await cache.get(1);
    expect(counter.queries).toBe(1);
    expect(await metric('redis', 'miss')).toBe(1);
    const stored = await redis.getBuffer(seatMapKey(1));
    expect(stored?.equals(first!.body)).toBe(true);
    const second = await cache.get(1);
    expect(second!.etag).toBe(first!.etag);
    expect(counter.queries).toBe(1);
    expect(await metric('memory', 'hit')).toBe(1);
    await close();
  });

  test('a second replica is served from Redis without querying Postgres', async () => {
    const a = countingCache(redis);
    const b = countingCache(redis);
    await a.cache.get(2);
    const fromRedis = await b.cache.get(2);
    expect(b.counter.queries).toBe(0);
    expect(await b.metric('redis', 'hit')).toBe(1);
    expect(JSON.parse(fromRedis!.body.toString()).timeslotId).toBe(2);
    await a.close();
    await b.close();
  });

  test('100 concurrent misses send one query (single flight)', async () => {
    const { cache, counter, close } = countingCache(redis);
    const results = await Promise.all(Array.from({ length: 100 }, () => cache.get(3)));
    expect(counter.queries).toBe(1);
    expect(new Set(results.map((r) => r!.etag)).size).toBe(1);
    await close();
  });

  test('an invalidation on one replica clears Redis and every replica’s memory layer', async () => {
    const a = countingCache(redis, 'a');
    const b = countingCache(redis, 'b');
    await a.cache.get(1);
    await b.cache.get(1); // b: Redis hit, now in b's memory
    await database.db('seats').where({ timeslot_id: 1, number: 7 }).update({ status: 'SOLD' });
    await a.cache.invalidate(1);
    expect(await redis.exists(seatMapKey(1))).toBe(0);
    // b hears the invalidation over pub/sub and reloads from Postgres.
    await waitFor(
      async () => {
        const fresh = JSON.parse((await b.cache.get(1))!.body.toString());
        return fresh.seats.find((s: { number: number }) => s.number === 7).status === 'SOLD';
      },
      5_000,
      'replica b to see the sold seat',
    );
    expect(b.counter.queries).toBeGreaterThanOrEqual(1);
    await a.close();
    await b.close();
  });

  test('an unknown timeslot is null and not cached', async () => {
    const { cache, counter, close } = countingCache(redis);
    expect(await cache.get(987654)).toBeNull();
    expect(await cache.get(987654)).toBeNull();
    expect(counter.queries).toBe(2);
    await close();
  });
});

describe('the seat map when Redis dies', () => {
  test('is served from Postgres (degraded, counted) and the cache resumes when Redis is back', async () => {
    const privateRedis = await PrivateRedis.create();
    const running = await startTestService({
      DATABASE_URL: database.url,
      REDIS_URL: privateRedis.url,
      SEATMAP_MEMORY_TTL_MS: '0',
      REDIS_COMMAND_TIMEOUT_MS: '200',
    });
    try {
      const seats = () => fetch(`${running.url}/v1/timeslots/1/seats`);
      expect((await seats()).status).toBe(200);
      await privateRedis.stop();
      for (let i = 0; i < 5; i++) {
        const response = await seats();
        expect(response.status).toBe(200);
        expect(((await response.json()) as { seats: unknown[] }).seats).toHaveLength(40);
      }
      const metrics = await (await fetch(`${running.url}/metrics`)).text();
      expect(Number(/^booking_seatmap_degraded_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(5);
      const ready = await fetch(`${running.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: { redis: { ok: boolean } } }).checks.redis.ok).toBe(false);

      await privateRedis.start();
      await waitFor(
        async () => (await fetch(`${running.url}/readyz`)).status === 200,
        15_000,
        'readyz after Redis restart',
      );
      // Back to normal: the seat map is cached in Redis again and served from it.
      await waitFor(
        async () => {
          expect((await seats()).status).toBe(200);
          const text = await (await fetch(`${running.url}/metrics`)).text();
          return /booking_seatmap_cache_requests_total\{layer="redis",result="hit"\} [1-9]/.test(text);
        },
        10_000,
        'a Redis hit after recovery',
      );
    } finally {
      await running.close();
      await privateRedis.stop();
    }
  });
});
