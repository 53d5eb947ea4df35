import { Chart, Testing } from 'cdk8s';
import { buildBundle } from '../main.js';
import type { MonitoringFiles } from '../src/monitoring-files.js';
import { defaultValues, type BundleValues } from '../src/values.js';

/** A synthesized object, as plain JSON. */
export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** Fixed monitoring files, so component tests do not depend on monitoring/generated/. */
export const MONITORING_FIXTURE: MonitoringFiles = {
  rules: 'groups:\n  - name: fixture\n    rules: []\n',
  alertmanagerConfig: 'route:\n  receiver: fixture\nreceivers:\n  - name: fixture\n',
  dashboard: '{"title": "fixture"}\n',
};

/** The objects one construct synthesizes into a fresh chart (namespaced like the bundle's charts). */
export function render(build: (chart: Chart) => void, namespace = 'concert-booking'): Obj[] {
  const chart = new Chart(Testing.app(), 'test', { namespace, disableResourceNameHashes: true });
  build(chart);
  return chart.toJson() as Obj[];
}

/** Every object of the bundle by chart file (fixture monitoring files unless given). */
export function bundleFiles(
  values: BundleValues = defaultValues(),
  monitoring: MonitoringFiles = MONITORING_FIXTURE,
): Map<string, Obj[]> {
  return buildBundle(values, monitoring).manifests() as Map<string, Obj[]>;
}

export function allObjects(values?: BundleValues, monitoring?: MonitoringFiles): Obj[] {
  return [...bundleFiles(values, monitoring).values()].flat();
}

/** The one object of `kind` named `name`; fails the test when missing or duplicated. */
export function find<T = Obj>(objects: Obj[], kind: string, name: string): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0] as T;
}
