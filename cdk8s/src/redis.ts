import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-33';
import {
  clusterIpService,
  containerPort,
  emptyDir,
  isolatedPod,
  probeTiming,
  restrictedContainer,
  servicePort,
  shellProbe,
  singleInstance,
} from './common.js';
import { appLabelling, imageVersion } from './labels.js';
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
    const { selector, labels, metadata } = appLabelling(values, 'redis', imageVersion(r.image));

    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: metadata(),
      spec: {
        ...singleInstance(selector),
        template: {
          metadata: { labels },
          spec: {
            ...isolatedPod(REDIS_UID),
            containers: [
              restrictedContainer(
                {
                  name: 'redis',
                  image: r.image,
                  command: redisArgs(values),
                  ports: [containerPort('redis', PORTS.redis)],
                  readinessProbe: shellProbe(
                    `[ "$(redis-cli -h 127.0.0.1 -p ${PORTS.redis} ping)" = PONG ]`,
                    probeTiming(5, 3, 2),
                  ),
                  livenessProbe: {
                    tcpSocket: { port: k8s.IntOrString.fromString('redis') },
                    ...probeTiming(10, 3, 2),
                  },
                  volumeMounts: [
                    { name: 'data', mountPath: '/data' },
                    { name: 'tmp', mountPath: '/tmp' },
                  ],
                },
                r.resources,
              ),
            ],
            volumes: [emptyDir('data'), emptyDir('tmp')],
          },
        },
      },
    });

    this.service = clusterIpService(this, metadata(), selector, servicePort('redis', PORTS.redis));
  }
}
