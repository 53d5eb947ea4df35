// charts/ against a real API server (test-support/cluster.ts): every charts/*.yaml is applied with
// `kubectl apply --server-side` in file-name order (numeric prefixes: CRDs and the namespace first),
// a second apply changes nothing, every object reads back, and a broken manifest fails the same path.
// charts/optional/*.yaml is not part of the default set; it is applied afterwards to prove it valid too.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describeWithCluster, type KubectlResult, type TestCluster } from '../../test-support/cluster.js';

const chartsDir = fileURLToPath(new URL('../../charts/', import.meta.url));
const optionalDir = join(chartsDir, 'optional');

interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

interface ReadBack {
  items: { kind: string; metadata: { name: string; namespace?: string; resourceVersion: string } }[];
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
  if (crds.length > 0) {
    return cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crds], {
      allowFailure: true,
    });
  }
  return result;
}

async function readBack(cluster: TestCluster, file: string): Promise<ReadBack> {
  const { stdout } = await cluster.kubectl(['get', '-f', file, '-o', 'json']);
  const parsed = JSON.parse(stdout) as ReadBack | ReadBack['items'][number];
  return 'items' in parsed ? parsed : { items: [parsed] };
}

function describeFailure(file: string, result: KubectlResult): string {
  return `${file}: kubectl exited ${result.code}\n${result.stderr}${result.stdout}`;
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
    if (optional.length === 0) {
      process.stderr.write(`charts-apply: no charts/optional/*.yaml to apply\n`);
      return;
    }
    for (const file of optional) {
      const result = await applyManifest(cluster(), file);
      if (result.code !== 0) throw new Error(describeFailure(file, result));
      const declared = objectsIn(file);
      const { items } = await readBack(cluster(), file);
      expect(items).toHaveLength(declared.length);
    }
  });
});
