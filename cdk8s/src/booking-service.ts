import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-33';
import {
  checksum,
  clusterIpService,
  containerPort,
  emptyDir,
  httpProbe,
  isolatedPod,
  restrictedContainer,
  secretFilesVolume,
  servicePort,
} from './common.js';
import { APPS, appLabelling } from './labels.js';
import { APP_UID, COMMANDS, PORTS, SECRETS } from './names.js';
import type { BundleValues } from './values.js';

/** The image reference of the booking service (also the migrations and the controller). */
export function serviceImage(values: BundleValues): string {
  return `${values.image.repository}:${values.image.tag}`;
}

/** The environment the service reads (service/src/config.ts), except DATABASE_URL which comes from a Secret. */
export function serviceEnvironment(values: BundleValues): Record<string, string> {
  const s = values.service;
  const secretFile = (key: string) => `${SECRETS.service.mountPath}/${key}`;
  return {
    HOST: '0.0.0.0',
    PORT: String(PORTS.bookingService),
    ADMIN_PORT: String(PORTS.bookingServiceAdmin),
    LOG_LEVEL: s.logLevel,
    SHUTDOWN_TIMEOUT_MS: String(s.shutdownTimeoutMs),
    DB_POOL_MAX: String(s.dbPoolMax),
    REDIS_URL: `redis://${APPS.redis.name}:${PORTS.redis}`,
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
 * Credentials come from the Secrets `booking-db` (DATABASE_URL), `booking-identity` (AUTH_ISSUER, AUTH_AUDIENCE,
 * AUTH_JWKS_URL) and `booking-secrets` (files); /metrics is on the container port `admin`, which the Service
 * does not expose.
 */
export class BookingService extends Construct {
  readonly configMap: k8s.KubeConfigMap;
  readonly deployment: k8s.KubeDeployment;
  readonly service: k8s.KubeService;
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
    const fromSecret = (name: string, secret: { name: string }, key: string): k8s.EnvVar => ({
      name,
      valueFrom: { secretKeyRef: { name: secret.name, key } },
    });
    const identity = SECRETS.identity;
    const secretEnv: k8s.EnvVar[] = [
      fromSecret('DATABASE_URL', SECRETS.database, SECRETS.database.keys.url),
      fromSecret('AUTH_ISSUER', identity, identity.keys.issuer),
      fromSecret('AUTH_AUDIENCE', identity, identity.keys.audience),
      fromSecret('AUTH_JWKS_URL', identity, identity.keys.jwksUrl),
    ];
    const mounts: k8s.VolumeMount[] = [
      { name: 'secrets', mountPath: SECRETS.service.mountPath, readOnly: true },
      { name: 'tmp', mountPath: '/tmp' },
    ];

    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: metadata(),
      spec: {
        replicas: s.replicas,
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
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: 'kubernetes.io/hostname',
                whenUnsatisfiable: 'ScheduleAnyway',
                labelSelector: { matchLabels: selector },
                matchLabelKeys: ['pod-template-hash'],
              },
            ],
            initContainers: [
              restrictedContainer(
                {
                  name: 'migrate',
                  image,
                  imagePullPolicy: values.image.pullPolicy,
                  command: [...COMMANDS.migrate],
                  envFrom,
                  env: secretEnv,
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
                  env: secretEnv,
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

    this.pdb = new k8s.KubePodDisruptionBudget(this, 'pdb', {
      metadata: metadata(),
      spec: {
        maxUnavailable: k8s.IntOrString.fromNumber(s.pdbMaxUnavailable),
        selector: { matchLabels: selector },
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
      },
    });
  }
}
