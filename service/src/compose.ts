import type Koa from 'koa';
import { createRegistry } from './http/metrics.js';
import type { Config } from './config.js';
import type { Logger } from '@concert-booking/lib';
import { createAdminApp, createApp } from './app.js';
import { createDatabase, registerPoolMetrics, type Knex } from './db/knex.js';
import { LocalBus, MemoryStore, type CacheStore, type InvalidationBus } from './cache/store.js';
import { RedisBus, RedisStore, createRedis, type Redis } from './cache/redis.js';
import { SeatMapCache } from './catalog/seat-map-cache.js';
import { findSeatMap } from './catalog/queries.js';
import { catalogRoutes } from './catalog/routes.js';
import { diagnosticsRoutes } from './diagnostics/routes.js';
import { createReadiness } from './health/readiness.js';
import type { Lifecycle } from './health/routes.js';
import type { Registry } from 'prom-client';
import { MemoryQueueStore } from './queue/store.js';
import { RedisQueueStore } from './queue/redis-store.js';
import { WaitingRoom } from './queue/waiting-room.js';
import { CapacityRate, fixedRate, type AdmissionRate } from './queue/adaptive-rate.js';
import { prometheusSignals } from './queue/admission-signals.js';
import { queueRoutes } from './queue/routes.js';
import { saleRoutes } from './queue/sale-routes.js';
import { SaleWarmUp } from './queue/sale-warm-up.js';
import { holdCounter, lapsedHoldsTask, reservationRoutes } from './reservations/routes.js';
import { Sweeper } from './reservations/sweeper.js';
import { invariantsTask } from './reservations/invariants.js';
import { walletRoutes } from './wallet/routes.js';
import { paymentRoutes } from './payments/routes.js';
import { purgeExpiredKeys } from './payments/idempotency.js';
import { experimentRoutes } from './experiments/routes.js';
import { createAuthenticator } from './auth/authenticate.js';
import { RateLimits } from './http/rate-limits.js';

export interface Service {
  app: Koa;
  /** /metrics and the diagnostics, for ADMIN_PORT (main.ts; the cluster mode's primary serves its own). */
  adminApp: Koa;
  db: Knex;
  redis: Redis | undefined;
  registry: Registry;
  lifecycle: Lifecycle;
  seatMaps: SeatMapCache;
  /** The waiting room, the sale warm-up and the sweeper run on timers from here until close(). */
  room: WaitingRoom;
  warmUp: SaleWarmUp;
  sweeper: Sweeper;
  /** Stops background work and closes every client. */
  close(): Promise<void>;
}

/**
 * Builds every client once and wires the app from them. main.ts and the tests both start
 * here, so what is tested is what runs. `config.DATABASE_URL` must be resolved and migrated
 * by now (db/prepare.ts).
 */
export async function composeService(config: Config, logger: Logger): Promise<Service> {
  if (!config.DATABASE_URL)
    throw new Error('composeService needs DATABASE_URL (main starts the embedded one)');
  const registry = createRegistry();
  const db = createDatabase({
    url: config.DATABASE_URL,
    poolMin: config.DB_POOL_MIN,
    poolMax: config.DB_POOL_MAX,
    acquireTimeoutMs: config.DB_ACQUIRE_TIMEOUT_MS,
    statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
  });
  registerPoolMetrics(db, registry);

  const redis = config.REDIS_URL
    ? createRedis(config.REDIS_URL, config.REDIS_COMMAND_TIMEOUT_MS, logger)
    : undefined;
  const store: CacheStore = redis ? new RedisStore(redis) : new MemoryStore();
  const bus: InvalidationBus = redis ? new RedisBus(redis, logger) : new LocalBus();
  logger.info(
    { database: redactUrl(config.DATABASE_URL), cache: redis ? redactUrl(config.REDIS_URL!) : 'in-process' },
    redis ? 'using Redis for cache and waiting room' : 'no REDIS_URL: in-process cache and waiting room',
  );

  const seatMaps = new SeatMapCache({
    enabled: config.SEATMAP_CACHE_ENABLED,
    store,
    bus,
    load: async (timeslotId) => {
      const seatMap = await findSeatMap(db, timeslotId);
      return seatMap && Buffer.from(JSON.stringify(seatMap));
    },
    ttlSeconds: config.SEATMAP_CACHE_TTL_SECONDS,
    memoryTtlMs: config.SEATMAP_MEMORY_TTL_MS,
    registry,
    logger,
  });

  if (!config.QUEUE_TOKEN_SECRET)
    throw new Error('composeService needs QUEUE_TOKEN_SECRET (main resolves one)');
  const capacityRate =
    config.QUEUE_ADMISSION === 'capacity' ? capacityAdmission(config, registry, logger) : undefined;
  const rate: AdmissionRate = capacityRate ?? fixedRate(config.QUEUE_ADMIT_PER_INTERVAL, registry);
  const queueStore = redis ? new RedisQueueStore(redis) : new MemoryQueueStore();
  const room = new WaitingRoom({
    store: queueStore,
    secret: config.QUEUE_TOKEN_SECRET,
    policy: {
      perInterval: config.QUEUE_ADMIT_PER_INTERVAL,
      intervalMs: config.QUEUE_ADMIT_INTERVAL_MS,
      maxActive: config.QUEUE_MAX_ACTIVE,
    },
    rate,
    activeTtlMs: config.QUEUE_ACTIVE_TTL_SECONDS * 1000,
    registry,
    logger,
  });
  const warmUp = new SaleWarmUp({
    store: queueStore,
    seatMaps,
    leadMs: config.SALE_WARM_UP_SECONDS * 1000,
    intervalMs: config.QUEUE_ADMIT_INTERVAL_MS,
    logger,
  });
  const holds = holdCounter(registry);
  const authenticator = createAuthenticator(config, logger);
  const limits = new RateLimits(redis, {
    userPerMinute: config.RATE_LIMIT_USER_PER_MINUTE,
    ipPerMinute: config.RATE_LIMIT_IP_PER_MINUTE,
  });
  const sweeper = new Sweeper(
    [
      lapsedHoldsTask(db, seatMaps, holds),
      { name: 'idempotency-keys', run: (batch) => purgeExpiredKeys(db, batch) },
      invariantsTask(db, registry),
    ],
    { intervalMs: config.SWEEP_INTERVAL_MS, batchSize: config.SWEEP_BATCH_SIZE, logger },
  );
  const idempotencyTtlSeconds = config.IDEMPOTENCY_TTL_SECONDS;
  const bookingRoutes = [
    ...queueRoutes(room),
    ...reservationRoutes({
      db,
      room,
      seatMaps,
      holds,
      holdTtlSeconds: config.HOLD_TTL_SECONDS,
      maxLiveHoldsPerUser: config.HOLD_MAX_PER_USER,
    }),
    ...walletRoutes({
      db,
      idempotencyTtlSeconds,
      registry,
      maxTopUp: config.TOPUP_MAX_AMOUNT,
      dailyMaxTopUp: config.TOPUP_DAILY_MAX,
    }),
    ...paymentRoutes({ db, room, seatMaps, idempotencyTtlSeconds, registry }),
    ...(config.EXPERIMENTS_ENABLED ? experimentRoutes(db, redis) : []),
  ];

  const lifecycle: Lifecycle = { draining: false };
  const appDependencies = {
    logger,
    registry,
    readiness: createReadiness(db, redis, registry),
    lifecycle,
    routes: [
      ...catalogRoutes(db, seatMaps, {
        seatMapStaleWhileRevalidateSeconds: config.SEATMAP_STALE_WHILE_REVALIDATE_SECONDS,
      }),
      ...bookingRoutes,
    ],
    adminRoutes: [...diagnosticsRoutes(config.ADMIN_TOKEN), ...saleRoutes(room, config.ADMIN_TOKEN)],
    bodyLimit: config.BODY_LIMIT_BYTES,
    authenticator,
    limits,
    version: process.env.npm_package_version ?? '0.0.0',
  };
  const app = createApp(appDependencies);
  const adminApp = createAdminApp(appDependencies);

  capacityRate?.start();
  room.start();
  warmUp.start();
  sweeper.start();
  return {
    app,
    adminApp,
    db,
    redis,
    registry,
    lifecycle,
    seatMaps,
    room,
    warmUp,
    sweeper,
    async close() {
      capacityRate?.stop();
      room.stop();
      warmUp.stop();
      await sweeper.stop();
      seatMaps.close();
      await bus.close();
      redis?.disconnect();
      await db.destroy();
    },
  };
}

/** QUEUE_ADMISSION=capacity: the rate from Prometheus' recordings (docs/onsale.md). */
function capacityAdmission(config: Config, registry: Registry, logger: Logger): CapacityRate {
  return new CapacityRate({
    policy: {
      perReplica: config.QUEUE_ADMIT_PER_REPLICA,
      min: config.QUEUE_ADMIT_MIN_PER_INTERVAL,
      max: config.QUEUE_ADMIT_MAX_PER_INTERVAL,
      p90BudgetSeconds: config.QUEUE_ADMISSION_P90_BUDGET_SECONDS,
      // Halving, as TCP's congestion control does: a queue of latency drains in a few updates.
      decreaseFactor: 0.5,
      increaseStep: config.QUEUE_ADMIT_INCREASE_STEP,
    },
    read: prometheusSignals({
      url: config.QUEUE_ADMISSION_PROMETHEUS_URL!,
      namespace: config.QUEUE_ADMISSION_NAMESPACE,
      // Within one update, so a hung Prometheus never stacks reads.
      timeoutMs: Math.min(2_000, config.QUEUE_ADMISSION_UPDATE_MS),
    }),
    updateMs: config.QUEUE_ADMISSION_UPDATE_MS,
    registry,
    logger,
  });
}

function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}
