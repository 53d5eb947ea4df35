import type { V1ConfigMap, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import { Postgres, postgresConf } from '../src/postgres.js';
import { defaultValues, valuesWith } from '../src/values.js';
import { find, render } from './support.js';

const values = defaultValues();
const objects = render((chart) => new Postgres(chart, 'postgres', values));
const sts = find<V1StatefulSet>(objects, 'StatefulSet', 'postgres');
const pod = sts.spec!.template.spec!;
const container = pod.containers[0]!;
const selector = { 'app.kubernetes.io/name': 'postgres', 'app.kubernetes.io/instance': 'concert-booking' };

describe('postgres', () => {
  test('headless Service `postgres` governs the StatefulSet and selects its pods', () => {
    const service = find<V1Service>(objects, 'Service', 'postgres');
    expect(service.spec!.clusterIP).toBe('None');
    expect(service.spec!.selector).toEqual(selector);
    expect(service.spec!.ports).toEqual([
      { name: 'postgres', port: 5432, targetPort: 'postgres', protocol: 'TCP' },
    ]);
    expect(sts.spec!.serviceName).toBe('postgres');
    expect(sts.spec!.selector.matchLabels).toEqual(selector);
    expect(sts.spec!.template.metadata!.labels).toMatchObject(selector);
    expect(sts.spec!.replicas).toBe(1);
  });

  test('data on a volumeClaimTemplate, kept when the StatefulSet is deleted', () => {
    expect(sts.spec!.volumeClaimTemplates).toHaveLength(1);
    const claim = sts.spec!.volumeClaimTemplates![0]!;
    expect(claim.metadata!.name).toBe('data');
    expect(claim.spec!.accessModes).toEqual(['ReadWriteOnce']);
    expect(claim.spec!.resources!.requests).toEqual({ storage: '10Gi' });
    expect(claim.spec!.storageClassName).toBeUndefined();
    expect(sts.spec!.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: 'Retain',
      whenScaled: 'Retain',
    });
    expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/postgresql/data' });
    expect(container.env).toContainEqual({ name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' });
    const withClass = render(
      (chart) => new Postgres(chart, 'p', valuesWith({ postgres: { storageClassName: 'fast' } })),
    );
    expect(
      find<V1StatefulSet>(withClass, 'StatefulSet', 'postgres').spec!.volumeClaimTemplates![0]!.spec!
        .storageClassName,
    ).toBe('fast');
  });

  test('credentials are files from the Secret booking-db (the image reads *_FILE), no secret in the environment', () => {
    const fromFile = (name: string, key: string) => ({ name, value: `/etc/postgresql-credentials/${key}` });
    expect(container.env).toEqual(
      expect.arrayContaining([
        fromFile('POSTGRES_USER_FILE', 'username'),
        fromFile('POSTGRES_PASSWORD_FILE', 'password'),
        fromFile('POSTGRES_DB_FILE', 'database'),
      ]),
    );
    expect(container.volumeMounts).toContainEqual({
      name: 'credentials',
      mountPath: '/etc/postgresql-credentials',
      readOnly: true,
    });
    expect(sts.spec!.template.spec!.volumes!.find((v) => v.name === 'credentials')!.secret).toEqual({
      secretName: 'booking-db',
      defaultMode: 0o440,
      items: ['username', 'password', 'database'].map((key) => ({ key, path: key })),
    });
    expect(JSON.stringify(objects)).not.toContain('secretKeyRef');
  });

  test('pg_isready startup, liveness and readiness probes', () => {
    for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
      expect(probe!.exec!.command).toEqual([
        '/bin/sh',
        '-c',
        'pg_isready -U "$(cat /etc/postgresql-credentials/username)"' +
          ' -d "$(cat /etc/postgresql-credentials/database)" -h 127.0.0.1 -p 5432',
      ]);
    }
    expect(
      container.startupProbe!.periodSeconds! * container.startupProbe!.failureThreshold!,
    ).toBeGreaterThanOrEqual(300);
  });

  test('resources and a restricted security context (uid 70 of the Alpine image)', () => {
    expect(container.resources).toEqual({
      requests: { cpu: '250m', memory: '512Mi' },
      limits: { cpu: '2', memory: '1Gi' },
    });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 70, fsGroup: 70 });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  test('max_connections covers every pool the service can open, and says why', () => {
    // (maxReplicas 10 + maxSurge 1) x DB_POOL_MAX 10 + reserve 10
    expect(values.postgres.maxConnections).toBe(120);
    const conf = find<V1ConfigMap>(objects, 'ConfigMap', 'postgres-config').data!['postgresql.conf']!;
    expect(conf).toBe(postgresConf(values));
    expect(conf).toMatch(/^max_connections = 120$/m);
    expect(conf).toMatch(/^# .*maxReplicas 10 \+ service\.maxSurge 1\) x DB_POOL_MAX 10.* = 120$/m);
    expect(conf).toMatch(/^listen_addresses = '\*'$/m);
    expect(container.args).toEqual(['-c', 'config_file=/etc/postgresql/postgresql.conf']);
    const bigger = valuesWith({ service: { maxReplicas: 20, dbPoolMax: 15 } });
    expect(postgresConf(bigger)).toMatch(/^max_connections = 325$/m);
  });
});
