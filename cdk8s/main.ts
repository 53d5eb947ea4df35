import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseCommandLine, runMain, type CommandLine } from '@concert-booking/lib';
import { Alertmanager } from './src/alertmanager.js';
import { AlertScalerController, ControllerCrds } from './src/alertscaler.js';
import { BookingService } from './src/booking-service.js';
import type { Chart } from 'cdk8s';
import { Bundle } from './src/bundle.js';
import { CloudNativePgCluster } from './src/cloudnative-pg.js';
import { GrafanaDashboard } from './src/grafana-dashboard.js';
import { HELM_CHART_DIR, helmChart } from './src/helm.js';
import {
  loadMonitoringFiles,
  MonitoringFilesError,
  monitoringFilesFor,
  monitoringWarnings,
  type MonitoringFiles,
} from './src/monitoring-files.js';
import { BundleNamespace } from './src/namespace.js';
import { LoadTests, loadK6Scripts } from './src/load-tests.js';
import { NetworkPolicies } from './src/network-policies.js';
import { OperatorAlerting, OperatorScraping } from './src/operator-monitoring.js';
import { Postgres } from './src/postgres.js';
import { Prometheus } from './src/prometheus.js';
import { Redis } from './src/redis.js';
import { loadValues, type BundleValues } from './src/values.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** postgres.mode: the bundled StatefulSet, a CloudNativePG Cluster, or nothing (a Postgres of your own). */
function postgresFor(chart: Chart, values: BundleValues): void {
  const build = {
    bundled: () => new Postgres(chart, 'postgres', values),
    'cloudnative-pg': () => new CloudNativePgCluster(chart, 'postgres', values),
    external: () => undefined,
  };
  build[values.postgres.mode]();
}

/**
 * The charts of the bundle, one line each: `add(file, build, options)`. `file` orders `kubectl apply`
 * (00 CRDs, 01 namespace, 10.. components, 60 policies); `optional/NN-name` keeps objects (the k6 Jobs) out
 * of the default apply path. Cluster-scoped charts pass `{ namespaced: false }`.
 */
export function buildBundle(
  values: BundleValues,
  committedMonitoring: MonitoringFiles = loadMonitoringFiles(REPO_ROOT),
): Bundle {
  const monitoring = monitoringFilesFor(values, committedMonitoring);
  return new Bundle(values)
    .add('00-crds', (c, v) => new ControllerCrds(c, 'alertscaler-crd', v), { namespaced: false })
    .add('01-namespace', (c, v) => new BundleNamespace(c, 'namespace', v), { namespaced: false })
    .add('10-postgres', (c, v) => postgresFor(c, v))
    .add('20-redis', (c, v) => {
      if (v.redis.mode === 'bundled') new Redis(c, 'redis', v);
    })
    .add('30-booking-service', (c, v) => new BookingService(c, 'booking-service', v))
    .add('40-prometheus', (c, v) => {
      if (v.monitoring.mode === 'operator')
        new OperatorScraping(c, 'prometheus', { values: v, rules: monitoring.rules });
      else new Prometheus(c, 'prometheus', { values: v, rules: monitoring.rules });
    })
    .add('45-grafana-dashboard', (c, v) => {
      if (v.monitoring.grafanaDashboard)
        new GrafanaDashboard(c, 'dashboard', { values: v, dashboard: monitoring.dashboard });
    })
    .add('50-alertmanager', (c, v) => {
      if (v.monitoring.mode === 'operator') new OperatorAlerting(c, 'alertmanager', v);
      else new Alertmanager(c, 'alertmanager', { values: v, config: monitoring.alertmanagerConfig });
    })
    .add('55-alertscaler', (c, v) => new AlertScalerController(c, 'alertscaler', v))
    .add('60-network-policies', (c, v) => new NetworkPolicies(c, 'network-policies', v))
    .add(
      'optional/70-load-tests',
      (c, v) => new LoadTests(c, 'load-tests', { values: v, scripts: loadK6Scripts(REPO_ROOT) }),
    );
}

const COMMAND: CommandLine<{ out: { type: 'string' }; 'helm-out': { type: 'string' } }> = {
  name: 'npm run synth --',
  usage: `[--out charts] [--helm-out helm/concert-booking]
  Synthesizes the bundle's manifests into --out (default: charts/ at the repository root), with BUNDLE_VALUES's
  values file over the defaults when it is set, and the Helm chart generated from them into --helm-out
  (default: ${HELM_CHART_DIR} at the repository root, written only when --out is not given or --helm-out is).`,
  options: { out: { type: 'string' }, 'helm-out': { type: 'string' } },
};

/** The generated Helm chart of `values` (see src/helm.ts). */
export function bundleHelmChart(
  values: BundleValues,
  committedMonitoring: MonitoringFiles = loadMonitoringFiles(REPO_ROOT),
): Map<string, string> {
  return helmChart(values, (v) => buildBundle(v, committedMonitoring).manifests());
}

/** Replaces the chart directory's content with `files` (a template gone from the app is gone from the chart). */
function writeHelmChart(dir: string, files: Map<string, string>): void {
  rmSync(dir, { recursive: true, force: true });
  for (const [file, text] of files) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
}

/** `tsx cdk8s/main.ts [--out dir] [--helm-out dir]`: synthesizes the charts and the Helm chart. */
function main(argv: string[]): void {
  const { values } = parseCommandLine(COMMAND, argv);
  const outdir = resolve(values.out ?? resolve(REPO_ROOT, 'charts'));
  const helmDir = values['helm-out'] ?? (values.out ? undefined : resolve(REPO_ROOT, HELM_CHART_DIR));
  let monitoring: MonitoringFiles;
  try {
    monitoring = loadMonitoringFiles(REPO_ROOT);
  } catch (error) {
    if (!(error instanceof MonitoringFilesError)) throw error;
    console.error(`synth: ${error.message}`);
    process.exit(1);
  }
  const bundleValues = loadValues();
  for (const warning of monitoringWarnings(bundleValues)) console.error(`synth: warning: ${warning}`);
  const files = buildBundle(bundleValues, monitoring).synth(outdir);
  for (const file of files) console.log(`${outdir}/${file}`);
  if (helmDir === undefined) return;
  const chart = bundleHelmChart(bundleValues, monitoring);
  writeHelmChart(resolve(helmDir), chart);
  for (const file of chart.keys()) console.log(`${resolve(helmDir)}/${file}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  runMain(COMMAND, async () => main(process.argv.slice(2)));
}
