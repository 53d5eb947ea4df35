// postgres.mode and redis.mode (issue 17): what each emits, where the service's URLs come from, and the
// flows the NetworkPolicies allow. cdk8s/test/modes-apply.test.ts applies them to an API server.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1ConfigMap, V1Deployment, V1NetworkPolicy } from '@kubernetes/client-node';
import { loadConfig } from '@concert-booking/service/config';
import { databaseUrlSecret } from '../src/booking-service.js';
import { bundleFlows } from '../src/network-policies.js';
import { valuesWith, type BundleValues, type ValuesOverride } from '../src/values.js';
import { allObjects, bundleFiles, find, type Obj } from './support.js';

const EXTERNAL: ValuesOverride = { postgres: { mode: 'external' }, redis: { mode: 'external' } };
const CNPG: ValuesOverride = { postgres: { mode: 'cloudnative-pg' } };

const kinds = (objects: Obj[], app: string) =>
  objects
    .filter(
      (o) => o.metadata.labels?.['app.kubernetes.io/name'] === app || o.metadata.name === `allow-${app}`,
    )
    .map((o) => `${o.kind}/${o.metadata.name}`)
    .sort();
const pod = (objects: Obj[]) =>
  find<V1Deployment>(objects, 'Deployment', 'booking-service').spec!.template.spec!;
const policy = (objects: Obj[], name: string) => find<V1NetworkPolicy>(objects, 'NetworkPolicy', name).spec!;

describe('what each mode emits', () => {
  test.each<[string, ValuesOverride, string[], string[]]>([
    [
      'bundled (the default)',
      {},
      [
        'ConfigMap/postgres-config',
        'NetworkPolicy/allow-postgres',
        'Service/postgres',
        'StatefulSet/postgres',
      ],
      ['Deployment/redis', 'NetworkPolicy/allow-redis', 'Service/redis'],
    ],
    ['external', EXTERNAL, [], []],
    [
      'cloudnative-pg',
      CNPG,
      ['Cluster/postgres', 'NetworkPolicy/allow-postgres'],
      ['Deployment/redis', 'NetworkPolicy/allow-redis', 'Service/redis'],
    ],
  ])('%s', (_mode, override, postgres, redis) => {
    const values = valuesWith(override);
    const objects = allObjects(values);
    expect(kinds(objects, 'postgres')).toEqual(postgres);
    expect(kinds(objects, 'redis')).toEqual(redis);
    // A chart without objects writes no file.
    expect(bundleFiles(values).has('10-postgres.k8s.yaml')).toBe(postgres.length > 1);
  });
});

describe('where the service finds its database and cache', () => {
  test.each<[BundleValues['postgres']['mode'], string, string]>([
    ['bundled', 'booking-db', 'database-url'],
    ['external', 'booking-db', 'database-url'],
    ['cloudnative-pg', 'postgres-app', 'uri'],
  ])('postgres.mode %s: DATABASE_URL_FILE from Secret %s key %s', (mode, secret, key) => {
    const values = valuesWith({ postgres: { mode } });
    expect(databaseUrlSecret(values)).toEqual({ secret, key });
    const spec = pod(allObjects(values));
    expect(spec.volumes!.find((v) => v.name === 'database')!.secret!.secretName).toBe(secret);
    const configMap = find<V1ConfigMap>(allObjects(values), 'ConfigMap', 'booking-service-config');
    expect(configMap.data!.DATABASE_URL_FILE).toBe(`/etc/booking/database/${key}`);
  });

  test('redis.mode external: REDIS_URL_FILE from Secret booking-redis, and the service reads both files', () => {
    const objects = allObjects(valuesWith(EXTERNAL));
    const data = find<V1ConfigMap>(objects, 'ConfigMap', 'booking-service-config').data!;
    expect(data).not.toHaveProperty('REDIS_URL');
    expect(data.REDIS_URL_FILE).toBe('/etc/booking/redis/redis-url');
    expect(pod(objects).volumes!.find((v) => v.name === 'redis')!.secret).toMatchObject({
      secretName: 'booking-redis',
      items: [{ key: 'redis-url', path: 'redis-url' }],
    });
    expect(JSON.stringify(objects)).not.toContain('secretKeyRef');

    const dir = mkdtempSync(join(tmpdir(), 'external-mode-'));
    const files: Record<string, string> = {
      DATABASE_URL_FILE: 'postgres://booking:pw@db.example.com:5432/booking',
      REDIS_URL_FILE: 'rediss://:pw@cache.example.com:6380',
      QUEUE_TOKEN_SECRET_FILE: 'x'.repeat(48),
      ADMIN_TOKEN_FILE: 'admin',
      AUTH_ISSUER_FILE: 'https://idp.example',
      AUTH_AUDIENCE_FILE: 'concert-booking',
      AUTH_JWKS_URL_FILE: 'https://idp.example/.well-known/jwks.json',
    };
    const env: Record<string, string> = { ...data };
    for (const [variable, content] of Object.entries(files)) {
      writeFileSync(join(dir, variable), content);
      env[variable] = join(dir, variable);
    }
    expect(loadConfig(env)).toMatchObject({
      DATABASE_URL: files.DATABASE_URL_FILE,
      REDIS_URL: files.REDIS_URL_FILE,
    });
  });
});

describe('NetworkPolicies follow the modes', () => {
  test('external: the service may reach the configured addresses, and no policy is left for absent pods', () => {
    const values = valuesWith({
      ...EXTERNAL,
      networkPolicy: {
        externalPostgres: { cidrs: ['10.20.0.5/32'], ports: [5432] },
        externalRedis: { cidrs: ['10.20.0.6/32'], ports: [6380] },
      },
    });
    const objects = allObjects(values);
    expect(policy(objects, 'allow-booking-service').egress).toEqual(
      expect.arrayContaining([
        { to: [{ ipBlock: { cidr: '10.20.0.5/32' } }], ports: [{ protocol: 'TCP', port: 5432 }] },
        { to: [{ ipBlock: { cidr: '10.20.0.6/32' } }], ports: [{ protocol: 'TCP', port: 6380 }] },
      ]),
    );
    expect(objects.filter((o) => ['allow-postgres', 'allow-redis'].includes(o.metadata.name))).toEqual([]);
  });

  test('cloudnative-pg: replication and status among the instances, status calls from the operator, the API', () => {
    const values = valuesWith({
      postgres: { mode: 'cloudnative-pg', cloudnativePg: { operatorNamespace: 'cnpg' } },
    });
    const spec = policy(allObjects(values), 'allow-postgres');
    const self = { podSelector: { matchLabels: spec.podSelector.matchLabels } };
    expect(spec.ingress).toEqual(
      expect.arrayContaining([
        { from: [self], ports: [{ protocol: 'TCP', port: 5432 }] },
        { from: [self], ports: [{ protocol: 'TCP', port: 8000 }] },
        {
          from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'cnpg' } } }],
          ports: [{ protocol: 'TCP', port: 8000 }],
        },
      ]),
    );
    expect(spec.egress).toEqual(
      expect.arrayContaining([{ to: [self], ports: [{ protocol: 'TCP', port: 5432 }] }]),
    );
    expect(
      bundleFlows(values)
        .filter((f) => f.from === 'postgres')
        .map((f) => f.to),
    ).toContain('kube-api');
  });
});

describe('the CloudNativePG Cluster', () => {
  const values = valuesWith({ ...CNPG, postgres: { ...CNPG.postgres, storageClassName: 'fast' } });
  interface ClusterSpec {
    instances: number;
    storage: unknown;
    postgresql: { parameters: Record<string, string> };
    inheritedMetadata: { labels: Record<string, string> };
    bootstrap: unknown;
  }
  const cluster = find<Obj & { spec: ClusterSpec }>(allObjects(values), 'Cluster', 'postgres');

  test('3 instances, the bundled sizing, the bundle labels on its pods, the database the service uses', () => {
    expect(cluster.apiVersion).toBe('postgresql.cnpg.io/v1');
    expect(cluster.spec.instances).toBe(3);
    expect(cluster.spec.storage).toEqual({ size: '10Gi', storageClass: 'fast' });
    expect(cluster.spec.postgresql.parameters.max_connections).toBe(String(values.postgres.maxConnections));
    expect(cluster.spec.inheritedMetadata.labels).toMatchObject({
      'app.kubernetes.io/name': 'postgres',
      'app.kubernetes.io/instance': values.instance,
    });
    expect(cluster.spec.bootstrap).toEqual({ initdb: { database: 'booking', owner: 'booking' } });
  });

  test('instances are validated', () => {
    expect(() => valuesWith({ postgres: { cloudnativePg: { instances: 0 } } })).toThrow(
      /postgres\.cloudnativePg\.instances/,
    );
  });
});
