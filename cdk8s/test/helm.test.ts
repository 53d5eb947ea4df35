// The generated Helm chart rendered by Helm itself (v3, built by scripts/check-tools.sh from the Go module
// proxy): `helm lint` finds nothing, `helm template` with the defaults gives charts/ object for object, and
// with values set through `--set` what synth gives with the same BUNDLE_SET, in every mode.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { checkTools } from '@concert-booking/devkit/cluster/binaries';
import { buildBundle, REPO_ROOT } from '../main.js';
import { HELM_CHART_DIR, HELM_VALUES, modeCombinations } from '../src/helm.js';
import { loadMonitoringFiles } from '../src/monitoring-files.js';
import { defaultValues, KUBERNETES_VERSION, loadValues } from '../src/values.js';

const NAMESPACE = defaultValues().namespace;
let helmBinary: string;
beforeAll(async () => {
  helmBinary = join(await checkTools(), 'helm');
}, 30 * 60_000);

function helm(args: string[]) {
  const result = spawnSync(helmBinary, args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, HELM_CACHE_HOME: '/nonexistent', HELM_CONFIG_HOME: '/nonexistent' },
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

type Objects = Map<string, unknown[]>;
const parseObjects = (text: string) =>
  parseAllDocuments(text)
    .map((doc) => doc.toJS() as unknown)
    .filter((o) => o !== null);

/**
 * `helm template` output by charts/ file: Helm heads each object with `# Source: <chart>/templates/<file>`
 * (`<chart>/crds/<file>` for the CRDs),
 * and orders them by kind, so each file's objects are sorted by kind and name for the comparison.
 */
function helmTemplate(set?: string): Objects {
  const args = [
    'template',
    'concert-booking',
    HELM_CHART_DIR,
    ...['--namespace', NAMESPACE, '--include-crds', '--kube-version', `${KUBERNETES_VERSION}.0`],
  ];
  const { status, stdout, stderr } = helm(set ? [...args, '--set', set] : args);
  if (status !== 0) throw new Error(`helm template: ${stderr}`);
  const out: Objects = new Map();
  let file = '';
  // A crds/ file is printed whole after one # Source:, its own `---` separators included.
  for (const part of stdout.split(/^---\n/m).filter((p) => p.trim())) {
    const source = /^# Source: [^/]+\/(?:templates|crds)\/(.+)\.yaml$/m.exec(part);
    if (source) file = `${source[1]}.k8s.yaml`;
    if (!file) throw new Error(`helm template: an object before any # Source: ${part.slice(0, 200)}`);
    out.set(file, [...(out.get(file) ?? []), ...parseObjects(part)]);
  }
  return sorted(out);
}

const objectKey = (o: unknown) => {
  const { kind, metadata } = o as { kind: string; metadata: { name: string } };
  return `${kind}/${metadata.name}`;
};

/** By file and object; without optional/ and the namespace, which the install steps create before Helm runs. */
function sorted(files: Objects): Objects {
  return new Map(
    [...files]
      .filter(([file]) => !file.startsWith('optional/') && file !== '01-namespace.k8s.yaml')
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([file, objects]) => [
        file,
        [...objects].sort((a, b) => objectKey(a).localeCompare(objectKey(b))),
      ]),
  );
}

const monitoring = loadMonitoringFiles(REPO_ROOT);
const synthWith = (set: string): Objects =>
  sorted(buildBundle(loadValues({ BUNDLE_SET: set }), monitoring).manifests());

/** A value other than the default for every templated field (the test below keeps it complete). */
const EVERY_FIELD_CHANGED: Record<(typeof HELM_VALUES)[number], string | number> = {
  'image.repository': 'registry.example.com/team/concert-booking',
  'image.tag': '0.2.0-rc.1',
  'image.pullPolicy': 'Always',
  'service.pdbMaxUnavailable': 2,
  'service.resources.requests.cpu': '300m',
  'service.resources.requests.memory': '300Mi',
  'service.resources.limits.cpu': '1500m',
  'service.resources.limits.memory': '768Mi',
  'alertscaler.replicas': 3,
  'alertscaler.pdbMaxUnavailable': 2,
  'postgres.cloudnativePg.instances': 5,
  'postgres.cloudnativePg.operatorNamespace': 'postgres-operator',
  'monitoring.operator.namespace': 'observability',
  'postgres.storageSize': '50Gi',
  'postgres.resources.requests.cpu': '500m',
  'postgres.resources.requests.memory': '1Gi',
  'postgres.resources.limits.cpu': '3500m',
  'postgres.resources.limits.memory': '2Gi',
  'redis.resources.requests.cpu': '150m',
  'redis.resources.requests.memory': '192Mi',
  'redis.resources.limits.cpu': '750m',
  'redis.resources.limits.memory': '400Mi',
  'prometheus.storageSize': '20Gi',
  'prometheus.retention': '30d',
  'prometheus.resources.requests.cpu': '400m',
  'prometheus.resources.requests.memory': '768Mi',
  'prometheus.resources.limits.cpu': '1800m',
  'prometheus.resources.limits.memory': '2Gi',
  'alertmanager.resources.requests.cpu': '60m',
  'alertmanager.resources.requests.memory': '80Mi',
  'alertmanager.resources.limits.cpu': '300m',
  'alertmanager.resources.limits.memory': '160Mi',
};
const everyFieldChanged = Object.entries(EVERY_FIELD_CHANGED)
  .map(([path, value]) => `${path}=${value}`)
  .join(',');

describe('the generated Helm chart, rendered by Helm', () => {
  test('helm lint --strict finds nothing', () => {
    const { status, stdout, stderr } = helm([
      'lint',
      '--strict',
      HELM_CHART_DIR,
      '--kube-version',
      KUBERNETES_VERSION,
    ]);
    expect(`${stdout}${stderr}`).not.toMatch(/\[(WARNING|ERROR)\]/);
    expect(stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(status).toBe(0);
  });

  test('helm template with the defaults gives charts/ but the namespace, object for object', () => {
    const chartsDir = join(REPO_ROOT, 'charts');
    const committed: Objects = sorted(
      new Map(
        readdirSync(chartsDir)
          .filter((f) => f.endsWith('.k8s.yaml'))
          .map((f) => [f, parseObjects(readFileSync(join(chartsDir, f), 'utf8'))]),
      ),
    );
    expect(helmTemplate()).toEqual(committed);
  });

  test('every templated field has a changed value below', () => {
    expect(Object.keys(EVERY_FIELD_CHANGED).sort()).toEqual([...HELM_VALUES].sort());
  });

  test.each(
    modeCombinations().map((combo) => {
      const set = Object.entries(combo)
        .map(([path, mode]) => `${path}=${mode}`)
        .join(',');
      return [set];
    }),
  )('--set %s, and every templated field changed, gives what synth gives with BUNDLE_SET', (modes) => {
    const set = `${modes},${everyFieldChanged}`;
    const rendered = helmTemplate(set);
    expect(rendered).toEqual(synthWith(set));
    expect(JSON.stringify([...rendered.values()])).toContain(
      'registry.example.com/team/concert-booking:0.2.0-rc.1',
    );
  });

  test.each([
    [
      'a field the chart does not template',
      'service.maxReplicas=4',
      /additional properties 'maxReplicas' not allowed/,
    ],
    ['a mode that does not exist', 'postgres.mode=sharded', /postgres\/mode.*must be one of/],
    ['a value the bundle schema refuses', 'service.resources.limits.memory=lots', /limits\/memory/],
  ])('refuses %s, naming it', (_what, set, error) => {
    const { status, stderr } = helm([
      'template',
      'x',
      HELM_CHART_DIR,
      ...['--namespace', NAMESPACE, '--kube-version', KUBERNETES_VERSION, '--set', set],
    ]);
    expect(status).not.toBe(0);
    expect(stderr).toMatch(error);
  });

  test('refuses a release namespace other than the one the objects name', () => {
    const { status, stderr } = helm([
      'template',
      'x',
      HELM_CHART_DIR,
      '--namespace',
      'tickets',
      '--kube-version',
      KUBERNETES_VERSION,
    ]);
    expect(status).not.toBe(0);
    expect(stderr).toContain(`install into the namespace the chart was generated for, ${NAMESPACE}`);
  });
});
