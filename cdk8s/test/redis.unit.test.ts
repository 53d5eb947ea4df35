import type { V1Deployment, V1Service } from '@kubernetes/client-node';
import { Redis } from '../src/redis.js';
import { defaultValues, memoryBytes, valuesWith } from '../src/values.js';
import { find, render } from './support.js';

const values = defaultValues();
const objects = render((chart) => new Redis(chart, 'redis', values));
const deployment = find<V1Deployment>(objects, 'Deployment', 'redis');
const pod = deployment.spec!.template.spec!;
const container = pod.containers[0]!;
const selector = { 'app.kubernetes.io/name': 'redis', 'app.kubernetes.io/instance': 'concert-booking' };

describe('redis', () => {
  test('one instance, never two at once; Service redis:6379 selects it', () => {
    expect(deployment.spec!.replicas).toBe(1);
    expect(deployment.spec!.strategy).toEqual({ type: 'Recreate' });
    expect(deployment.spec!.selector.matchLabels).toEqual(selector);
    expect(deployment.spec!.template.metadata!.labels).toMatchObject(selector);
    const service = find<V1Service>(objects, 'Service', 'redis');
    expect(service.spec!.selector).toEqual(selector);
    expect(service.spec!.ports).toEqual([
      { name: 'redis', port: 6379, targetPort: 'redis', protocol: 'TCP' },
    ]);
  });

  test('maxmemory below the memory limit, an eviction policy for a cache, no persistence', () => {
    const args = container.command!;
    const arg = (flag: string) => args[args.indexOf(flag) + 1];
    expect(args[0]).toBe('redis-server');
    expect(arg('--maxmemory')).toBe('256mb');
    expect(arg('--maxmemory-policy')).toBe('volatile-lru');
    expect(arg('--save')).toBe('');
    expect(arg('--appendonly')).toBe('no');
    expect(memoryBytes(arg('--maxmemory')!)).toBeLessThan(memoryBytes(container.resources!.limits!.memory!));
    const lfu = render(
      (chart) => new Redis(chart, 'r', valuesWith({ redis: { maxmemoryPolicy: 'allkeys-lfu' } })),
    );
    expect(
      find<V1Deployment>(lfu, 'Deployment', 'redis').spec!.template.spec!.containers[0]!.command,
    ).toContain('allkeys-lfu');
  });

  test('probes: PING for readiness, the port for liveness', () => {
    expect(container.readinessProbe!.exec!.command).toEqual([
      '/bin/sh',
      '-c',
      '[ "$(redis-cli -h 127.0.0.1 -p 6379 ping)" = PONG ]',
    ]);
    expect(container.livenessProbe!.tcpSocket).toEqual({ port: 'redis' });
  });

  test('resources and a restricted security context', () => {
    expect(container.resources).toEqual({
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '500m', memory: '320Mi' },
    });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999 });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
  });
});
