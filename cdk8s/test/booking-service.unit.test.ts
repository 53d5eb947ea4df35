import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  V1ConfigMap,
  V1Container,
  V1Deployment,
  V1PodDisruptionBudget,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { loadConfig, SECRET_FILE_VARIABLES } from '@concert-booking/service/config';
import { BookingService, serviceEnvironment } from '../src/booking-service.js';
import { defaultValues, valuesWith } from '../src/values.js';
import { find, render } from './support.js';

const values = defaultValues();
const objects = render((chart) => new BookingService(chart, 'booking-service', values));
const deployment = find<V1Deployment>(objects, 'Deployment', 'booking-service');
const pod = deployment.spec!.template.spec!;
const main = pod.containers.find((c) => c.name === 'booking-service')!;
const migrate = pod.initContainers!.find((c) => c.name === 'migrate')!;
const selector = {
  'app.kubernetes.io/name': 'booking-service',
  'app.kubernetes.io/instance': 'concert-booking',
};

describe('booking-service Deployment', () => {
  test('selector is the stable name/instance pair, matched by the pod template labels', () => {
    expect(deployment.spec!.selector.matchLabels).toEqual(selector);
    expect(deployment.spec!.template.metadata!.labels).toMatchObject(selector);
    expect(deployment.spec!.template.metadata!.labels).toMatchObject({
      'app.kubernetes.io/component': 'api',
      'app.kubernetes.io/part-of': 'concert-booking',
      'app.kubernetes.io/version': values.image.tag,
    });
  });

  test('no replicas while the AlertScaler owns them, service.replicas without it; a rolling update that never drops below the desired count', () => {
    expect(deployment.spec).not.toHaveProperty('replicas');
    const unscaled = valuesWith({ service: { replicas: 3 }, alertscaler: { scaleBookingService: false } });
    const fixed = find<V1Deployment>(
      render((chart) => new BookingService(chart, 'b', unscaled)),
      'Deployment',
      'booking-service',
    );
    expect(fixed.spec!.replicas).toBe(3);
    expect(deployment.spec!.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
  });

  test('probes: startup and liveness on /livez, readiness on /readyz, all on the http port', () => {
    expect(main.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'admin', containerPort: 9464, protocol: 'TCP' },
    ]);
    expect(main.startupProbe).toEqual({
      httpGet: { path: '/livez', port: 'http' },
      periodSeconds: 2,
      failureThreshold: 30,
      timeoutSeconds: 2,
    });
    expect(main.livenessProbe?.httpGet).toEqual({ path: '/livez', port: 'http' });
    expect(main.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(main.readinessProbe?.periodSeconds).toBeLessThan(main.livenessProbe!.periodSeconds!);
  });

  test('resources: requests and limits for CPU and memory, heap below the memory limit', () => {
    for (const c of [main, migrate]) {
      expect(Object.keys(c.resources!.requests!).sort()).toEqual(['cpu', 'memory']);
      expect(Object.keys(c.resources!.limits!).sort()).toEqual(['cpu', 'memory']);
    }
    expect(main.resources).toEqual({
      requests: { cpu: '250m', memory: '256Mi' },
      limits: { cpu: '1', memory: '512Mi' },
    });
  });

  test('security: non-root uid 10001, read-only root, no escalation, all capabilities dropped', () => {
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const c of [main, migrate] as V1Container[]) {
      expect(c.securityContext).toEqual({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: ['ALL'] },
      });
    }
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe('booking-service');
  });

  test('termination grace period exceeds the preStop sleep plus the drain deadline', () => {
    const drain = values.service.preStopSleepSeconds + values.service.shutdownTimeoutMs / 1000;
    expect(main.lifecycle).toEqual({ preStop: { sleep: { seconds: 5 } } });
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(drain);
    const slow = valuesWith({ service: { shutdownTimeoutMs: 45_000 } });
    const slowPod = find<V1Deployment>(
      render((chart) => new BookingService(chart, 'b', slow)),
      'Deployment',
      'booking-service',
    ).spec!.template.spec!;
    expect(slowPod.terminationGracePeriodSeconds).toBeGreaterThan(5 + 45);
  });

  test('spread across nodes', () => {
    expect(pod.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: selector },
        matchLabelKeys: ['pod-template-hash'],
      },
    ]);
  });

  test('the init container runs the migrations with the same image, settings and secrets', () => {
    expect(pod.initContainers!.map((c) => c.name)).toEqual(['migrate']);
    expect(migrate.image).toBe(main.image);
    expect(main.image).toBe(`concert-booking:${values.image.tag}`);
    expect(migrate.command).toEqual(['node', '--conditions=production', 'dist/service/src/db/migrate.js']);
    expect(main.command).toEqual(['node', '--conditions=production', 'dist/service/src/main.js']);
    expect(migrate.envFrom).toEqual(main.envFrom);
    expect(migrate.env).toEqual(main.env);
    expect(migrate.volumeMounts).toEqual(main.volumeMounts);
  });

  test('credentials are files: DATABASE_URL_FILE from Secret booking-db, the issuer from booking-identity, token files from Secret booking-secrets', () => {
    expect(main.env).toBeUndefined();
    expect(JSON.stringify(objects)).not.toContain('secretKeyRef');
    expect(pod.volumes!.find((v) => v.name === 'database')!.secret).toEqual({
      secretName: 'booking-db',
      defaultMode: 0o440,
      items: [{ key: 'database-url', path: 'database-url' }],
    });
    expect(main.volumeMounts).toContainEqual({
      name: 'database',
      mountPath: '/etc/booking/database',
      readOnly: true,
    });
    expect(pod.volumes!.find((v) => v.name === 'identity')!.secret).toEqual({
      secretName: 'booking-identity',
      defaultMode: 0o440,
      items: ['issuer', 'audience', 'jwks-url'].map((key) => ({ key, path: key })),
    });
    expect(main.volumeMounts).toContainEqual({
      name: 'identity',
      mountPath: '/etc/booking/identity',
      readOnly: true,
    });
    expect(main.envFrom).toEqual([{ configMapRef: { name: 'booking-service-config' } }]);
    const secretVolume = pod.volumes!.find((v) => v.name === 'secrets')!;
    expect(secretVolume.secret).toEqual({
      secretName: 'booking-secrets',
      defaultMode: 0o440,
      items: [
        { key: 'queue-token-secret', path: 'queue-token-secret' },
        { key: 'admin-token', path: 'admin-token' },
      ],
    });
    expect(main.volumeMounts).toContainEqual({
      name: 'secrets',
      mountPath: '/etc/booking/secrets',
      readOnly: true,
    });
    expect(main.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
  });

  test('a config change rolls the pods (checksum annotation)', () => {
    const other = valuesWith({ service: { logLevel: 'debug' } });
    const otherDeployment = find<V1Deployment>(
      render((chart) => new BookingService(chart, 'b', other)),
      'Deployment',
      'booking-service',
    );
    expect(otherDeployment.spec!.template.metadata!.annotations!['checksum/config']).not.toBe(
      deployment.spec!.template.metadata!.annotations!['checksum/config'],
    );
  });
});

describe('booking-service ConfigMap', () => {
  const configMap = find<V1ConfigMap>(objects, 'ConfigMap', 'booking-service-config');

  test('holds the cluster settings of the contract', () => {
    expect(configMap.data).toMatchObject({
      HOST: '0.0.0.0',
      PORT: '8080',
      ADMIN_PORT: '9464',
      REDIS_URL: 'redis://redis:6379',
      MIGRATE_ON_START: 'false',
      EXPERIMENTS_ENABLED: 'false',
      SHUTDOWN_TIMEOUT_MS: '10000',
      DB_POOL_MAX: '10',
      QUEUE_TOKEN_SECRET_FILE: '/etc/booking/secrets/queue-token-secret',
      ADMIN_TOKEN_FILE: '/etc/booking/secrets/admin-token',
      DATABASE_URL_FILE: '/etc/booking/database/database-url',
    });
    expect(configMap.data).not.toHaveProperty('DATABASE_URL');
  });

  test("is accepted by the service's own config schema (service/src/config.ts)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'booking-secrets-'));
    writeFileSync(join(dir, 'queue-token-secret'), 'x'.repeat(48));
    writeFileSync(join(dir, 'admin-token'), 'admin-token-value');
    writeFileSync(join(dir, 'database-url'), 'postgres://booking:secret@postgres:5432/booking\n');
    writeFileSync(join(dir, 'issuer'), 'https://idp.example\n');
    writeFileSync(join(dir, 'audience'), 'concert-booking\n');
    writeFileSync(join(dir, 'jwks-url'), 'https://idp.example/.well-known/jwks.json\n');
    const env: Record<string, string> = {
      ...configMap.data,
      QUEUE_TOKEN_SECRET_FILE: join(dir, 'queue-token-secret'),
      ADMIN_TOKEN_FILE: join(dir, 'admin-token'),
      DATABASE_URL_FILE: join(dir, 'database-url'),
      AUTH_ISSUER_FILE: join(dir, 'issuer'),
      AUTH_AUDIENCE_FILE: join(dir, 'audience'),
      AUTH_JWKS_URL_FILE: join(dir, 'jwks-url'),
    };
    const config = loadConfig(env);
    expect(config).toMatchObject({
      HOST: '0.0.0.0',
      PORT: 8080,
      MIGRATE_ON_START: false,
      EXPERIMENTS_ENABLED: false,
      REDIS_URL: 'redis://redis:6379',
      SHUTDOWN_TIMEOUT_MS: 10_000,
      DB_POOL_MAX: 10,
      SEED_DEMO_DATA: false,
      ADMIN_TOKEN: 'admin-token-value',
      AUTH_ISSUER: 'https://idp.example',
      AUTH_AUDIENCE: 'concert-booking',
      AUTH_JWKS_URL: 'https://idp.example/.well-known/jwks.json',
    });
    // Every variable the ConfigMap sets is one the service reads (NODE_OPTIONS is Node's own).
    const known = new Set([
      ...Object.keys(config),
      'QUEUE_TOKEN_SECRET_FILE',
      ...SECRET_FILE_VARIABLES.map((name) => `${name}_FILE`),
    ]);
    for (const key of Object.keys(configMap.data!).filter((k) => k !== 'NODE_OPTIONS')) {
      expect(known).toContain(key);
    }
  });

  test('extraEnv adds variables', () => {
    expect(
      serviceEnvironment(valuesWith({ service: { extraEnv: { HOLD_TTL_SECONDS: '120' } } })),
    ).toMatchObject({
      HOLD_TTL_SECONDS: '120',
    });
  });
});

describe('booking-service Service, PodDisruptionBudget, ServiceAccount', () => {
  test('Service booking-service:80 -> http (8080), selecting the Deployment pods', () => {
    const service = find<V1Service>(objects, 'Service', 'booking-service');
    expect(service.spec!.type).toBe('ClusterIP');
    expect(service.spec!.selector).toEqual(deployment.spec!.selector.matchLabels);
    expect(service.spec!.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
  });

  test('PodDisruptionBudget keeps all but one pod through voluntary disruptions', () => {
    const pdb = find<V1PodDisruptionBudget>(objects, 'PodDisruptionBudget', 'booking-service');
    expect(pdb.spec!.selector!.matchLabels).toEqual(selector);
    expect(pdb.spec!.maxUnavailable).toBe(1);
    expect(pdb.spec!.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
  });

  test('ServiceAccount without an API token', () => {
    expect(
      find<V1ServiceAccount>(objects, 'ServiceAccount', 'booking-service').automountServiceAccountToken,
    ).toBe(false);
  });
});
