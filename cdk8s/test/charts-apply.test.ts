// charts/ against a real API server (devkit/src/cluster/envtest.ts): every charts/*.yaml is applied with
// `kubectl apply --server-side` in file-name order (numeric prefixes: CRDs and the namespace first),
// a second apply changes nothing, every object reads back, and a broken manifest fails the same path.
// charts/optional/*.yaml is not part of the default set; it is applied afterwards to prove it valid too.
// Then what the server returns is checked against the synthesized bundle (what the chart tests state):
// Services, ConfigMaps, Secret references, Roles/RoleBindings/ServiceAccounts, and `kubectl auth can-i`.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  V1ConfigMap,
  V1KeyToPath,
  V1PodSpec,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
  V1ServicePort,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import {
  describeWithCluster,
  type KubectlResult,
  type TestCluster,
} from '@concert-booking/devkit/cluster/envtest';
import { REPO_ROOT } from '../main.js';
import { loadMonitoringFiles } from '../src/monitoring-files.js';
import { MONITORING_FILES, SECRETS } from '../src/names.js';
import { defaultValues } from '../src/values.js';
import { allObjects, type Obj } from './support.js';
import { waitForEstablished } from '@concert-booking/devkit/cluster/kubectl';

const chartsDir = fileURLToPath(new URL('../../charts/', import.meta.url));
const optionalDir = join(chartsDir, 'optional');

interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

interface ReadBack {
  items: (Obj & { metadata: { resourceVersion: string } })[];
}

/** The YAML files of a directory, in name order (the documented apply order). */
function manifestFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => /\.ya?ml$/.test(file))
    .sort()
    .map((file) => join(dir, file));
}

/** The objects a manifest file declares (a `kind: List` counts as its items). */
function objectsIn(file: string): ObjectRef[] {
  const refs: ObjectRef[] = [];
  const visit = (doc: unknown): void => {
    if (!doc || typeof doc !== 'object') return;
    const obj = doc as {
      apiVersion?: string;
      kind?: string;
      metadata?: { name?: string; namespace?: string };
      items?: unknown[];
    };
    if (obj.kind === 'List' && Array.isArray(obj.items)) {
      obj.items.forEach(visit);
      return;
    }
    refs.push({
      apiVersion: obj.apiVersion ?? '',
      kind: obj.kind ?? '',
      name: obj.metadata?.name ?? '',
      namespace: obj.metadata?.namespace,
    });
  };
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    visit(doc.toJS());
  }
  return refs;
}

/**
 * The one code path every manifest goes through: server-side apply with strict field validation,
 * then waiting for any CRDs it created to be Established so later files can use their kinds.
 */
async function applyManifest(cluster: TestCluster, file: string): Promise<KubectlResult> {
  const result = await cluster.kubectl(
    ['apply', '--server-side', '--field-manager=charts-apply-test', '--validate=strict', '-f', file],
    { allowFailure: true, timeoutMs: 120_000 },
  );
  if (result.code !== 0) return result;
  const crds = result.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((ref) => ref.startsWith('customresourcedefinition.apiextensions.k8s.io/'));
  if (crds.length > 0) await waitForEstablished(cluster.kubectl, crds);
  return result;
}

async function readBack(cluster: TestCluster, file: string): Promise<ReadBack> {
  const { stdout } = await cluster.kubectl(['get', '-f', file, '-o', 'json']);
  // Several objects come back as a List, one as the object itself.
  const parsed = JSON.parse(stdout) as ReadBack['items'][number];
  return parsed.kind === 'List' ? (parsed as unknown as ReadBack) : { items: [parsed] };
}

function describeFailure(file: string, result: KubectlResult): string {
  return `${file}: kubectl exited ${result.code}\n${result.stderr}${result.stdout}`;
}

/** What the chart tests state: the bundle synthesized from cdk8s/ with the committed monitoring files. */
const synthesized = allObjects(defaultValues(), loadMonitoringFiles(REPO_ROOT));

const objectKey = (o: Obj): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** The object the API server returned for a synthesized one; fails when it is missing. */
function readBackOf<T>(live: readonly Obj[], declared: Obj): T {
  const found = live.find((o) => objectKey(o) === objectKey(declared));
  if (!found) throw new Error(`${objectKey(declared)} was not read back`);
  return found as unknown as T;
}

interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec?: V1PodSpec;
}

/** The pod template of a workload (Deployment, StatefulSet, Job, CronJob); undefined for other kinds. */
function podTemplateOf(object: Obj): PodTemplate | undefined {
  const spec = object.spec as
    { template?: PodTemplate; jobTemplate?: { spec?: { template?: PodTemplate } } } | undefined;
  return spec?.template ?? spec?.jobTemplate?.spec?.template;
}

const selects = (selector: Record<string, string>, labels: Record<string, string> = {}): boolean =>
  Object.entries(selector).every(([label, value]) => labels[label] === value);

/** A Service port as the API server stores it: protocol and targetPort defaulted. */
function withPortDefaults(port: V1ServicePort): V1ServicePort {
  return { ...port, protocol: port.protocol ?? 'TCP', targetPort: port.targetPort ?? port.port };
}

interface SecretRef {
  where: string;
  name: string;
  /** Undefined when the whole Secret is used (envFrom, a volume without items). */
  key?: string;
}

const formatRef = (ref: SecretRef): string => `${ref.where} -> ${ref.name}${ref.key ? `/${ref.key}` : ''}`;

function fileRefs(where: string, name: string, items: V1KeyToPath[] | undefined): SecretRef[] {
  return items?.length ? items.map((item) => ({ where, name, key: item.key })) : [{ where, name }];
}

/** Every Secret a workload's pods reference: env, envFrom, secret and projected volumes, image pull secrets. */
function secretRefs(object: Obj): SecretRef[] {
  const pod = podTemplateOf(object)?.spec;
  if (!pod) return [];
  const at = `${object.kind}/${object.metadata.name}`;
  const refs: SecretRef[] = [];
  for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
    for (const env of container.env ?? []) {
      const ref = env.valueFrom?.secretKeyRef;
      if (ref)
        refs.push({ where: `${at} ${container.name} env ${env.name}`, name: ref.name ?? '', key: ref.key });
    }
    for (const source of container.envFrom ?? []) {
      if (source.secretRef)
        refs.push({ where: `${at} ${container.name} envFrom`, name: source.secretRef.name ?? '' });
    }
  }
  for (const volume of pod.volumes ?? []) {
    const where = `${at} volume ${volume.name}`;
    if (volume.secret) refs.push(...fileRefs(where, volume.secret.secretName ?? '', volume.secret.items));
    for (const source of volume.projected?.sources ?? []) {
      if (source.secret)
        refs.push(...fileRefs(`${where} projected`, source.secret.name ?? '', source.secret.items));
    }
  }
  for (const pull of pod.imagePullSecrets ?? [])
    refs.push({ where: `${at} imagePullSecrets`, name: pull.name ?? '' });
  return refs;
}

/** The API server omits an empty apiGroup (`omitempty`), which cdk8s-plus writes for ServiceAccount subjects. */
function withoutEmptyApiGroup(subjects: NonNullable<V1RoleBinding['subjects']>): V1RoleBinding['subjects'] {
  return subjects.map(({ apiGroup, ...subject }) => (apiGroup ? { apiGroup, ...subject } : subject));
}

interface Access {
  namespace: string;
  serviceAccount: string;
  verb: string;
  /** `kubectl auth can-i` TYPE[/NAME], the group spelled out: `deployments.apps`, `leases.coordination.k8s.io/x`. */
  resource: string;
  subresource?: string;
}

const formatAccess = (a: Access): string =>
  `${a.namespace}:${a.serviceAccount} ${a.verb} ${a.resource}${a.subresource ? ` --subresource=${a.subresource}` : ''}`;

/** Every (verb, resource[/name][/subresource]) a Role's rules grant, one Access each. */
function grantedAccesses(namespace: string, serviceAccount: string, role: V1Role): Access[] {
  return (role.rules ?? []).flatMap((rule) =>
    (rule.apiGroups ?? ['']).flatMap((group) =>
      (rule.resources ?? []).flatMap((resource) => {
        const [plural = '', subresource] = resource.split('/');
        const type = group ? `${plural}.${group}` : plural;
        const targets = rule.resourceNames?.length
          ? rule.resourceNames.map((name) => `${type}/${name}`)
          : [type];
        return targets.flatMap((target) =>
          rule.verbs.map((verb) => ({ namespace, serviceAccount, verb, resource: target, subresource })),
        );
      }),
    ),
  );
}

/** SelfSubjectAccessReview as the ServiceAccount (the admin impersonates it). */
async function canI(cluster: TestCluster, access: Access): Promise<boolean> {
  const result = await cluster.kubectl(
    [
      'auth',
      'can-i',
      access.verb,
      access.resource,
      ...(access.subresource ? [`--subresource=${access.subresource}`] : []),
      `--namespace=${access.namespace}`,
      `--as=system:serviceaccount:${access.namespace}:${access.serviceAccount}`,
    ],
    { allowFailure: true },
  );
  const answer = result.stdout.trim();
  if (answer !== 'yes' && answer !== 'no')
    throw new Error(`${formatAccess(access)}: ${describeFailure('can-i', result)}`);
  return answer === 'yes';
}

describeWithCluster('charts/ applied to a real API server', (cluster) => {
  const files = manifestFiles(chartsDir);
  const versions = new Map<string, Map<string, string>>();

  it('has manifests to apply', () => {
    if (files.length === 0) {
      throw new Error(
        `no charts/*.yaml found in ${chartsDir}: run the cdk8s synth that writes charts/ ` +
          '(files named with numeric prefixes, CRDs and namespace first) before this test',
      );
    }
    for (const file of files) expect(objectsIn(file).length).toBeGreaterThan(0);
  });

  it('applies every charts/*.yaml in name order with kubectl apply --server-side', async () => {
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const result = await applyManifest(cluster(), file);
      if (result.code !== 0) throw new Error(describeFailure(file, result));
    }
  });

  it('reads every declared object back', async () => {
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const declared = objectsIn(file);
      const { items } = await readBack(cluster(), file);
      expect(items.map((item) => `${item.kind}/${item.metadata.name}`)).toEqual(
        declared.map((ref) => `${ref.kind}/${ref.name}`),
      );
      versions.set(
        file,
        new Map(
          items.map((item) => [
            `${item.kind}/${item.metadata.namespace ?? ''}/${item.metadata.name}`,
            item.metadata.resourceVersion,
          ]),
        ),
      );
    }
  });

  it('a second apply is a no-op (no diff, no resourceVersion changes)', async () => {
    expect(versions.size).toBe(files.length);
    for (const file of files) {
      const diff = await cluster().kubectl(
        ['diff', '--server-side', '--field-manager=charts-apply-test', '-f', file],
        { allowFailure: true, timeoutMs: 120_000 },
      );
      if (diff.code !== 0)
        throw new Error(`a second apply would change objects: ${describeFailure(file, diff)}`);

      const result = await applyManifest(cluster(), file);
      if (result.code !== 0) throw new Error(describeFailure(file, result));
      const { items } = await readBack(cluster(), file);
      const after = new Map(
        items.map((item) => [
          `${item.kind}/${item.metadata.namespace ?? ''}/${item.metadata.name}`,
          item.metadata.resourceVersion,
        ]),
      );
      expect(after).toEqual(versions.get(file));
    }
  });

  it('rejects a deliberately broken manifest through the same path', async () => {
    const broken = join(cluster().dir, 'broken.yaml');
    // An unknown field (strict validation) and an invalid port, in a namespace that exists.
    writeFileSync(
      broken,
      `apiVersion: v1
kind: Namespace
metadata:
  name: charts-apply-broken
---
apiVersion: v1
kind: Service
metadata:
  name: not-valid
  namespace: charts-apply-broken
spec:
  selector: { app: x }
  ports:
    - port: 70000
      targetPort: 8080
`,
    );
    const invalidValue = await applyManifest(cluster(), broken);
    expect(invalidValue.code).not.toBe(0);
    expect(invalidValue.stderr).toMatch(/Invalid value: 70000/);

    writeFileSync(
      broken,
      `apiVersion: v1
kind: ConfigMap
metadata:
  name: unknown-field
  namespace: default
data: { a: b }
dataa: { c: d }
`,
    );
    const unknownField = await applyManifest(cluster(), broken);
    expect(unknownField.code).not.toBe(0);
    expect(unknownField.stderr).toMatch(/\.dataa: field not declared in schema|unknown field "dataa"/);
  });

  it('applies charts/optional/*.yaml on top, to prove them valid too', async () => {
    const optional = manifestFiles(optionalDir);
    // The synth writes charts/optional/ (the load-test Jobs): none there is a broken synth, not a pass.
    expect(optional).not.toEqual([]);
    for (const file of optional) {
      const result = await applyManifest(cluster(), file);
      if (result.code !== 0) throw new Error(describeFailure(file, result));
      const declared = objectsIn(file);
      const { items } = await readBack(cluster(), file);
      expect(items).toHaveLength(declared.length);
    }
  });

  // What the API server returns after the applies above, against the synthesized objects.
  let live: Promise<Obj[]> | undefined;
  const liveObjects = (): Promise<Obj[]> =>
    (live ??= (async () => {
      const objects: Obj[] = [];
      for (const file of [...files, ...manifestFiles(optionalDir)])
        objects.push(...(await readBack(cluster(), file)).items);
      return objects;
    })());
  const namespace = defaultValues().namespace;

  it('Services read back with the synthesized type, ports and selector, selecting the pods of their workload', async () => {
    const objects = await liveObjects();
    const workloads = objects.filter((o) => podTemplateOf(o));
    const services = synthesized.filter((o) => o.kind === 'Service') as (Obj & V1Service)[];
    expect(services.map((s) => s.metadata.name).sort()).toEqual([
      'alertmanager',
      'alertscaler',
      'booking-service',
      'booking-service-admin',
      'postgres',
      'prometheus',
      'redis',
    ]);
    const resolved: string[] = [];
    for (const declared of services) {
      const { name } = declared.metadata;
      const service = readBackOf<V1Service>(objects, declared);
      const spec = service.spec!;
      expect([name, spec.type, spec.ports, spec.selector]).toEqual([
        name,
        declared.spec!.type ?? 'ClusterIP',
        declared.spec!.ports!.map(withPortDefaults),
        declared.spec!.selector,
      ]);
      if (declared.spec!.clusterIP === 'None') expect([name, spec.clusterIP]).toEqual([name, 'None']);
      else expect([name, spec.clusterIP]).toEqual([name, expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/)]);

      const selector = spec.selector ?? {};
      expect(Object.keys(selector).length).toBeGreaterThan(0);
      const selected = workloads.filter((w) => selects(selector, podTemplateOf(w)?.metadata?.labels));
      expect([name, selected.map((w) => w.metadata.name)]).toEqual([name, [name.replace(/-admin$/, '')]]);
      expect(['Deployment', 'StatefulSet']).toContain(selected[0]!.kind);

      const containerPorts = podTemplateOf(selected[0]!)!.spec!.containers.flatMap((c) => c.ports ?? []);
      for (const port of spec.ports!) {
        const target = containerPorts.find((p) =>
          typeof port.targetPort === 'string'
            ? p.name === port.targetPort
            : p.containerPort === port.targetPort,
        );
        resolved.push(
          `${name}:${port.port} -> ${target?.containerPort ?? `no container port ${port.targetPort}`}`,
        );
      }
    }
    expect(resolved).not.toContainEqual(expect.stringContaining('no container port'));
    expect(resolved).toContain('booking-service:80 -> 8080');
    expect(resolved).toContain('booking-service-admin:9464 -> 9464');
    expect(resolved).toContain('postgres:5432 -> 5432');
  });

  it('ConfigMaps read back with exactly the synthesized data; the monitoring ones are monitoring/generated/ verbatim', async () => {
    const objects = await liveObjects();
    const configMaps = synthesized.filter((o) => o.kind === 'ConfigMap') as (Obj & V1ConfigMap)[];
    expect(configMaps.map((c) => c.metadata.name)).toEqual(
      expect.arrayContaining([
        'booking-service-config',
        'prometheus-config',
        'prometheus-rules',
        'alertmanager-config',
      ]),
    );
    for (const declared of configMaps) {
      const configMap = readBackOf<V1ConfigMap>(objects, declared);
      expect([declared.metadata.name, configMap.data, configMap.binaryData]).toEqual([
        declared.metadata.name,
        declared.data,
        declared.binaryData,
      ]);
    }
    const data = (name: string): Record<string, string> =>
      readBackOf<V1ConfigMap>(objects, { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name, namespace } })
        .data ?? {};
    expect(data('prometheus-rules')['booking.rules.yml']).toBe(
      readFileSync(join(REPO_ROOT, MONITORING_FILES.rules), 'utf8'),
    );
    expect(data('alertmanager-config')['alertmanager.yml']).toBe(
      readFileSync(join(REPO_ROOT, MONITORING_FILES.alertmanager), 'utf8'),
    );
    expect(data('booking-service-config')).toMatchObject({ REDIS_URL: 'redis://redis:6379', PORT: '8080' });
  });

  it('every Secret a pod spec references is a documented one (names.ts SECRETS); charts/ holds no Secret', async () => {
    const objects = await liveObjects();
    const refs = objects.flatMap(secretRefs);
    expect(refs.map(formatRef).sort()).toEqual(synthesized.flatMap(secretRefs).map(formatRef).sort());

    // booking-redis is read only with redis.mode external (cdk8s/test/modes.unit.test.ts).
    const documented = new Map<string, readonly string[]>(
      Object.values(SECRETS)
        .filter((secret) => secret !== SECRETS.redis)
        .map((secret) => [secret.name, Object.values(secret.keys)]),
    );
    const undocumented = refs.filter((ref) => {
      const keys = documented.get(ref.name);
      return !keys || (ref.key !== undefined && !keys.includes(ref.key));
    });
    expect(undocumented.map(formatRef)).toEqual([]);
    expect([...new Set(refs.map((ref) => ref.name))].sort()).toEqual([...documented.keys()].sort());
    expect(refs.map(formatRef)).toEqual(
      expect.arrayContaining([
        'StatefulSet/postgres volume credentials -> booking-db/password',
        'Deployment/booking-service volume database -> booking-db/database-url',
        'Deployment/booking-service volume secrets -> booking-secrets/admin-token',
        'Deployment/alertscaler volume secrets -> alertmanager-secrets/controller-webhook-token',
      ]),
    );

    // Secret values never live in YAML: none declared, none synthesized, none on the server after the applies.
    const declaredSecrets = [...files, ...manifestFiles(optionalDir)].flatMap((file) =>
      objectsIn(file)
        .filter((ref) => ref.kind === 'Secret')
        .map((ref) => `${file}: Secret/${ref.name}`),
    );
    expect(declaredSecrets).toEqual([]);
    expect(synthesized.filter((o) => o.kind === 'Secret')).toEqual([]);
    const { stdout } = await cluster().kubectl(['get', 'secrets', `--namespace=${namespace}`, '-o', 'json']);
    expect((JSON.parse(stdout) as ReadBack).items.map(objectKey)).toEqual([]);
  });

  it('Roles, RoleBindings and ServiceAccounts read back with exactly the synthesized rules and subjects', async () => {
    const objects = await liveObjects();
    const rbac = synthesized.filter((o) => ['Role', 'RoleBinding', 'ServiceAccount'].includes(o.kind));
    expect(rbac.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'Role/alertscaler',
      'Role/prometheus',
      'RoleBinding/alertscaler',
      'RoleBinding/prometheus',
      'ServiceAccount/alertscaler',
      'ServiceAccount/booking-service',
      'ServiceAccount/prometheus',
    ]);
    // Nothing cluster-wide (the chart tests' expectation), so namespaced RBAC is all there is to compare.
    expect(synthesized.filter((o) => o.kind.startsWith('Cluster') && o.kind !== 'ClusterIP')).toEqual([]);

    const accounts = new Set<string>();
    for (const declared of rbac) {
      const key = objectKey(declared);
      if (declared.kind === 'Role') {
        expect([key, readBackOf<V1Role>(objects, declared).rules]).toEqual([
          key,
          (declared as Obj & V1Role).rules,
        ]);
      } else if (declared.kind === 'RoleBinding') {
        const binding = readBackOf<V1RoleBinding>(objects, declared);
        const expected = declared as Obj & V1RoleBinding;
        expect([key, binding.roleRef, binding.subjects]).toEqual([
          key,
          expected.roleRef,
          withoutEmptyApiGroup(expected.subjects ?? []),
        ]);
        expect(rbac.map(objectKey)).toContain(`Role/${declared.metadata.namespace}/${expected.roleRef.name}`);
      } else {
        const account = readBackOf<V1ServiceAccount>(objects, declared);
        const expected = declared as Obj & V1ServiceAccount;
        expect([key, account.automountServiceAccountToken, account.secrets]).toEqual([
          key,
          expected.automountServiceAccountToken,
          undefined,
        ]);
        accounts.add(`${declared.metadata.namespace}/${declared.metadata.name}`);
      }
    }
    // Every account a pod runs as or a binding grants to is one the charts create.
    const used = [
      ...objects.flatMap((o) => {
        const name = podTemplateOf(o)?.spec?.serviceAccountName;
        return name ? [`${o.metadata.namespace}/${name}`] : [];
      }),
      ...objects
        .filter((o) => o.kind === 'RoleBinding')
        .flatMap((o) =>
          ((o as Obj & V1RoleBinding).subjects ?? [])
            .filter((s) => s.kind === 'ServiceAccount')
            .map((s) => `${s.namespace ?? o.metadata.namespace}/${s.name}`),
        ),
    ];
    expect(used.length).toBeGreaterThanOrEqual(5);
    expect(used.filter((account) => !accounts.has(account))).toEqual([]);
  });

  it('kubectl auth can-i: each bound ServiceAccount has exactly what its Role grants, not secrets or deletes', async () => {
    const expected: [string, boolean][] = [];
    const checks: Access[] = [];
    const check = (access: Access, allowed: boolean): void => {
      checks.push(access);
      expected.push([formatAccess(access), allowed]);
    };
    for (const binding of synthesized.filter((o) => o.kind === 'RoleBinding') as (Obj & V1RoleBinding)[]) {
      const role = readBackOf<V1Role>(synthesized, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: binding.roleRef.name, namespace: binding.metadata.namespace },
      });
      for (const subject of (binding.subjects ?? []).filter((s) => s.kind === 'ServiceAccount')) {
        for (const access of grantedAccesses(subject.namespace ?? namespace, subject.name, role))
          check(access, true);
      }
    }
    expect(checks.length).toBeGreaterThanOrEqual(10);
    const as = (serviceAccount: string, verb: string, resource: string, subresource?: string): Access => ({
      namespace,
      serviceAccount,
      verb,
      resource,
      subresource,
    });
    check(as('prometheus', 'list', 'pods'), true);
    check(as('prometheus', 'list', 'secrets'), false);
    check(as('prometheus', 'get', 'secrets'), false);
    check(as('prometheus', 'list', 'pods', 'log'), false);
    check(as('alertscaler', 'update', 'deployments.apps', 'scale'), true);
    check(as('alertscaler', 'list', 'secrets'), false);
    check(as('alertscaler', 'delete', 'deployments.apps'), false);
    check(as('alertscaler', 'update', 'deployments.apps'), false);
    check(as('alertscaler', 'update', 'leases.coordination.k8s.io/another-lease'), false);
    check(as('booking-service', 'list', 'pods'), false);

    const actual: [string, boolean][] = [];
    for (const access of checks) actual.push([formatAccess(access), await canI(cluster(), access)]);
    expect(actual).toEqual(expected);
  });
});
