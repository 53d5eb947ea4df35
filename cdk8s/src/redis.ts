import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-33';
import {
  containerSecurityContext,
  emptyDir,
  podSecurityContext,
  resourceRequirements,
  shellProbe,
} from './common.js';
import { appLabels, appMetadata, imageVersion, selectorLabels } from './labels.js';
import { PORTS } from './names.js';
import type { BundleValues } from './values.js';

/** uid/gid of the `redis` user in the official image. */
export const REDIS_UID = 999;

/** redis-server arguments: a memory-bounded cache without persistence. */
export function redisArgs(values: BundleValues): string[] {
  return [
    'redis-server',
    '--port',
    String(PORTS.redis),
    '--maxmemory',
    values.redis.maxmemory,
    '--maxmemory-policy',
    values.redis.maxmemoryPolicy,
    // A cache: nothing to persist, no snapshot or AOF writes on the volume.
    '--save',
    '',
    '--appendonly',
    'no',
    // No password: only the booking service can reach it (NetworkPolicy `redis`).
    '--protected-mode',
    'no',
  ];
}

/**
 * Redis, the shared cache and waiting room: Deployment `redis` (one replica, Recreate, so two instances never
 * split the state) and Service `redis:6379`.
 */
export class Redis extends Construct {
  readonly deployment: k8s.KubeDeployment;
  readonly service: k8s.KubeService;

  constructor(scope: Construct, id: string, values: BundleValues) {
    super(scope, id);
    const r = values.redis;
    const version = imageVersion(r.image);
    const selector = selectorLabels(values, 'redis');

    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: appMetadata(values, 'redis', { version }),
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        strategy: { type: 'Recreate' },
        template: {
          metadata: { labels: appLabels(values, 'redis', version) },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: podSecurityContext(REDIS_UID),
            containers: [
              {
                name: 'redis',
                image: r.image,
                command: redisArgs(values),
                ports: [{ name: 'redis', containerPort: PORTS.redis, protocol: 'TCP' }],
                resources: resourceRequirements(r.resources),
                securityContext: containerSecurityContext(),
                readinessProbe: shellProbe(`[ "$(redis-cli -h 127.0.0.1 -p ${PORTS.redis} ping)" = PONG ]`, {
                  periodSeconds: 5,
                  failureThreshold: 3,
                  timeoutSeconds: 2,
                }),
                livenessProbe: {
                  tcpSocket: { port: k8s.IntOrString.fromString('redis') },
                  periodSeconds: 10,
                  failureThreshold: 3,
                  timeoutSeconds: 2,
                },
                volumeMounts: [
                  { name: 'data', mountPath: '/data' },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [emptyDir('data'), emptyDir('tmp')],
          },
        },
      },
    });

    this.service = new k8s.KubeService(this, 'service', {
      metadata: appMetadata(values, 'redis', { version }),
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [
          {
            name: 'redis',
            port: PORTS.redis,
            targetPort: k8s.IntOrString.fromString('redis'),
            protocol: 'TCP',
          },
        ],
      },
    });
  }
}
