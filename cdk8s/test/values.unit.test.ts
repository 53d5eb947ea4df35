import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_VALUES,
  defaultValues,
  loadValues,
  memoryBytes,
  resolveValues,
  valuesWith,
} from '../src/values.js';

const write = (name: string, text: string): string => {
  const path = join(mkdtempSync(join(tmpdir(), 'bundle-values-')), name);
  writeFileSync(path, text);
  return path;
};

describe('values', () => {
  test('defaults are valid; computed fields filled in', () => {
    const v = defaultValues();
    expect(v.namespace).toBe('concert-booking');
    expect(v.service.terminationGracePeriodSeconds).toBe(5 + 10 + 5);
    expect(v.postgres.maxConnections).toBe((10 + 1) * 10 + 10);
    expect(loadValues({})).toEqual(v);
  });

  test('BUNDLE_VALUES file (JSON or YAML) deep-merges over the defaults', () => {
    const json = write('values.json', JSON.stringify({ namespace: 'tickets', service: { replicas: 3 } }));
    const v = loadValues({ BUNDLE_VALUES: json });
    expect(v.namespace).toBe('tickets');
    expect(v.service.replicas).toBe(3);
    expect(v.service.dbPoolMax).toBe(DEFAULT_VALUES.service.dbPoolMax);
    const yaml = write('values.yaml', 'postgres:\n  storageSize: 50Gi\n');
    expect(loadValues({ BUNDLE_VALUES: yaml }).postgres.storageSize).toBe('50Gi');
  });

  test('environment variables override the file', () => {
    const file = write('values.json', JSON.stringify({ namespace: 'from-file' }));
    const v = loadValues({
      BUNDLE_VALUES: file,
      BUNDLE_NAMESPACE: 'from-env',
      BUNDLE_IMAGE: 'registry.example.com:5000/team/booking:1.2.3',
      BUNDLE_SET:
        'service.replicas=4, redis.maxmemoryPolicy=allkeys-lru ,networkPolicy.apiServer.cidrs=["10.0.0.1/32"]',
    });
    expect(v.namespace).toBe('from-env');
    expect(v.image).toMatchObject({ repository: 'registry.example.com:5000/team/booking', tag: '1.2.3' });
    expect(v.service.replicas).toBe(4);
    expect(v.redis.maxmemoryPolicy).toBe('allkeys-lru');
    expect(v.networkPolicy.apiServer.cidrs).toEqual(['10.0.0.1/32']);
    expect(loadValues({ BUNDLE_IMAGE: 'registry.example.com:5000/booking' }).image).toMatchObject({
      repository: 'registry.example.com:5000/booking',
      tag: DEFAULT_VALUES.image.tag,
    });
    expect(loadValues({ BUNDLE_IMAGE_TAG: 'abc123' }).image.tag).toBe('abc123');
  });

  test.each([
    [{ namespace: 'Not_A_Label' }, /namespace: must be a DNS label/],
    [{ servce: {} }, /Unrecognized key/],
    [{ service: { replicas: 0 } }, /service\.replicas/],
    [{ service: { replicas: 20 } }, /service\.replicas: must not exceed service\.maxReplicas/],
    [
      { service: { resources: { limits: { cpu: 'lots', memory: '1Gi' } } } },
      /service\.resources\.limits\.cpu/,
    ],
    [{ service: { terminationGracePeriodSeconds: 15 } }, /terminationGracePeriodSeconds: must exceed/],
    [{ service: { nodeMaxOldSpaceMb: 600 } }, /nodeMaxOldSpaceMb/],
    [{ service: { extraEnv: { PORT: '9000' } } }, /extraEnv: PORT set by the bundle/],
    [{ postgres: { maxConnections: 100 } }, /postgres\.maxConnections: 100 is below .* = 120/],
    [{ redis: { maxmemory: '400mb' } }, /redis\.maxmemory: must stay below/],
    [{ redis: { maxmemoryPolicy: 'lru' } }, /redis\.maxmemoryPolicy/],
  ])('rejects %j', (override, message) => {
    expect(() => valuesWith(override as never)).toThrow(message);
  });

  test('errors name the source of a bad override', () => {
    expect(() => loadValues({ BUNDLE_VALUES: '/nonexistent/values.json' })).toThrow(
      /BUNDLE_VALUES: cannot read/,
    );
    expect(() => loadValues({ BUNDLE_SET: 'service.replicas' })).toThrow(/BUNDLE_SET: "service.replicas"/);
    expect(() => resolveValues({})).toThrow(/invalid bundle values/);
  });

  test('memory sizes in Kubernetes and Redis units', () => {
    expect(memoryBytes('512Mi')).toBe(512 * 2 ** 20);
    expect(memoryBytes('1Gi')).toBe(2 ** 30);
    expect(memoryBytes('256mb')).toBe(256 * 2 ** 20);
    expect(memoryBytes('1G')).toBe(1e9);
  });
});
