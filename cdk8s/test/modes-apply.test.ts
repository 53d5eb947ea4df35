// The non-default modes against a real API server (issue 17): postgres.mode cloudnative-pg's Cluster is
// validated by the CloudNativePG CRD and monitoring.mode operator's PodMonitors, PrometheusRule and
// AlertmanagerConfig by the prometheus-operator CRDs (each from its Go module, pinned below), and the external
// modes apply. Broken objects are refused through the same path, so the CRDs' schemas are what judges.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@concert-booking/devkit/wait';
import { describeWithCluster, type TestCluster } from '@concert-booking/devkit/cluster/envtest';
import { buildBundle, REPO_ROOT } from '../main.js';
import { loadMonitoringFiles } from '../src/monitoring-files.js';
import { parse } from 'yaml';
import { valuesWith, type ValuesOverride } from '../src/values.js';

/** The CloudNativePG release whose CRDs validate the Cluster the bundle emits. */
const CNPG_MODULE = 'github.com/cloudnative-pg/cloudnative-pg@v1.27.0';

/** The prometheus-operator release whose CRDs (example/prometheus-operator-crd) validate monitoring.mode operator. */
const PROMETHEUS_OPERATOR_MODULE = 'github.com/prometheus-operator/prometheus-operator@v0.85.0';
const PROMETHEUS_OPERATOR_CRDS = ['podmonitors', 'prometheusrules', 'alertmanagerconfigs'];

/** A module's files from the Go module proxy (checksum-verified by the go command), as a directory. */
function goModuleDir(module: string): string {
  const out = execFileSync('go', ['mod', 'download', '-json', module], {
    cwd: tmpdir(),
    encoding: 'utf8',
    env: { ...process.env, GOFLAGS: '-mod=mod' },
  });
  return (JSON.parse(out) as { Dir: string }).Dir;
}

/** Waits for CRDs to be served (kubectl wait fails while a new CRD has no status yet). */
async function established(cluster: TestCluster, target: string[]): Promise<void> {
  await waitFor(
    async () => {
      const { stdout } = await cluster.kubectl(
        [
          'get',
          ...target,
          '-o',
          'jsonpath={.items[*].status.conditions[?(@.type=="Established")].status}{.status.conditions[?(@.type=="Established")].status}',
        ],
        { allowFailure: true },
      );
      return (
        stdout.trim().length > 0 &&
        stdout
          .trim()
          .split(/\s+/)
          .every((s) => s === 'True')
      );
    },
    60_000,
    `CRDs ${target.join(' ')} established`,
  );
}

async function apply(cluster: TestCluster, file: string) {
  return cluster.kubectl(
    ['apply', '--server-side', '--field-manager=modes-test', '--validate=strict', '-f', file],
    {
      allowFailure: true,
      timeoutMs: 120_000,
    },
  );
}

/** Synthesizes `override` into a fresh directory and applies every file in name order; returns the files. */
async function synthAndApply(cluster: TestCluster, override: ValuesOverride): Promise<string[]> {
  const out = mkdtempSync(join(tmpdir(), 'modes-'));
  const files = buildBundle(valuesWith(override), loadMonitoringFiles(REPO_ROOT))
    .synth(out)
    .filter((file) => !file.startsWith('optional/'));
  for (const file of files) {
    const result = await apply(cluster, join(out, file));
    if (result.code !== 0) throw new Error(`${file}: ${result.stderr}`);
    if (file.startsWith('00-crds')) await established(cluster, ['-f', join(out, file)]);
  }
  return files;
}

describeWithCluster('the postgres and redis modes applied to a real API server', (cluster) => {
  beforeAll(async () => {
    const crds = join(goModuleDir(CNPG_MODULE), 'config', 'crd', 'bases');
    const clusters = readdirSync(crds).find((f) => f === 'postgresql.cnpg.io_clusters.yaml');
    if (!clusters) throw new Error(`${CNPG_MODULE} has no Cluster CRD under config/crd/bases`);
    const result = await apply(cluster(), join(crds, clusters));
    if (result.code !== 0) throw new Error(result.stderr);
    await established(cluster(), ['crd/clusters.postgresql.cnpg.io']);
    const operatorCrds = join(goModuleDir(PROMETHEUS_OPERATOR_MODULE), 'example', 'prometheus-operator-crd');
    for (const plural of PROMETHEUS_OPERATOR_CRDS) {
      const applied = await apply(cluster(), join(operatorCrds, `monitoring.coreos.com_${plural}.yaml`));
      if (applied.code !== 0) throw new Error(applied.stderr);
    }
    await established(
      cluster(),
      PROMETHEUS_OPERATOR_CRDS.map((plural) => `crd/${plural}.monitoring.coreos.com`),
    );
  }, 10 * 60_000);

  it('monitoring operator: PodMonitors, PrometheusRule and AlertmanagerConfig are valid and read back as synthesized', async () => {
    const files = await synthAndApply(cluster(), {
      namespace: 'mode-operator',
      monitoring: { mode: 'operator' },
    });
    expect(files).toEqual(expect.arrayContaining(['40-prometheus.k8s.yaml', '50-alertmanager.k8s.yaml']));
    const get = async (resource: string) =>
      JSON.parse(
        (await cluster().kubectl(['get', resource, '-n', 'mode-operator', '-o', 'json'])).stdout,
      ) as {
        items: { metadata: { name: string }; spec: Record<string, unknown> }[];
      };
    const monitors = await get('podmonitors.monitoring.coreos.com');
    expect(monitors.items.map((m) => m.metadata.name).sort()).toEqual(['alertscaler', 'booking-service']);
    const [rule] = (await get('prometheusrules.monitoring.coreos.com')).items;
    const committed = parse(loadMonitoringFiles(REPO_ROOT).rules) as { groups: unknown[] };
    expect(rule!.spec.groups).toEqual(committed.groups);
    const [config] = (await get('alertmanagerconfigs.monitoring.coreos.com')).items;
    expect((config!.spec.receivers as { name: string }[]).map((r) => r.name)).toEqual([
      'alertscaler',
      'booking-page',
      'booking-ticket',
    ]);
    expect(JSON.stringify(config!.spec.receivers)).toContain(
      'http://alertscaler.mode-operator.svc:8080/alerts',
    );
    const { stdout } = await cluster().kubectl([
      'get',
      'statefulsets,deployments',
      '-n',
      'mode-operator',
      '-o',
      'name',
    ]);
    expect(stdout).not.toMatch(/prometheus|alertmanager/);
  });

  it.each([
    [
      'a matcher type Alertmanager does not have',
      'apiVersion: monitoring.coreos.com/v1alpha1\nkind: AlertmanagerConfig\nmetadata: { name: broken, namespace: mode-operator }\n' +
        'spec:\n  route: { receiver: x, matchers: [{ name: a, value: b, matchType: "==" }] }\n  receivers: [{ name: x }]\n',
      /matchType/,
    ],
    [
      'a PodMonitor endpoint field that does not exist',
      'apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata: { name: broken, namespace: mode-operator }\n' +
        'spec:\n  selector: {}\n  podMetricsEndpoints: [{ port: admin, paht: /metrics }]\n',
      /paht/,
    ],
  ])('an operator object the CRD refuses is refused: %s', async (_what, yaml, error) => {
    const broken = join(mkdtempSync(join(tmpdir(), 'modes-broken-')), 'broken.yaml');
    writeFileSync(broken, yaml);
    const result = await apply(cluster(), broken);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(error);
  });

  it('cloudnative-pg: the Cluster is valid for the CloudNativePG CRD and reads back as synthesized', async () => {
    const files = await synthAndApply(cluster(), {
      namespace: 'mode-cnpg',
      postgres: { mode: 'cloudnative-pg' },
    });
    expect(files).toContain('10-postgres.k8s.yaml');
    const { stdout } = await cluster().kubectl([
      'get',
      'clusters.postgresql.cnpg.io',
      'postgres',
      '-n',
      'mode-cnpg',
      '-o',
      'json',
    ]);
    const live = JSON.parse(stdout) as {
      spec: { instances: number; bootstrap: unknown; inheritedMetadata: unknown };
    };
    expect(live.spec.instances).toBe(3);
    expect(live.spec.bootstrap).toMatchObject({ initdb: { database: 'booking', owner: 'booking' } });
    expect(live.spec.inheritedMetadata).toMatchObject({ labels: { 'app.kubernetes.io/name': 'postgres' } });
  });

  it.each([
    ['an instance count of 0', '  instances: 0\n', /spec\.instances/],
    ['an unknown field', '  instances: 1\n  replicaz: 2\n', /replicaz/],
  ])('a Cluster the CRD refuses is refused: %s', async (_what, spec, error) => {
    const broken = join(mkdtempSync(join(tmpdir(), 'modes-broken-')), 'broken.yaml');
    writeFileSync(
      broken,
      'apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: { name: broken, namespace: mode-cnpg }\n' +
        `spec:\n  storage: { size: 1Gi }\n${spec}`,
    );
    const result = await apply(cluster(), broken);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(error);
  });

  it('external: no Postgres or Redis objects, and the rest applies', async () => {
    const files = await synthAndApply(cluster(), {
      namespace: 'mode-external',
      postgres: { mode: 'external' },
      redis: { mode: 'external' },
    });
    expect(files.filter((f) => /^(10-postgres|20-redis)/.test(f))).toEqual([]);
    const { stdout } = await cluster().kubectl([
      'get',
      'statefulsets,deployments',
      '-n',
      'mode-external',
      '-o',
      'name',
    ]);
    expect(stdout.trim().split('\n').sort()).toEqual([
      'deployment.apps/alertmanager',
      'deployment.apps/alertscaler',
      'deployment.apps/booking-service',
      'statefulset.apps/prometheus',
    ]);
  });
});
