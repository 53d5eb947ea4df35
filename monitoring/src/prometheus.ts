// prometheus.yml, as code: the bundle (cdk8s, Kubernetes pod discovery) and the local drill (static targets)
// build theirs here, so the two differ only in where the targets come from.

/** Where one scrape job finds its targets. */
export type ScrapeTargets =
  | { kind: 'static'; addresses: string[]; labels?: Record<string, string> }
  /** Pods of one app instance in one namespace, on one container port (`app.kubernetes.io/{name,instance}`). */
  | { kind: 'pods'; namespace: string; appName: string; instance: string; port: number };

export interface ScrapeJob {
  job: string;
  targets: ScrapeTargets;
}

export interface PrometheusParams {
  scrapeInterval: string;
  evaluationInterval: string;
  ruleFiles: string[];
  /** host:port of each Alertmanager. */
  alertmanagers: string[];
  jobs: ScrapeJob[];
}

function discovery(targets: ScrapeTargets): Record<string, unknown> {
  if (targets.kind === 'static') {
    return {
      static_configs: [{ targets: targets.addresses, ...(targets.labels ? { labels: targets.labels } : {}) }],
    };
  }
  return {
    kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: [targets.namespace] } }],
    relabel_configs: [
      {
        source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'],
        regex: targets.appName,
        action: 'keep',
      },
      {
        source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_instance'],
        regex: targets.instance,
        action: 'keep',
      },
      {
        source_labels: ['__meta_kubernetes_pod_container_port_number'],
        regex: String(targets.port),
        action: 'keep',
      },
      { source_labels: ['__meta_kubernetes_pod_phase'], regex: 'Running', action: 'keep' },
      // The rules group by these: a static target sets them as labels instead.
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
    ],
  };
}

/** prometheus.yml: scrape jobs, the rule files, and alerting to Alertmanager. */
export function prometheusConfig(p: PrometheusParams): Record<string, unknown> {
  return {
    global: { scrape_interval: p.scrapeInterval, evaluation_interval: p.evaluationInterval },
    rule_files: p.ruleFiles,
    alerting: { alertmanagers: [{ static_configs: [{ targets: p.alertmanagers }] }] },
    scrape_configs: p.jobs.map(({ job, targets }) => ({
      job_name: job,
      metrics_path: '/metrics',
      ...discovery(targets),
    })),
  };
}
