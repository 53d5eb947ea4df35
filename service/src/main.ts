/**
 * The booking service's composition root: config -> database (embedded when none is
 * configured) -> clients and app (compose.ts) -> listen -> drain on SIGTERM.
 * With WORKERS=N the process becomes a node:cluster primary that runs N such workers.
 */
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { Registry } from 'prom-client';
import { ConfigError, loadConfig, type Config } from './config.js';
import type { Logger } from '@concert-booking/lib';
import { serviceLogger } from './logger.js';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.js';
import { prepareDatabase } from './db/prepare.js';
import { composeService } from './compose.js';
import { boundPort, drain, listen } from './server.js';
import { WorkerPool, type SettingsMessage } from './cluster/worker-pool.js';
import { CpuLimiter, CpuLimitError } from './cluster/cpu-limit.js';
import { createAdminServer } from './cluster/admin-server.js';
import { createRedis } from './cache/redis.js';
import { RedisQueueStore } from './queue/redis-store.js';
import { answerMetricRequests, sendFinalMetrics } from './cluster/metrics.js';

/** A bad configuration stops start-up with one line naming the variable, and EX_CONFIG. */
function exitOnConfigError<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

/** Resolves DATABASE_URL, starting the embedded PostgreSQL when none is configured. */
async function resolveDatabase(
  config: Config,
  logger: Logger,
): Promise<{ url: string; embedded?: EmbeddedDatabase }> {
  if (config.DATABASE_URL) return { url: config.DATABASE_URL };
  logger.info('no DATABASE_URL: starting the embedded PostgreSQL (set DATABASE_URL to use your own)');
  const embedded = await startEmbeddedPostgres(config.EMBEDDED_PG_DIR, config.EMBEDDED_PG_PORT, logger);
  return { url: embedded.url, embedded };
}

function queueSecret(config: Config, logger: Logger): string {
  if (config.QUEUE_TOKEN_SECRET) return config.QUEUE_TOKEN_SECRET;
  logger.warn('no QUEUE_TOKEN_SECRET: using a random one, so waiting-room tokens end with this process');
  return randomBytes(32).toString('hex');
}

async function runServer(config: Config, logger: Logger, onStopped: () => Promise<void>): Promise<void> {
  // A worker answers the primary's metric requests from the start (empty until it serves).
  let serving: Registry | undefined;
  if (cluster.isWorker) answerMetricRequests(() => serving);
  // Listen for stop requests first: a worker retired while still starting must not hang its primary.
  let stop = async (reason: string) => {
    logger.info({ reason }, 'stopped before serving');
    await onStopped();
    process.exit(0);
  };
  let stopping = false;
  const requestStop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    void stop(reason);
  };
  process.on('SIGTERM', () => requestStop('SIGTERM'));
  process.on('SIGINT', () => requestStop('SIGINT'));
  let settings: SettingsMessage | undefined;
  process.on('message', (message: { type?: string } | SettingsMessage) => {
    if (message?.type === 'shutdown') requestStop('retired');
    if (message?.type === 'settings') settings = message as SettingsMessage;
  });

  const service = await composeService(config, logger);
  serving = service.registry;
  const apply = (message: SettingsMessage) => service.seatMaps.setEnabled(message.seatMapCache);
  if (settings) apply(settings);
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'settings') apply(message as SettingsMessage);
  });
  const server = await listen(service.app, config.HOST, config.PORT, config.HTTP_MAX_REQUESTS_PER_SOCKET);
  // A worker's primary serves the admin port (summed /metrics); a single process serves its own.
  const admin = cluster.isWorker ? undefined : await listen(service.adminApp, config.HOST, config.ADMIN_PORT);
  logger.info(
    {
      url: `http://${config.HOST}:${boundPort(server)}`,
      ...(admin ? { admin: `http://${config.HOST}:${boundPort(admin)}` } : {}),
    },
    'booking service listening',
  );
  stop = async (reason: string) => {
    logger.info({ reason, deadlineMs: config.SHUTDOWN_TIMEOUT_MS }, 'draining');
    const clean = await drain(server, service.lifecycle, config.SHUTDOWN_TIMEOUT_MS, logger);
    admin?.closeAllConnections();
    admin?.close();
    if (cluster.isWorker) {
      // From now on the primary keeps this worker's counts itself (cluster/metrics.ts).
      await sendFinalMetrics(service.registry);
      serving = undefined;
    }
    await service.close();
    await onStopped();
    logger.info({ clean }, 'stopped');
    process.exit(clean ? 0 : 1);
  };
}

async function runSingle(config: Config, logger: Logger): Promise<void> {
  const database = await resolveDatabase(config, logger);
  await prepareDatabase(config, database.url, logger);
  const resolved = { ...config, DATABASE_URL: database.url, QUEUE_TOKEN_SECRET: queueSecret(config, logger) };
  await runServer(resolved, logger, async () => database.embedded?.stop());
}

async function runPrimary(config: Config, logger: Logger): Promise<void> {
  const limit = config.WORKER_CPU_LIMIT;
  const limiter =
    limit === undefined
      ? undefined
      : exitOnConfigError(() => {
          try {
            return CpuLimiter.create(limit, config.CGROUP_ROOT);
          } catch (error) {
            if (!(error instanceof CpuLimitError)) throw error;
            throw new ConfigError('WORKER_CPU_LIMIT', `${error.message}: workers cannot be capped here`);
          }
        });
  const database = await resolveDatabase(config, logger);
  await prepareDatabase(config, database.url, logger);
  // Workers get a resolved, already-migrated configuration.
  const workerEnv = {
    DATABASE_URL: database.url,
    QUEUE_TOKEN_SECRET: queueSecret(config, logger),
    MIGRATE_ON_START: 'false',
    SEED_DEMO_DATA: 'false',
  };
  const pool = new WorkerPool({
    env: workerEnv,
    retireTimeoutMs: config.SHUTDOWN_TIMEOUT_MS + 5_000,
    logger,
    limiter,
    onFatal: (error) => {
      logger.fatal({ err: error }, 'a worker could not be capped: stopping rather than running it uncapped');
      void stop(1);
    },
  });
  const settings = { seatMapCache: config.SEATMAP_CACHE_ENABLED };
  // The primary's own client for the one write it makes to the workers' shared waiting room: a sale.
  const redis = config.REDIS_URL
    ? createRedis(config.REDIS_URL, config.REDIS_COMMAND_TIMEOUT_MS, logger)
    : undefined;
  const queue = redis && new RedisQueueStore(redis);
  const admin = createAdminServer(
    pool,
    settings,
    config.ADMIN_TOKEN,
    logger,
    queue && ((sale) => queue.scheduleSale(sale)),
  );
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    admin.close();
    redis?.disconnect();
    await pool.stop();
    await database.embedded?.stop();
    logger.info('cluster stopped');
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTTIN', () => pool.resize(pool.status().desired + 1));
  process.on('SIGTTOU', () => pool.resize(Math.max(1, pool.status().desired - 1)));

  pool.resize(config.WORKERS);
  await new Promise<void>((resolve) => admin.listen(config.ADMIN_PORT, config.HOST, resolve));
  logger.info(
    {
      workers: config.WORKERS,
      cpuLimit: limit ?? 'none',
      admin: `http://${config.HOST}:${boundPort(admin)}`,
    },
    'cluster primary ready',
  );
}

const config = exitOnConfigError(() => loadConfig());
if (config.WORKERS > 0 && cluster.isPrimary) {
  const logger = serviceLogger(config.LOG_LEVEL, { role: 'primary' });
  await runPrimary(config, logger);
} else {
  const logger = serviceLogger(config.LOG_LEVEL, cluster.isWorker ? { role: 'worker' } : {});
  await (cluster.isWorker ? runServer(config, logger, async () => undefined) : runSingle(config, logger));
}
