import { Registry } from 'prom-client';
import { Coalescer } from '../src/cache/single-flight.js';
import { createRedis, RedisBus, RedisStore, type Redis } from '../src/cache/redis.js';
import { SeatMapCache, seatMapKey } from '../src/catalog/seat-map-cache.js';
import { serviceLogger } from '../src/logger.js';
import { sharedRedisUrl } from '@concert-booking/devkit/databases';
import { waitFor } from '@concert-booking/devkit/wait';

/** A promise with its resolve and reject, to end a run when the test says so. */
function gate() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Work whose runs the test ends one by one; `log` records calls and run starts in order. */
function steppedWork() {
  const log: string[] = [];
  const runs: ReturnType<typeof gate>[] = [];
  const work = () => {
    log.push(`run ${runs.length + 1}`);
    const run = gate();
    runs.push(run);
    return run.promise;
  };
  return { log, runs, work };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('Coalescer', () => {
  test('a call with nothing running starts the work at once', async () => {
    const { log, runs, work } = steppedWork();
    const done = new Coalescer().run('k', work);
    expect(log).toEqual(['run 1']);
    runs[0]!.resolve();
    await expect(done).resolves.toBeUndefined();
  });

  test('calls during a run share one next run, which starts after the current one ends', async () => {
    const { log, runs, work } = steppedWork();
    const coalescer = new Coalescer();
    const ended: number[] = [];
    const first = coalescer.run('k', work).then(() => ended.push(1));
    const later = Array.from({ length: 10 }, (_, i) =>
      coalescer.run('k', work).then(() => ended.push(i + 2)),
    );
    await settled();
    expect(log).toEqual(['run 1']);
    runs[0]!.resolve();
    await first;
    await settled();
    // The ten callers came during run 1, so run 1 does not answer them: run 2, started after them, does.
    expect(log).toEqual(['run 1', 'run 2']);
    expect(ended).toEqual([1]);
    runs[1]!.resolve();
    await Promise.all(later);
    expect(ended).toHaveLength(11);
    expect(log).toEqual(['run 1', 'run 2']);
  });

  test('a call after every run ended starts a new run', async () => {
    const { log, runs, work } = steppedWork();
    const coalescer = new Coalescer();
    const first = coalescer.run('k', work);
    runs[0]!.resolve();
    await first;
    const second = coalescer.run('k', work);
    expect(log).toEqual(['run 1', 'run 2']);
    runs[1]!.resolve();
    await second;
  });

  test('keys do not wait for each other', () => {
    const { log, work } = steppedWork();
    const coalescer = new Coalescer();
    void coalescer.run('a', work);
    void coalescer.run('b', work);
    expect(log).toEqual(['run 1', 'run 2']);
  });

  test('a failed run rejects its own callers and the queued run still runs', async () => {
    const { log, runs, work } = steppedWork();
    const coalescer = new Coalescer();
    const failing = coalescer.run('k', work);
    const queued = coalescer.run('k', work);
    runs[0]!.reject(new Error('redis down'));
    await expect(failing).rejects.toThrow('redis down');
    await settled();
    expect(log).toEqual(['run 1', 'run 2']);
    runs[1]!.resolve();
    await expect(queued).resolves.toBeUndefined();
  });
});

describe('seat-map invalidation against real Redis', () => {
  const logger = serviceLogger('silent');
  let redis: Redis;
  beforeAll(async () => {
    redis = createRedis(sharedRedisUrl(), 1_000, logger);
    await waitFor(async () => (await redis.ping()) === 'PONG');
  });
  afterAll(() => redis.disconnect());

  /** The real Redis store, counting the deletes it sends. */
  function cacheCountingDeletes() {
    const store = new RedisStore(redis);
    const deletes = { count: 0 };
    const counting = Object.assign(Object.create(store) as RedisStore, {
      del: (key: string) => {
        deletes.count++;
        return store.del(key);
      },
    });
    const bus = new RedisBus(redis, logger);
    const cache = new SeatMapCache({
      enabled: true,
      store: counting,
      bus,
      load: async () => Buffer.from('{}'),
      ttlSeconds: 60,
      memoryTtlMs: 5_000,
      registry: new Registry(),
      logger,
    });
    const close = async () => {
      cache.close();
      await bus.close();
    };
    return { cache, deletes, close };
  }

  test('a burst of invalidations of one timeslot costs far fewer deletes than calls, and clears Redis', async () => {
    const timeslotId = 900_001;
    const { cache, deletes, close } = cacheCountingDeletes();
    await redis.set(seatMapKey(timeslotId), 'stale');
    await Promise.all(Array.from({ length: 200 }, () => cache.invalidate(timeslotId)));
    expect(await redis.exists(seatMapKey(timeslotId))).toBe(0);
    expect(deletes.count).toBeGreaterThanOrEqual(1);
    expect(deletes.count).toBeLessThanOrEqual(2);
    await close();
  });

  test('a value written back after the burst (a fill that raced it) is removed by the late second delete', async () => {
    const timeslotId = 900_002;
    const { cache, close } = cacheCountingDeletes();
    await Promise.all(Array.from({ length: 20 }, () => cache.invalidate(timeslotId)));
    await redis.set(seatMapKey(timeslotId), 'written back by a racing fill');
    await waitFor(async () => (await redis.exists(seatMapKey(timeslotId))) === 0, 5_000, 'the second delete');
    await close();
  });
});
