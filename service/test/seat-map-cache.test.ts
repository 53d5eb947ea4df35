import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { jest } from '@jest/globals';
import { bearer } from '@concert-booking/devkit/identity';
import { Registry } from 'prom-client';
import { createRedis, RedisBus, RedisStore, type Redis } from '../src/cache/redis.js';
import { LocalBus, MemoryStore } from '../src/cache/store.js';
import { SeatMapCache, seatMapKey } from '../src/catalog/seat-map-cache.js';
import { findSeatMap } from '../src/catalog/queries.js';
import { serviceLogger } from '../src/logger.js';
import { createLogger, type Logger } from '@concert-booking/lib';
import { sharedRedisUrl } from '@concert-booking/devkit/databases';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { PrivateRedis } from '@concert-booking/devkit/servers';
import { freePort, waitFor } from '@concert-booking/devkit/wait';
import { startTestService } from './support/service.js';

const logger = serviceLogger('silent');

/** A logger whose lines the test reads; `warnings()`: `{ msg, key, err }` of each line. */
function warningLog(level = 'warn') {
  const lines: Record<string, unknown>[] = [];
  const captured = createLogger(level, {}, { write: (line: string) => lines.push(JSON.parse(line)) });
  return {
    logger: captured,
    lines: () => lines,
    warnings: () => lines.map(({ msg, key, err }) => ({ msg, key, err })),
  };
}
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ concerts: 2, timeslotsPerConcert: 2, seatsPerTimeslot: 40 });
});
afterAll(async () => database?.drop());

/**
 * A cache over the real database and a real Redis, counting the queries it sends to Postgres. The memory
 * layer outlives every test, so only an invalidation (never an expiry) can make a replica read again.
 * `beforeLoadReturns` lets a test act while a query is in flight.
 */
function countingCache(
  redis: Redis,
  prefix = '',
  options: {
    enabled?: boolean;
    memoryTtlMs?: number;
    beforeLoadReturns?: () => Promise<void>;
    logger?: Logger;
  } = {},
) {
  const registry = new Registry();
  const counter = { queries: 0 };
  const bus = new RedisBus(redis, logger);
  const cache = new SeatMapCache({
    enabled: options.enabled ?? true,
    store: new RedisStore(redis),
    bus,
    load: async (timeslotId) => {
      counter.queries++;
      const seatMap = await findSeatMap(database.db, timeslotId);
      await options.beforeLoadReturns?.();
      return seatMap && Buffer.from(JSON.stringify({ ...seatMap, prefix }));
    },
    ttlSeconds: 60,
    memoryTtlMs: options.memoryTtlMs ?? 10 * 60_000,
    registry,
    logger: options.logger ?? logger,
  });
  const enabledGauge = async () =>
    (await registry.getSingleMetric('booking_seatmap_cache_enabled')!.get()).values[0]?.value;
  const degraded = async () =>
    (await registry.getSingleMetric('booking_seatmap_degraded_total')!.get()).values[0]?.value ?? 0;
  const metric = async (layer: string, result: string) => {
    const values = (await registry.getSingleMetric('booking_seatmap_cache_requests_total')!.get()).values;
    return values.find((v) => v.labels.layer === layer && v.labels.result === result)?.value ?? 0;
  };
  opened.push(async () => {
    cache.close();
    await bus.close();
  });
  return { cache, counter, metric, degraded, enabledGauge };
}

/** Closed after each test, passed or failed: a failed test leaves no subscriber behind. */
const opened: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of opened.splice(0)) await close();
});

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
    const { cache, counter, metric } = countingCache(redis);
    const first = await cache.get(1);
    expect(counter.queries).toBe(1);
    expect(await metric('memory', 'miss')).toBe(1);
    expect(await metric('redis', 'miss')).toBe(1);
    expect(await metric('redis', 'hit')).toBe(0);
    expect(await redis.ttl(seatMapKey(1))).toBeGreaterThan(50); // ttlSeconds: 60
    const stored = await redis.getBuffer(seatMapKey(1));
    expect(stored?.equals(first!.identity.body)).toBe(true);
    // The fill made the compressed codings once, with it: each decompresses to the stored bytes.
    expect(gunzipSync(first!.gzip!.body)).toEqual(stored);
    expect(brotliDecompressSync(first!.br!.body)).toEqual(stored);
    const second = await cache.get(1);
    expect(second!.identity.etag).toBe(first!.identity.etag);
    expect(counter.queries).toBe(1);
    expect(await metric('memory', 'hit')).toBe(1);
  });

  test("the Redis key is the incident document's @Cacheable key", async () => {
    const { cache } = countingCache(redis);
    await cache.get(1);
    expect(await redis.exists('concert:timeslot:seat:1')).toBe(1);
  });

  test('switched off at run time: every read goes to Postgres, the gauge says 0; switched on, caching resumes', async () => {
    const log = warningLog('info');
    const { cache, counter, enabledGauge } = countingCache(redis, '', { logger: log.logger });
    await cache.get(2);
    expect([cache.enabled, await enabledGauge()]).toEqual([true, 1]);
    cache.setEnabled(false);
    expect([cache.enabled, await enabledGauge()]).toEqual([false, 0]);
    await cache.get(2);
    await cache.get(2);
    expect(counter.queries).toBe(3);
    cache.setEnabled(false); // no change: not logged again
    cache.setEnabled(true);
    expect([cache.enabled, await enabledGauge()]).toEqual([true, 1]);
    // The memory copy was dropped when it went off; Redis still has the seat map.
    await cache.get(2);
    await cache.get(2);
    expect(counter.queries).toBe(3);
    expect(log.lines().map(({ msg, enabled }) => ({ msg, enabled }))).toEqual([
      { msg: 'seat-map cache switched', enabled: false },
      { msg: 'seat-map cache switched', enabled: true },
    ]);
  });

  test('a value written back after an invalidation (a racing fill) is removed by the second delete', async () => {
    const { cache } = countingCache(redis);
    await cache.invalidate(3);
    await redis.set(seatMapKey(3), 'stale');
    // Half a second after the invalidation; waited for, so a busy machine only makes it slower.
    await waitFor(async () => (await redis.exists(seatMapKey(3))) === 0, 10_000, 'the second delete');
  });

  test('a second replica is served from Redis without querying Postgres', async () => {
    const a = countingCache(redis);
    const b = countingCache(redis);
    await a.cache.get(2);
    const fromRedis = await b.cache.get(2);
    expect(b.counter.queries).toBe(0);
    expect(await b.metric('redis', 'hit')).toBe(1);
    expect(JSON.parse(fromRedis!.identity.body.toString()).timeslotId).toBe(2);
  });

  test('100 concurrent misses send one query (single flight)', async () => {
    const { cache, counter } = countingCache(redis);
    const results = await Promise.all(Array.from({ length: 100 }, () => cache.get(3)));
    expect(counter.queries).toBe(1);
    expect(new Set(results.map((r) => r!.identity.etag)).size).toBe(1);
  });

  test('an invalidation on one replica clears Redis and every replica’s memory layer', async () => {
    const a = countingCache(redis, 'a');
    const b = countingCache(redis, 'b');
    await a.cache.get(1);
    await b.cache.get(1); // b: Redis hit, now in b's memory
    expect(b.counter.queries).toBe(0);
    await database.db('seats').where({ timeslot_id: 1, number: 7 }).update({ status: 'SOLD' });
    await a.cache.invalidate(1);
    expect(await redis.exists(seatMapKey(1))).toBe(0);
    // b hears the invalidation over pub/sub (its memory copy would live for minutes) and reads Postgres once.
    const seatSeven = async () =>
      JSON.parse((await b.cache.get(1))!.identity.body.toString()).seats.find(
        (s: { number: number }) => s.number === 7,
      ).status as string;
    await waitFor(async () => (await seatSeven()) === 'SOLD', 5_000, 'replica b to see the sold seat');
    expect(b.counter.queries).toBe(1);
    expect(await seatSeven()).toBe('SOLD');
    expect(b.counter.queries).toBe(1);
  });

  test('a fill that raced an invalidation writes neither Redis nor memory', async () => {
    let invalidateDuringLoad = true;
    const racing = countingCache(redis, 'racing', {
      beforeLoadReturns: async () => {
        if (!invalidateDuringLoad) return;
        invalidateDuringLoad = false;
        await racing.cache.invalidate(2); // a seat changed while the query ran: its result may be stale
      },
    });
    expect(await racing.cache.get(2)).not.toBeNull();
    // Same connection, so this runs after any write the fill sent.
    expect(await redis.exists(seatMapKey(2))).toBe(0);
    await racing.cache.get(2);
    expect(racing.counter.queries).toBe(2);
    expect(await redis.exists(seatMapKey(2))).toBe(1);
    await racing.cache.get(2);
    expect(racing.counter.queries).toBe(2);
  });

  test('an invalidation of one timeslot leaves the others cached', async () => {
    const { cache, counter } = countingCache(redis);
    await cache.get(1);
    await cache.get(2);
    await cache.invalidate(1);
    await cache.get(2);
    expect(counter.queries).toBe(2);
    await cache.get(1);
    expect(counter.queries).toBe(3);
  });

  test('disabled, every read goes to Postgres and nothing is stored (the incident)', async () => {
    const { cache, counter, metric } = countingCache(redis, '', { enabled: false });
    const first = await cache.get(3);
    const second = await cache.get(3);
    expect(counter.queries).toBe(2);
    expect(second!.identity.etag).toBe(first!.identity.etag);
    expect([first!.gzip, first!.br]).toEqual([undefined, undefined]); // compressing every read would only add cost
    expect(await redis.exists(seatMapKey(3))).toBe(0);
    expect(await metric('memory', 'miss')).toBe(0);
    expect(await cache.get(987654)).toBeNull();
  });

  test('the etag is a quoted digest of the body: the same from every layer and with the cache off', async () => {
    const a = countingCache(redis);
    const b = countingCache(redis);
    const off = countingCache(redis, '', { enabled: false });
    const fromPostgres = (await a.cache.get(3))!.identity.etag;
    const fromMemory = (await a.cache.get(3))!.identity.etag;
    const fromRedis = (await b.cache.get(3))!.identity.etag;
    const uncached = (await off.cache.get(3))!.identity.etag;
    expect(a.counter.queries + b.counter.queries).toBe(1);
    expect(fromPostgres).toMatch(/^"[\w-]{27}"$/); // SHA-1, base64url
    expect([fromMemory, fromRedis, uncached]).toEqual([fromPostgres, fromPostgres, fromPostgres]);
    expect((await off.cache.get(2))!.identity.etag).not.toBe(uncached);
  });

  test('without a memory layer every read asks Redis, and no memory lookup is counted', async () => {
    const { cache, counter, metric } = countingCache(redis, '', { memoryTtlMs: 0 });
    await cache.get(3);
    await cache.get(3);
    expect(counter.queries).toBe(1);
    expect([await metric('redis', 'miss'), await metric('redis', 'hit')]).toEqual([1, 1]);
    expect([await metric('memory', 'miss'), await metric('memory', 'hit')]).toEqual([0, 0]);
  });

  test('a refill with the same bytes reuses the compressed codings; new bytes get new ones', async () => {
    const { cache, metric } = countingCache(redis, '', { memoryTtlMs: 0 }); // every read refills from Redis
    const first = await cache.get(1);
    const refilled = await cache.get(1);
    expect(await metric('redis', 'hit')).toBe(1);
    expect(refilled).toBe(first); // not compressed again
    await database.db('seats').where({ timeslot_id: 1, number: 9 }).update({ status: 'SOLD' });
    await cache.invalidate(1);
    const changed = await cache.get(1);
    expect(changed!.gzip!.etag).not.toBe(first!.gzip!.etag);
    expect(JSON.parse(gunzipSync(changed!.gzip!.body).toString()).seats[8].status).toBe('SOLD');
  });

  test('with Redis unreachable: reads come from Postgres (counted as degraded), invalidations do not throw', async () => {
    const dead = createRedis(`redis://127.0.0.1:${await freePort()}`, 200, logger);
    opened.push(async () => dead.disconnect());
    const log = warningLog();
    const { cache, counter, metric, degraded } = countingCache(dead, '', { logger: log.logger });
    const seatMap = await cache.get(2);
    expect(JSON.parse(seatMap!.identity.body.toString()).timeslotId).toBe(2);
    expect([await degraded(), await metric('redis', 'error')]).toEqual([1, 1]);
    await expect(cache.invalidate(2)).resolves.toBeUndefined();
    await cache.get(2);
    expect(counter.queries).toBe(2);
    // Each warning names the key and why (the client's error text).
    const key = seatMapKey(2);
    expect(log.warnings()).toEqual([
      { msg: 'seat-map cache unavailable, reading Postgres', key, err: expect.stringMatching(/.+/) },
      { msg: 'seat-map invalidation failed', key, err: expect.stringMatching(/.+/) },
      { msg: 'seat-map cache unavailable, reading Postgres', key, err: expect.stringMatching(/.+/) },
    ]);
  });

  test('a Redis that refuses the write: served from Postgres, the failed write counted and logged, not degraded', async () => {
    // A real Redis user who may do everything but SET: reads miss, the fill's write is refused (NOPERM).
    const user = `seatmap-no-set-${process.pid}`;
    await redis.call('ACL', 'SETUSER', user, 'reset', 'on', '>secret', '~*', '&*', '+@all', '-set');
    const url = new URL(sharedRedisUrl());
    url.username = user;
    url.password = 'secret';
    const readOnly = createRedis(url.toString(), 1_000, logger);
    opened.push(async () => {
      readOnly.disconnect();
      await redis.call('ACL', 'DELUSER', user);
    });
    await waitFor(async () => (await readOnly.ping()) === 'PONG');
    const log = warningLog();
    const { cache, counter, metric, degraded } = countingCache(readOnly, '', { logger: log.logger });
    expect(JSON.parse((await cache.get(3))!.identity.body.toString()).timeslotId).toBe(3);
    await waitFor(async () => (await metric('redis', 'error')) === 1, 5_000, 'the failed write counted');
    expect([await metric('redis', 'miss'), await degraded(), counter.queries]).toEqual([1, 0, 1]);
    expect(await redis.exists(seatMapKey(3))).toBe(0);
    expect(log.warnings()).toEqual([
      { msg: 'seat-map cache write failed', key: seatMapKey(3), err: expect.stringContaining('NOPERM') },
    ]);
  });

  test('an unknown timeslot is null and not cached', async () => {
    const { cache, counter } = countingCache(redis);
    expect(await cache.get(987654)).toBeNull();
    expect(await cache.get(987654)).toBeNull();
    expect(counter.queries).toBe(2);
  });
});

describe('seat-map cache of the embedded mode (in-process store and bus) over real Postgres', () => {
  function localCache(beforeLoadReturns?: () => Promise<void>) {
    const counter = { queries: 0 };
    const store = new MemoryStore();
    const cache = new SeatMapCache({
      enabled: true,
      store,
      bus: new LocalBus(),
      load: async (timeslotId) => {
        counter.queries++;
        const seatMap = await findSeatMap(database.db, timeslotId);
        await beforeLoadReturns?.();
        return seatMap && Buffer.from(JSON.stringify(seatMap));
      },
      ttlSeconds: 60,
      memoryTtlMs: 10 * 60_000,
      registry: new Registry(),
      logger,
    });
    opened.push(async () => cache.close());
    return { cache, counter, store };
  }

  test('a fill that raced an invalidation keeps nothing in memory or in the store', async () => {
    let invalidateDuringLoad = true;
    const { cache, counter, store } = localCache(async () => {
      if (!invalidateDuringLoad) return;
      invalidateDuringLoad = false;
      await cache.invalidate(1);
    });
    await cache.get(1);
    expect(await store.get(seatMapKey(1))).toBeNull();
    await cache.get(1);
    expect(counter.queries).toBe(2);
    expect(await store.get(seatMapKey(1))).not.toBeNull();
    await cache.get(1);
    expect(counter.queries).toBe(2);
  });

  test('an invalidation empties both layers: the next read goes to Postgres', async () => {
    const { cache, counter, store } = localCache();
    await cache.get(2);
    await cache.invalidate(2);
    expect(await store.get(seatMapKey(2))).toBeNull();
    await cache.get(2);
    expect(counter.queries).toBe(2);
  });
});

describe('the second delete, on a fake clock (in-process store and bus: nothing waits on real time)', () => {
  const key = seatMapKey(4);
  /** Only Date and the timers are faked; promises and I/O run as they do. */
  function cacheOnFakeClock() {
    jest.useFakeTimers({
      doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate', 'hrtime', 'performance'],
    });
    const store = new MemoryStore();
    const cache = new SeatMapCache({
      enabled: true,
      store,
      bus: new LocalBus(),
      load: async () => Buffer.from('{}'),
      ttlSeconds: 60,
      memoryTtlMs: 10 * 60_000,
      registry: new Registry(),
      logger,
    });
    opened.push(async () => {
      cache.close();
      jest.useRealTimers();
    });
    return {
      cache,
      /** What a fill that raced the invalidation writes back. */
      writeBack: () => store.set(key, Buffer.from('stale'), 60),
      stored: async () => (await store.get(key)) !== null,
      advance: (ms: number) => jest.advanceTimersByTimeAsync(ms),
    };
  }

  test('one timer, which fires 500 ms after the invalidation and deletes (no polling before)', async () => {
    const { cache, writeBack, stored } = cacheOnFakeClock();
    const start = Date.now();
    await cache.invalidate(4);
    await writeBack();
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersToNextTimerAsync();
    expect(Date.now() - start).toBe(500);
    expect(await stored()).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('an invalidation while it is pending moves it to 500 ms after that invalidation', async () => {
    const { cache, writeBack, stored, advance } = cacheOnFakeClock();
    await cache.invalidate(4);
    await advance(400);
    await cache.invalidate(4);
    expect(jest.getTimerCount()).toBe(1); // one per key, not one per invalidation
    await advance(200); // past the first invalidation's 500 ms
    await writeBack();
    await advance(299);
    expect(await stored()).toBe(true);
    await advance(1);
    expect(await stored()).toBe(false);
  });

  test('closing the cache cancels it', async () => {
    const { cache, writeBack, stored, advance } = cacheOnFakeClock();
    await cache.invalidate(4);
    cache.close();
    await writeBack();
    await advance(1_000);
    expect(await stored()).toBe(true);
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
      const metrics = await (await fetch(`${running.adminUrl}/metrics`)).text();
      expect(Number(/^booking_seatmap_degraded_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(5);
      expect(
        Number(
          /^booking_seatmap_cache_requests_total\{layer="redis",result="error"\} (\d+)/m.exec(metrics)?.[1],
        ),
      ).toBeGreaterThanOrEqual(5);
      // The waiting room has no fallback: it says it is unavailable instead of admitting anyone.
      const queue = await fetch(`${running.url}/v1/queue/tokens`, {
        method: 'POST',
        headers: await bearer(1),
      });
      expect(queue.status).toBe(503);
      expect(queue.headers.get('content-type')).toBe('application/problem+json');
      expect(await queue.json()).toMatchObject({ type: '/problems/queue-unavailable' });
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
      const statuses: number[] = [];
      await waitFor(
        async () => {
          statuses.push((await seats()).status);
          const text = await (await fetch(`${running.adminUrl}/metrics`)).text();
          return /booking_seatmap_cache_requests_total\{layer="redis",result="hit"\} [1-9]/.test(text);
        },
        10_000,
        'a Redis hit after recovery',
      );
      expect(new Set(statuses)).toEqual(new Set([200]));
    } finally {
      await running.close();
      await privateRedis.stop();
    }
  });
});
