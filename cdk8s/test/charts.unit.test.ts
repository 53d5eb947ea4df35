// The committed charts/ as a whole: fresh against a new synth, every object valid against the Kubernetes
// 1.33 OpenAPI schema, the common labels everywhere, names a user types free of hashes, pods that pass the
// `restricted` Pod Security Standard the namespace enforces.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as client from '@kubernetes/client-node';
import type { V1PodSpec } from '@kubernetes/client-node';
import { k8s } from 'cdk8s-plus-33';
import { buildBundle, REPO_ROOT } from '../main.js';
import { Bundle, GENERATED_HEADER } from '../src/bundle.js';
import { loadMonitoringFiles } from '../src/monitoring-files.js';
import { MONITORING_FILES } from '../src/names.js';
import { defaultValues } from '../src/values.js';
import { allObjects, bundleFiles, type Obj } from './support.js';
import {
  API_VERSION as ALERTSCALER_API_VERSION,
  alertScalerSpecSchema,
} from '@concert-booking/controller/api';

const chartsDir = join(REPO_ROOT, 'charts');

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe('charts/ is what `npm run synth` produces', () => {
  test('a fresh synth into a temporary directory equals the committed charts/', () => {
    const fresh = mkdtempSync(join(tmpdir(), 'charts-'));
    buildBundle(defaultValues(), loadMonitoringFiles(REPO_ROOT)).synth(fresh);
    const expected = listFiles(fresh);
    expect(expected).toContain('00-crds.k8s.yaml');
    expect(listFiles(chartsDir)).toEqual(expected);
    // On failure: run `npm run synth` and commit charts/.
    for (const file of expected) {
      expect([`charts/${file}`, readFileSync(join(chartsDir, file), 'utf8')]).toEqual([
        `charts/${file}`,
        readFileSync(join(fresh, file), 'utf8'),
      ]);
    }
  });

  test('files apply in order: namespace first, policies last, load tests only under optional/', () => {
    expect([...bundleFiles().keys()]).toEqual([
      '00-crds.k8s.yaml',
      '01-namespace.k8s.yaml',
      '10-postgres.k8s.yaml',
      '20-redis.k8s.yaml',
      '30-booking-service.k8s.yaml',
      '40-prometheus.k8s.yaml',
      '45-grafana-dashboard.k8s.yaml',
      '50-alertmanager.k8s.yaml',
      '55-alertscaler.k8s.yaml',
      '60-network-policies.k8s.yaml',
      'optional/70-load-tests.k8s.yaml',
    ]);
    for (const text of buildBundle(defaultValues()).render().values())
      expect(text.startsWith(GENERATED_HEADER)).toBe(true);
  });

  test('synth is deterministic and removes stale YAML, keeping other files', () => {
    const out = mkdtempSync(join(tmpdir(), 'charts-'));
    mkdirSync(join(out, 'optional'));
    writeFileSync(join(out, '99-stale.k8s.yaml'), 'stale');
    writeFileSync(join(out, 'optional', '70-stale.yaml'), 'stale');
    writeFileSync(join(out, 'NOTES.txt'), 'kept');
    const first = buildBundle(defaultValues()).synth(out);
    expect(listFiles(out)).toEqual(['NOTES.txt', ...first].sort());
    const again = buildBundle(defaultValues()).render();
    for (const file of first) expect(readFileSync(join(out, file), 'utf8')).toBe(again.get(file));
  });

  test('the monitoring ConfigMaps carry monitoring/generated/ verbatim', () => {
    const monitoring = loadMonitoringFiles(REPO_ROOT);
    const objects = allObjects(defaultValues(), monitoring);
    const data = (name: string) =>
      (
        objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name) as never as {
          data: Record<string, string>;
        }
      ).data;
    expect(data('prometheus-rules')['booking.rules.yml']).toBe(
      readFileSync(join(REPO_ROOT, MONITORING_FILES.rules), 'utf8'),
    );
    expect(data('alertmanager-config')['alertmanager.yml']).toBe(
      readFileSync(join(REPO_ROOT, MONITORING_FILES.alertmanager), 'utf8'),
    );
  });

  test('a chart is one add() call; cluster-scoped charts get no namespace; empty charts write no file', () => {
    const bundle = new Bundle(defaultValues())
      .add(
        '00-crds',
        (chart) => {
          new k8s.KubeCustomResourceDefinition(chart, 'crd', {
            metadata: { name: 'examples.example.com' },
            spec: {
              group: 'example.com',
              names: { kind: 'Example', plural: 'examples' },
              scope: 'Namespaced',
              versions: [
                { name: 'v1', served: true, storage: true, schema: { openApiv3Schema: { type: 'object' } } },
              ],
            },
          });
        },
        { namespaced: false },
      )
      .add('05-empty', () => undefined)
      .add(
        'optional/70-load',
        (chart) => new k8s.KubeConfigMap(chart, 'cm', { metadata: { name: 'k6-script' } }),
      );
    const files = bundle.manifests() as Map<string, Obj[]>;
    expect([...files.keys()]).toEqual(['00-crds.k8s.yaml', 'optional/70-load.k8s.yaml']);
    expect(files.get('00-crds.k8s.yaml')![0]!.metadata.namespace).toBeUndefined();
    expect(files.get('optional/70-load.k8s.yaml')![0]!.metadata.namespace).toBe('concert-booking');
    expect(() => bundle.add('load', () => undefined)).toThrow(/NN-name/);
  });
});

/**
 * The bundle's own kinds are not in the Kubernetes schema: they are checked against the zod schema
 * their CRD is generated from (strict, so an unknown field fails as the API server would).
 */
function ownKindProblems(object: Obj): string[] | undefined {
  if (object.apiVersion !== ALERTSCALER_API_VERSION) return undefined;
  const result = alertScalerSpecSchema.safeParse(object.spec);
  return result.success
    ? []
    : result.error.issues.map(
        (i) => `${object.kind}/${object.metadata.name}: spec.${i.path.join('.')}: ${i.message}`,
      );
}

const CLUSTER_SCOPED = new Set(['Namespace', 'CustomResourceDefinition']);

/** kubernetes-models: the JSON Schema validators generated from the Kubernetes 1.33 OpenAPI document. */
async function modelFor(
  apiVersion: string,
  kind: string,
): Promise<(new (data: unknown) => { validate(): void }) | undefined> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const module = (await import(
    group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`
  )) as Record<string, new (data: unknown) => { validate(): void }>;
  return module[kind];
}

type AttributeMap = { name: string; baseName: string; type: string }[];
const models = client as unknown as Record<string, { getAttributeTypeMap?: () => AttributeMap } | undefined>;
const LEAVES = new Set(['string', 'number', 'boolean', 'any', 'object', 'Date', 'IntOrString']);

/**
 * Unknown fields: JSON Schema validation lets them pass (the OpenAPI schemas do not close objects), the API
 * server rejects them (`--validate=strict`). Walk each object along the typed models of
 * @kubernetes/client-node (generated from the same OpenAPI document) and report every field they lack.
 */
function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined || LEAVES.has(type)) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    (value as unknown[]).forEach((item, i) => unknownFields(item, array[1]!, `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    for (const [k, v] of Object.entries(value as object)) unknownFields(v, map[1]!, `${path}.${k}`, out);
    return;
  }
  const attributes = models[type]?.getAttributeTypeMap?.();
  if (!attributes) throw new Error(`no model for ${type} at ${path}`);
  for (const [key, child] of Object.entries(value as object)) {
    const attribute = attributes.find((a) => a.baseName === key);
    if (!attribute) out.push(`${path}.${key}`);
    else unknownFields(child, attribute.type, `${path}.${key}`, out);
  }
}

describe('every object of charts/', () => {
  const objects = allObjects(defaultValues(), loadMonitoringFiles(REPO_ROOT));

  test('validates against the Kubernetes OpenAPI schema (kubernetes-models)', async () => {
    const failures: string[] = [];
    for (const object of objects) {
      const own = ownKindProblems(object);
      if (own) {
        failures.push(...own);
        continue;
      }
      const Model = await modelFor(object.apiVersion, object.kind);
      if (!Model) {
        failures.push(`${object.apiVersion} ${object.kind}: no schema`);
        continue;
      }
      try {
        new Model(object).validate();
      } catch (error) {
        failures.push(`${object.kind}/${object.metadata.name}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  test('has no field the Kubernetes API does not know', () => {
    const failures: string[] = [];
    for (const object of objects) {
      if (ownKindProblems(object)) {
        unknownFields(
          object.metadata,
          'V1ObjectMeta',
          `${object.kind}/${object.metadata.name}.metadata`,
          failures,
        );
        continue;
      }
      const version = object.apiVersion.split('/').pop()!;
      const type = `${version[0]!.toUpperCase()}${version.slice(1)}${object.kind}`;
      unknownFields(object, type, `${object.kind}/${object.metadata.name}`, failures);
    }
    expect(failures).toEqual([]);
  });

  test('carries the common labels and a name without a generated hash', () => {
    for (const object of objects) {
      const labels = object.metadata.labels ?? {};
      for (const key of ['name', 'instance', 'component', 'part-of', 'version']) {
        expect([object.kind, object.metadata.name, labels[`app.kubernetes.io/${key}`]]).toEqual([
          object.kind,
          object.metadata.name,
          expect.stringMatching(/.+/),
        ]);
      }
      expect(labels['app.kubernetes.io/part-of']).toBe('concert-booking');
      expect(object.metadata.name).not.toMatch(/-c8[0-9a-f]{6,}$/);
    }
  });

  test('is namespaced in values.namespace, except cluster-scoped kinds (the Namespace, CRDs)', () => {
    for (const object of objects) {
      if (CLUSTER_SCOPED.has(object.kind)) {
        expect([object.kind, object.metadata.namespace]).toEqual([object.kind, undefined]);
      }
      if (object.kind === 'Namespace') {
        expect(object.metadata).toMatchObject({ name: 'concert-booking' });
        expect(object.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
      } else if (!CLUSTER_SCOPED.has(object.kind)) {
        expect([object.kind, object.metadata.name, object.metadata.namespace]).toEqual([
          object.kind,
          object.metadata.name,
          'concert-booking',
        ]);
      }
    }
  });

  test('every workload selector matches its pod template labels, and pods pass the restricted standard', () => {
    const workloads = objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind));
    expect(workloads.length).toBeGreaterThanOrEqual(5);
    for (const workload of workloads) {
      const spec = workload.spec as {
        // Jobs have none: the API server generates theirs.
        selector?: { matchLabels: Record<string, string> };
        template: { metadata: { labels: Record<string, string> }; spec: V1PodSpec };
      };
      expect(spec.template.metadata.labels).toMatchObject(spec.selector?.matchLabels ?? {});
      const pod = spec.template.spec;
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.hostNetwork ?? false).toBe(false);
      for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
        const where = `${workload.kind}/${workload.metadata.name}/${container.name}`;
        expect([where, container.securityContext]).toEqual([
          where,
          expect.objectContaining({
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ['ALL'] },
          }),
        ]);
        expect([where, Object.keys(container.resources?.limits ?? {}).sort()]).toEqual([
          where,
          ['cpu', 'memory'],
        ]);
        expect(container.image).toMatch(/:[\w][\w.-]+$/);
      }
    }
  });

  test('Services select the pods of one workload, named after it (booking-service-admin: its admin port)', () => {
    const workloads = objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind));
    for (const service of objects.filter((o) => o.kind === 'Service')) {
      const selector = (service.spec as { selector: Record<string, string> }).selector;
      const targets = workloads.filter((w) =>
        Object.entries(selector).every(
          ([k, v]) =>
            (w.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata
              .labels[k] === v,
        ),
      );
      const workload = service.metadata.name.replace(/-admin$/, '');
      expect([service.metadata.name, targets.map((t) => t.metadata.name)]).toEqual([
        service.metadata.name,
        [workload],
      ]);
    }
  });
});
