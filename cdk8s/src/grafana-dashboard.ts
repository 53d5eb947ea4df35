import { k8s } from 'cdk8s-plus-33';
import { Construct } from 'constructs';
import { appMetadata } from './labels.js';
import type { BundleValues } from './values.js';

/** The label the Grafana dashboard sidecar (k8s-sidecar, as kube-prometheus-stack runs it) watches for. */
export const GRAFANA_DASHBOARD_LABEL = { grafana_dashboard: '1' } as const;
export const DASHBOARD_KEY = 'booking.json';

export interface GrafanaDashboardProps {
  readonly values: BundleValues;
  /** The dashboard JSON (monitoring/dashboards/booking.json, rendered from monitoring/src/dashboard.ts). */
  readonly dashboard: string;
}

/** ConfigMap `booking-dashboard`: the dashboard, for a Grafana whose sidecar loads labelled ConfigMaps. */
export class GrafanaDashboard extends Construct {
  constructor(scope: Construct, id: string, props: GrafanaDashboardProps) {
    super(scope, id);
    const metadata = appMetadata(props.values, 'dashboard');
    new k8s.KubeConfigMap(this, 'config-map', {
      metadata: { ...metadata, labels: { ...metadata.labels, ...GRAFANA_DASHBOARD_LABEL } },
      data: { [DASHBOARD_KEY]: props.dashboard },
    });
  }
}
