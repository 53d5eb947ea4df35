import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-33';
import {
  checksum,
  clusterIpService,
  containerPort,
  podDisruptionBudget,
  emptyDir,
  httpProbe,
  isolatedPod,
  podScheduling,
  restrictedContainer,
  secretFilesVolume,
  servicePort,
} from './common.js';
import { APPS, appLabelling } from './labels.js';
import { APP_UID, BOOKING_ADMIN_SERVICE, CNPG_APP_SECRET, COMMANDS, PORTS, SECRETS } from './names.js';
import type { BundleValues } from './values.js';

/** The image reference of the booking service (also the migrations and the controller), pinned when a digest is set. */
export function serviceImage(values: BundleValues): string {
  const { repository, tag, digest } = values.image;
  return `${repository}:${tag}${digest ? `@${digest}` : ''}`;
}

/** A Secret key the service reads as a file. */
export interface SecretFile {
  readonly secret: string;
  readonly key: string;
}

/**
 * Where the service's DATABASE_URL comes from: the `database-url` you put into booking-db (bundled, external),
 * or the `uri` CloudNativePG writes into `<cluster>-app` for the application user (cloudnative-pg), which
 * points at the read-write Service.
 */
export function databaseUrlSecret(values: BundleValues): SecretFile {
  return values.postgres.mode === 'cloudnative-pg'
    ? { secret: CNPG_APP_SECRET, key: 'uri' }
    : { secret: SECRETS.database.name, key: SECRETS.database.keys.url };
}

/** The environment the service reads (service/src/config.ts): settings, and the paths of its secret files. */
export function serviceEnvironment(values: BundleValues): Record<string, string> {
  const s = values.service;
  const secretFile = (key: string) => `${SECRETS.service.mountPath}/${key}`;
  const identityFile = (key: string) => `${SECRETS.identity.mountPath}/${key}`;
  const redisUrl: Record<string, string> =
    values.redis.mode === 'external'
      ? { REDIS_URL_FILE: `${SECRETS.redis.mountPath}/${SECRETS.redis.keys.url}` }
      : { REDIS_URL: `redis://${APPS.redis.name}:${PORTS.redis}` };
  return {
    DATABASE_URL_FILE: `${SECRETS.database.mountPath}/${databaseUrlSecret(values).key}`,
    ...redisUrl,
    AUTH_ISSUER_FILE: identityFile(SECRETS.identity.keys.issuer),
    AUTH_AUDIENCE_FILE: identityFile(SECRETS.identity.keys.audience),
    AUTH_JWKS_URL_FILE: identityFile(SECRETS.identity.keys.jwksUrl),
    HOST: '0.0.0.0',
    PORT: String(PORTS.bookingService),
    ADMIN_PORT: String(PORTS.bookingServiceAdmin),
    LOG_LEVEL: s.logLevel,
    SHUTDOWN_TIMEOUT_MS: String(s.shutdownTimeoutMs),
    DB_POOL_MAX: String(s.dbPoolMax),
    // The init container `migrate` runs the migrations before the new version serves.
    MIGRATE_ON_START: 'false',
    QUEUE_TOKEN_SECRET_FILE: secretFile(SECRETS.service.keys.queueTokenSecret),
    ADMIN_TOKEN_FILE: secretFile(SECRETS.service.keys.adminToken),
    EXPERIMENTS_ENABLED: 'false',
    NODE_OPTIONS: `--max-old-space-size=${s.nodeMaxOldSpaceMb}`,
    ...s.extraEnv,
  };
}

/**
 * The booking service: ConfigMap (settings), ServiceAccount (no API token), Deployment (init container
 * `migrate` + container `booking-service`), Service `booking-service:80 -> 8080`, PodDisruptionBudget.
 * Credentials are files from the Secrets `booking-db` (DATABASE_URL_FILE), `booking-identity` (AUTH_ISSUER_FILE,
 * AUTH_AUDIENCE_FILE, AUTH_JWKS_URL_FILE) and `booking-secrets`, never environment values. With
 * `alertscaler.scaleBookingService` the Deployment has no `replicas`: the AlertScaler owns that field (it raises
 * a new Deployment's 1 to its minReplicas, service.replicas). /metrics and the admin endpoints are on the
 * container port `admin`, which the public Service does not expose; the Service `booking-service-admin` gives the
 * controller one address for it (its NetworkPolicy flow is the only way in).
 */
export class BookingService extends Construct {
  readonly configMap: k8s.KubeConfigMap;
  readonly deployment: k8s.KubeDeployment;
  readonly service: k8s.KubeService;
  readonly adminService: k8s.KubeService;
  readonly pdb: k8s.KubePodDisruptionBudget;

  constructor(scope: Construct, id: string, values: BundleValues) {
    super(scope, id);
    const s = values.service;
    const image = serviceImage(values);
    const { selector, labels, metadata } = appLabelling(
      values,
      'bookingService',
      values.image.tag.slice(0, 63),
    );
    const configName = `${APPS.bookingService.name}-config`;
    const env = serviceEnvironment(values);

    this.configMap = new k8s.KubeConfigMap(this, 'config', { metadata: metadata(configName), data: env });

    new k8s.KubeServiceAccount(this, 'service-account', {
      metadata: metadata(),
      automountServiceAccountToken: false,
    });

    const envFrom: k8s.EnvFromSource[] = [{ configMapRef: { name: configName } }];
    const database = databaseUrlSecret(values);
    const externalRedis = values.redis.mode === 'external';
    const mounts: k8s.VolumeMount[] = [
      { name: 'database', mountPath: SECRETS.database.mountPath, readOnly: true },
      ...(externalRedis ? [{ name: 'redis', mountPath: SECRETS.redis.mountPath, readOnly: true }] : []),
      { name: 'identity', mountPath: SECRETS.identity.mountPath, readOnly: true },
      { name: 'secrets', mountPath: SECRETS.service.mountPath, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ];

    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: metadata(),
      spec: {
        ...(values.alertscaler.scaleBookingService ? {} : { replicas: s.replicas }),
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector },
        strategy: {
          type: 'RollingUpdate',
          rollingUpdate: {
            maxSurge: k8s.IntOrString.fromNumber(s.maxSurge),
            maxUnavailable: k8s.IntOrString.fromNumber(0),
          },
        },
        template: {
          metadata: { labels, annotations: { 'checksum/config': checksum(env) } },
          spec: {
            serviceAccountName: APPS.bookingService.name,
            ...isolatedPod(APP_UID),
            // Above the preStop sleep plus the service's drain deadline (SHUTDOWN_TIMEOUT_MS).
            terminationGracePeriodSeconds: s.terminationGracePeriodSeconds,
            ...podScheduling(s.scheduling, selector),
            initContainers: [
              restrictedContainer(
                {
                  name: 'migrate',
                  image,
                  imagePullPolicy: values.image.pullPolicy,
                  command: [...COMMANDS.migrate],
                  envFrom,
                  volumeMounts: mounts,
                },
                s.migrationResources,
              ),
            ],
            containers: [
              restrictedContainer(
                {
                  name: APPS.bookingService.name,
                  image,
                  imagePullPolicy: values.image.pullPolicy,
                  command: [...COMMANDS.service],
                  ports: [
                    containerPort('http', PORTS.bookingService),
                    containerPort('admin', PORTS.bookingServiceAdmin),
                  ],
                  envFrom,
                  startupProbe: httpProbe('/livez', 'http', s.probes.startup),
                  livenessProbe: httpProbe('/livez', 'http', s.probes.liveness),
                  readinessProbe: httpProbe('/readyz', 'http', s.probes.readiness),
                  // Endpoints drop the pod while it still serves; then SIGTERM starts the drain.
                  lifecycle:
                    s.preStopSleepSeconds > 0
                      ? { preStop: { sleep: { seconds: s.preStopSleepSeconds } } }
                      : undefined,
                  volumeMounts: mounts,
                },
                s.resources,
              ),
            ],
            volumes: [
              secretFilesVolume('database', database.secret, [database.key]),
              ...(externalRedis
                ? [secretFilesVolume('redis', SECRETS.redis.name, [SECRETS.redis.keys.url])]
                : []),
              secretFilesVolume('identity', SECRETS.identity.name, Object.values(SECRETS.identity.keys)),
              secretFilesVolume('secrets', SECRETS.service.name, Object.values(SECRETS.service.keys)),
              emptyDir('tmp'),
            ],
          },
        },
      },
    });

    this.service = clusterIpService(
      this,
      metadata(),
      selector,
      servicePort('http', PORTS.bookingServiceService),
    );
    this.adminService = clusterIpService(
      this,
      metadata(BOOKING_ADMIN_SERVICE),
      selector,
      servicePort('admin', PORTS.bookingServiceAdmin),
      'admin-service',
    );

    this.pdb = podDisruptionBudget(this, metadata(), selector, s.pdbMaxUnavailable);
  }
}
