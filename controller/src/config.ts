import { hostname } from 'node:os';
import { z } from 'zod';
import {
  ConfigError,
  integerVariable as int,
  LOG_LEVELS,
  parseEnvironment,
  readSecretFile,
} from '@concert-booking/lib';

export { ConfigError };

/**
 * Every environment variable the controller reads, parsed once; a bad value stops it with the variable's name.
 * MODE=kubernetes (the cluster) watches AlertScalers in NAMESPACE and scales through /scale; MODE=local (the
 * incident drill on one machine) reads AlertScalers from ALERTSCALERS_FILE and resizes the booking service's
 * worker pool through its admin port.
 */
const schema = z.object({
  MODE: z.enum(['kubernetes', 'local']).default('kubernetes'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(8080),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** File with the bearer token Alertmanager sends (its webhook `credentials_file`). */
  WEBHOOK_TOKEN_FILE: z.string().min(1),
  WEBHOOK_BODY_LIMIT_BYTES: int(1024, 16 * 1024 * 1024).default(1024 * 1024),
  /** Every AlertScaler is reconciled at least this often (cooldowns also schedule their own re-checks). */
  RESYNC_INTERVAL_SECONDS: int(1, 3600).default(30),
  /** Unset: no resync from Alertmanager's API (only webhooks). */
  ALERTMANAGER_URL: z.url({ protocol: /^https?$/ }).optional(),
  ALERTMANAGER_RESYNC_INTERVAL_SECONDS: int(5, 3600).default(60),
  /**
   * Where OnSales read the waiting room's numbers (admitted, rate, waiting). Unset: the phases follow the
   * clock, the numbers stay empty, and a closed sale stays Draining (its queue is not known to be empty).
   */
  PROMETHEUS_URL: z.url({ protocol: /^https?$/ }).optional(),
  /**
   * The booking service's admin port, where OnSales publish their schedule (PUT /queue/sale: the pre-queue
   * and the warm-up), with the bearer token in BOOKING_ADMIN_TOKEN_FILE. Unset: no sale is published, and
   * the waiting room keeps arrival order.
   */
  BOOKING_ADMIN_URL: z.url({ protocol: /^https?$/ }).optional(),
  BOOKING_ADMIN_TOKEN_FILE: z.string().min(1).optional(),

  /** Unset: in-cluster service-account credentials. */
  KUBECONFIG: z.string().min(1).optional(),
  /** The namespace watched (AlertScalers, targets, the Lease); from the downward API in the cluster. */
  NAMESPACE: z.string().min(1).optional(),
  /** This replica's identity in the Lease (the pod name in the cluster). */
  POD_NAME: z.string().min(1).default(hostname()),
  LEASE_NAME: z.string().min(1).default('alertscaler-leader'),
  LEASE_DURATION_SECONDS: int(1, 600).default(15),
  LEASE_RENEW_DEADLINE_MS: int(100, 600_000).default(10_000),
  LEASE_RETRY_PERIOD_MS: int(50, 60_000).default(2_000),

  /** MODE=local: a YAML/JSON file with AlertScaler objects (a list, or one object). */
  ALERTSCALERS_FILE: z.string().min(1).optional(),
  /**
   * MODE=local: OnSale objects (like ALERTSCALERS_FILE), run as in the cluster: phases, the floor, the sale
   * published to WORKERS_ADMIN_URL. Unset: no OnSale pass.
   */
  ONSALES_FILE: z.string().min(1).optional(),
  /** MODE=local: the booking service's admin server (service/src/cluster/admin-server.ts). */
  WORKERS_ADMIN_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:9464'),
  WORKERS_ADMIN_TOKEN_FILE: z.string().min(1).optional(),
});

type Raw = z.infer<typeof schema>;

export type ControllerConfig = Omit<
  Raw,
  'WEBHOOK_TOKEN_FILE' | 'WORKERS_ADMIN_TOKEN_FILE' | 'BOOKING_ADMIN_TOKEN_FILE'
> & {
  WEBHOOK_TOKEN: string;
  WORKERS_ADMIN_TOKEN: string | undefined;
  BOOKING_ADMIN_TOKEN: string | undefined;
};

export function loadControllerConfig(env: NodeJS.ProcessEnv = process.env): ControllerConfig {
  const raw = parseEnvironment(schema, env);
  if (raw.MODE === 'kubernetes' && !raw.NAMESPACE)
    throw new ConfigError('NAMESPACE', 'required when MODE=kubernetes');
  if (raw.MODE === 'local' && !raw.ALERTSCALERS_FILE)
    throw new ConfigError('ALERTSCALERS_FILE', 'required when MODE=local');
  if (raw.MODE === 'local' && !raw.WORKERS_ADMIN_TOKEN_FILE) {
    throw new ConfigError('WORKERS_ADMIN_TOKEN_FILE', 'required when MODE=local');
  }
  if (raw.LEASE_RENEW_DEADLINE_MS >= raw.LEASE_DURATION_SECONDS * 1000) {
    throw new ConfigError('LEASE_RENEW_DEADLINE_MS', 'must be shorter than LEASE_DURATION_SECONDS');
  }
  if (raw.BOOKING_ADMIN_URL && !raw.BOOKING_ADMIN_TOKEN_FILE) {
    throw new ConfigError('BOOKING_ADMIN_TOKEN_FILE', 'required with BOOKING_ADMIN_URL');
  }
  const { WEBHOOK_TOKEN_FILE, WORKERS_ADMIN_TOKEN_FILE, BOOKING_ADMIN_TOKEN_FILE, ...rest } = raw;
  return {
    ...rest,
    WEBHOOK_TOKEN: readSecretFile('WEBHOOK_TOKEN_FILE', WEBHOOK_TOKEN_FILE),
    WORKERS_ADMIN_TOKEN: WORKERS_ADMIN_TOKEN_FILE
      ? readSecretFile('WORKERS_ADMIN_TOKEN_FILE', WORKERS_ADMIN_TOKEN_FILE)
      : undefined,
    BOOKING_ADMIN_TOKEN: BOOKING_ADMIN_TOKEN_FILE
      ? readSecretFile('BOOKING_ADMIN_TOKEN_FILE', BOOKING_ADMIN_TOKEN_FILE)
      : undefined,
  };
}
