// What bundle values are: the schema, the checks across fields, and the fields computed from others.
import { z } from 'zod';
import { alertScalerSpecSchema } from '@concert-booking/controller/api';

/** The Kubernetes minor version the manifests target (API versions, field availability, PSS version). */
export const KUBERNETES_VERSION = '1.33';

const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label (lower case, digits, "-")');
const labelValue = z
  .string()
  .max(63)
  .regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/, 'must be a valid label value');
/** A Kubernetes quantity: 250m, 1, 0.5, 512Mi, 10Gi, ... */
const quantity = z
  .string()
  .regex(
    /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/,
    'must be a Kubernetes quantity such as 250m or 512Mi',
  );
/** registry[:port]/path, lower case (no tag). */
const REPOSITORY = '[a-z0-9.-]+(?::[0-9]+)?(?:/[a-z0-9._-]+)*';
const repository = z
  .string()
  .regex(new RegExp(`^${REPOSITORY}$`), 'must be an image repository without a tag');
const image = z
  .string()
  .regex(new RegExp(`^${REPOSITORY}(?::[\\w][\\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$`), 'must be an image');
const port = z.number().int().min(1).max(65535);
const cidr = z.string().regex(/^[0-9a-fA-F:.]+\/[0-9]{1,3}$/, 'must be a CIDR such as 10.0.0.0/8');
const duration = z.string().regex(/^[0-9]+(ms|s|m|h|d|w|y)$/, 'must be a Prometheus duration such as 15s');

const resources = z.strictObject({
  requests: z.strictObject({ cpu: quantity, memory: quantity }),
  limits: z.strictObject({ cpu: quantity, memory: quantity }),
});

const probe = z.strictObject({
  periodSeconds: z.number().int().min(1),
  failureThreshold: z.number().int().min(1),
  timeoutSeconds: z.number().int().min(1),
});

/** Where the scheduler puts the replicas of a workload that runs several (booking service, controller). */
const scheduling = z.strictObject({
  /**
   * Inter-pod anti-affinity on kubernetes.io/hostname: `preferred` spreads the replicas over nodes when the
   * cluster has them (a one-node cluster still schedules them all), `required` never puts two on one node
   * (a replica stays Pending instead), `none` leaves it to the topology spread alone.
   */
  podAntiAffinity: z.enum(['preferred', 'required', 'none']),
  /** topologySpreadConstraints over the workload's own pods (e.g. topology.kubernetes.io/zone). */
  topologySpread: z.array(
    z.strictObject({
      topologyKey: z.string().min(1),
      maxSkew: z.number().int().min(1),
      whenUnsatisfiable: z.enum(['ScheduleAnyway', 'DoNotSchedule']),
    }),
  ),
});

const valuesSchema = z.strictObject({
  /** Namespace of every namespaced object; created by charts/01-namespace. */
  namespace: dnsLabel,
  /** `app.kubernetes.io/instance` of every object (and part of every selector). */
  instance: labelValue.min(1),
  /** `app.kubernetes.io/part-of`. */
  partOf: labelValue.min(1),
  /** Bundle version: the `app.kubernetes.io/version` of objects that run no image of their own. */
  version: labelValue.min(1),
  /** The image of the booking service (and the migrations init container, and later the controller). */
  image: z.strictObject({
    repository,
    tag: z.string().regex(/^[\w][\w.-]{0,127}$/, 'must be an image tag'),
    pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
    /** Pins the image by content: `sha256:<64 hex>`, appended as `repository:tag@sha256:...` (docs/deploy.md). */
    digest: z
      .string()
      .regex(/^sha256:[a-f0-9]{64}$/, 'must be sha256: and 64 lower-case hex digits')
      .optional(),
  }),
  service: z.strictObject({
    /** The replicas at install; with alertscaler.scaleBookingService, the AlertScaler's minReplicas. */
    replicas: z.number().int().min(1),
    /** Ceiling the autoscaler may scale to; sizes Postgres max_connections. */
    maxReplicas: z.number().int().min(1),
    /** Extra pods during a rolling update (also counted in max_connections). */
    maxSurge: z.number().int().min(0),
    /** PodDisruptionBudget maxUnavailable. */
    pdbMaxUnavailable: z.number().int().min(1),
    resources,
    migrationResources: resources,
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    /** SHUTDOWN_TIMEOUT_MS: the service's drain deadline on SIGTERM. */
    shutdownTimeoutMs: z.number().int().min(0).max(600_000),
    /** preStop sleep, so endpoints drop the pod before SIGTERM starts the drain. */
    preStopSleepSeconds: z.number().int().min(0).max(60),
    /** Computed when unset: preStop sleep + drain deadline + 5 s. Must exceed the first two. */
    terminationGracePeriodSeconds: z.number().int().min(1).optional(),
    /** DB_POOL_MAX per pod. */
    dbPoolMax: z.number().int().min(1).max(1000),
    /** V8 heap ceiling (NODE_OPTIONS --max-old-space-size), below the memory limit. */
    nodeMaxOldSpaceMb: z.number().int().min(64),
    probes: z.strictObject({ startup: probe, liveness: probe, readiness: probe }),
    /** Further environment variables for the service (see service/src/config.ts); must not shadow managed ones. */
    extraEnv: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), z.string()),
    scheduling,
  }),
  /** The AlertScaler controller. */
  alertscaler: z.strictObject({
    /** Any replica accepts webhooks; a Lease makes exactly one of them scale. */
    replicas: z.number().int().min(1),
    /** PodDisruptionBudget maxUnavailable. */
    pdbMaxUnavailable: z.number().int().min(1),
    /**
     * Emit the default AlertScaler of the booking service. Then the Deployment carries no `replicas`, so an
     * apply or a GitOps sync never resets what the controller scaled to (docs/deploy.md).
     */
    scaleBookingService: z.boolean(),
    /**
     * The default AlertScaler's policy where it departs from the controller's cluster defaults
     * (controller/src/api/booking-scaler.ts): scale-up step and cooldown, scale-down window, step and cooldown,
     * and how long scale-ups stay held after the database pool was saturated. Unset: those defaults.
     */
    policy: z
      .strictObject({
        scaleUp: alertScalerSpecSchema.shape.scaleUp,
        scaleDown: alertScalerSpecSchema.shape.scaleDown,
        saturationHoldSeconds: alertScalerSpecSchema.shape.saturation.unwrap().shape.holdSeconds,
      })
      .partial()
      .optional(),
    scheduling,
  }),
  postgres: z.strictObject({
    /**
     * `bundled`: the StatefulSet below (one instance). `external`: a Postgres you run (a managed service);
     * nothing is emitted, the service connects to the `database-url` of Secret booking-db. `cloudnative-pg`:
     * a CloudNativePG Cluster (operator installed by you) of `cloudnativePg.instances`, the service on its
     * read-write Service `postgres-rw`. The fields below but `mode` and `cloudnativePg` apply to bundled.
     */
    mode: z.enum(['bundled', 'external', 'cloudnative-pg']),
    cloudnativePg: z.strictObject({
      instances: z.number().int().min(1).max(9),
      /** Namespace of the CloudNativePG operator, which calls each instance's status port. */
      operatorNamespace: dnsLabel,
    }),
    image,
    storageSize: quantity,
    /** Unset: the cluster's default StorageClass. */
    storageClassName: dnsLabel.optional(),
    resources,
    sharedBuffers: z.string().regex(/^[0-9]+(kB|MB|GB)$/),
    /** Connections kept beyond the service pools: psql sessions, migrations, monitoring. */
    reservedConnections: z.number().int().min(0),
    /** Computed when unset: (maxReplicas + maxSurge) x dbPoolMax + reservedConnections. */
    maxConnections: z.number().int().min(10).optional(),
  }),
  redis: z.strictObject({
    /**
     * `bundled`: the one-replica Deployment below. `external`: a Redis you run; nothing is emitted, the
     * service reads its URL from the `redis-url` of Secret booking-redis (a password stays out of the spec).
     */
    mode: z.enum(['bundled', 'external']),
    image,
    resources,
    /** Redis maxmemory (bytes with a unit: 256mb, 1gb); must stay below the memory limit. */
    maxmemory: z.string().regex(/^[0-9]+(kb|mb|gb)$/),
    maxmemoryPolicy: z.enum([
      'volatile-lru',
      'allkeys-lru',
      'volatile-lfu',
      'allkeys-lfu',
      'volatile-ttl',
      'volatile-random',
      'allkeys-random',
      'noeviction',
    ]),
  }),
  prometheus: z.strictObject({
    image,
    resources,
    storageSize: quantity,
    storageClassName: dnsLabel.optional(),
    retention: duration,
    scrapeInterval: duration,
    evaluationInterval: duration,
  }),
  alertmanager: z.strictObject({ image, resources }),
  monitoring: z.strictObject({
    /**
     * Where docs/runbooks/ is published (e.g. https://git.example.com/team/concert-booking/blob/v0.1.0/docs/runbooks):
     * every alert's runbook_url becomes `<base>/<AlertName>.md`. Unset: there is no address to invent, so the
     * links stay repository paths (`docs/runbooks/<AlertName>.md`) and synth says so.
     */
    runbookBaseUrl: z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' }).optional(),
    /**
     * The rules' windows and the p90 alert's threshold where they depart from monitoring/src's defaults
     * (a drill or a test cluster shortens them so an episode fits in minutes). Unset: the committed rules.
     */
    rules: z
      .strictObject({
        evaluationInterval: duration,
        rateWindow: duration,
        forDuration: duration,
        poolWaitingFor: duration,
        p90ThresholdSeconds: z.number().positive(),
      })
      .partial()
      .optional(),
    /** Group wait, interval and repeat of Alertmanager's route to the controller. Unset: the committed ones. */
    controllerRoute: z
      .strictObject({ groupWait: duration, groupInterval: duration, repeatInterval: duration })
      .optional(),
  }),
  networkPolicy: z.strictObject({
    /** Where pods that watch the API (Prometheus discovery, the controller) may connect to the API server. */
    apiServer: z.strictObject({ cidrs: z.array(cidr).min(1), ports: z.array(port).min(1) }),
    /** Where Alertmanager may send notifications (Slack webhooks, SMTP). */
    notificationEgress: z.strictObject({ cidrs: z.array(cidr).min(1), ports: z.array(port).min(1) }),
    /** Where the booking service may reach Postgres when postgres.mode is external. */
    externalPostgres: z.strictObject({ cidrs: z.array(cidr).min(1), ports: z.array(port).min(1) }),
    /** Where the booking service may reach Redis when redis.mode is external. */
    externalRedis: z.strictObject({ cidrs: z.array(cidr).min(1), ports: z.array(port).min(1) }),
  }),
});

export type ValuesInput = z.infer<typeof valuesSchema>;

/** The validated values, with the computed fields filled in. */
export type BundleValues = ValuesInput & {
  service: ValuesInput['service'] & { terminationGracePeriodSeconds: number };
  postgres: ValuesInput['postgres'] & { maxConnections: number };
};

type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;
export type ValuesOverride = DeepPartial<ValuesInput>;

/** Environment variables of the service that the bundle sets itself (extraEnv may not shadow them). */
export const MANAGED_SERVICE_ENV = [
  'HOST',
  'PORT',
  'LOG_LEVEL',
  'SHUTDOWN_TIMEOUT_MS',
  'DATABASE_URL',
  'DATABASE_URL_FILE',
  'DB_POOL_MAX',
  'REDIS_URL',
  'REDIS_URL_FILE',
  'AUTH_ISSUER_FILE',
  'AUTH_AUDIENCE_FILE',
  'AUTH_JWKS_URL_FILE',
  'MIGRATE_ON_START',
  'QUEUE_TOKEN_SECRET_FILE',
  'ADMIN_TOKEN_FILE',
  'EXPERIMENTS_ENABLED',
  'NODE_OPTIONS',
] as const;

export class ValuesError extends Error {
  constructor(message: string) {
    super(`invalid bundle values: ${message}`);
  }
}

const MEMORY_UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  kb: 2 ** 10,
  mb: 2 ** 20,
  gb: 2 ** 30,
};

/** Bytes of a Kubernetes memory quantity (512Mi) or a Redis memory size (256mb). */
export function memoryBytes(value: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)$/.exec(value);
  const unit = match ? MEMORY_UNITS[match[2]!] : undefined;
  if (!match || unit === undefined) throw new ValuesError(`cannot read memory size "${value}"`);
  return Number(match[1]) * unit;
}

/** Connections the service pools can open at most, plus the reserve: the floor of max_connections. */
export function requiredPostgresConnections(values: ValuesInput): number {
  const { maxReplicas, maxSurge, dbPoolMax } = values.service;
  return (maxReplicas + maxSurge) * dbPoolMax + values.postgres.reservedConnections;
}

/** Validates merged values and fills in the computed fields; throws ValuesError naming the field. */
export function resolveValues(input: unknown): BundleValues {
  const parsed = valuesSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ValuesError(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const v = parsed.data;
  const s = v.service;
  if (s.replicas > s.maxReplicas)
    throw new ValuesError('service.replicas: must not exceed service.maxReplicas');
  const drainSeconds = s.preStopSleepSeconds + Math.ceil(s.shutdownTimeoutMs / 1000);
  const grace = s.terminationGracePeriodSeconds ?? drainSeconds + 5;
  if (grace <= drainSeconds) {
    throw new ValuesError(
      `service.terminationGracePeriodSeconds: must exceed preStopSleepSeconds + shutdownTimeoutMs (${drainSeconds} s)`,
    );
  }
  if (s.nodeMaxOldSpaceMb * 2 ** 20 >= memoryBytes(s.resources.limits.memory)) {
    throw new ValuesError('service.nodeMaxOldSpaceMb: must stay below service.resources.limits.memory');
  }
  const shadowed = Object.keys(s.extraEnv).filter((k) =>
    (MANAGED_SERVICE_ENV as readonly string[]).includes(k),
  );
  if (shadowed.length) throw new ValuesError(`service.extraEnv: ${shadowed.join(', ')} set by the bundle`);
  const required = requiredPostgresConnections(v);
  const maxConnections = v.postgres.maxConnections ?? required;
  if (maxConnections < required) {
    throw new ValuesError(
      `postgres.maxConnections: ${maxConnections} is below (maxReplicas + maxSurge) x dbPoolMax + reservedConnections = ${required}`,
    );
  }
  if (memoryBytes(v.redis.maxmemory) >= memoryBytes(v.redis.resources.limits.memory)) {
    throw new ValuesError('redis.maxmemory: must stay below redis.resources.limits.memory');
  }
  return {
    ...v,
    service: { ...s, terminationGracePeriodSeconds: grace },
    postgres: { ...v.postgres, maxConnections },
  };
}
