import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { alertmanagerConfig } from '@concert-booking/monitoring/alertmanager';
import { alertmanagerConfigSpec, prometheusRuleSpec } from '@concert-booking/monitoring/operator';
import type { RuleFile } from '@concert-booking/monitoring/rules';
import { parse } from 'yaml';
import { APPS, appMetadata, selectorLabels } from './labels.js';
import { alertmanagerOverrides } from './monitoring-files.js';
import { PORTS, SECRETS } from './names.js';
import { SCRAPE_TARGETS } from './prometheus.js';
import type { BundleValues } from './values.js';

/** The prometheus-operator API group and the versions its CRDs (v0.85) serve for the objects below. */
const MONITORING_V1 = 'monitoring.coreos.com/v1';
const MONITORING_V1ALPHA1 = 'monitoring.coreos.com/v1alpha1';

/** The webhook the operator's Alertmanager, in another namespace, calls: the controller's Service by its full name. */
export function controllerWebhookUrl(values: BundleValues): string {
  return `http://${APPS.alertscaler.name}.${values.namespace}.svc:${PORTS.alertscaler}/alerts`;
}

/** The metadata of an operator object: the app's labels plus the ones the operator's selectors want. */
function operatorMetadata(values: BundleValues, app: 'prometheus' | 'alertmanager', name: string) {
  const metadata = appMetadata(values, app, { name });
  return { ...metadata, labels: { ...metadata.labels, ...values.monitoring.operator.resourceLabels } };
}

export interface OperatorScrapingProps {
  readonly values: BundleValues;
  /** The rule file text (monitoring/generated/booking.rules.yml), the one the bundled Prometheus mounts. */
  readonly rules: string;
}

/**
 * monitoring.mode operator, in place of the bundle's Prometheus: one PodMonitor per scrape job of the bundled
 * Prometheus (same pods, port, path and `job` label, so the rules read the same series) and the
 * PrometheusRule `booking` holding the rule groups.
 */
export class OperatorScraping extends Construct {
  constructor(scope: Construct, id: string, props: OperatorScrapingProps) {
    super(scope, id);
    const { values, rules } = props;
    for (const { job, app, portName } of SCRAPE_TARGETS) {
      new ApiObject(this, `pod-monitor-${job}`, {
        apiVersion: MONITORING_V1,
        kind: 'PodMonitor',
        metadata: operatorMetadata(values, 'prometheus', job),
        spec: {
          selector: { matchLabels: selectorLabels(values, app) },
          podMetricsEndpoints: [
            {
              port: portName,
              path: '/metrics',
              interval: values.prometheus.scrapeInterval,
              // The bundled scrape config names the job; the operator would name it <namespace>/<PodMonitor>.
              relabelings: [{ targetLabel: 'job', replacement: job }],
            },
          ],
        },
      });
    }
    new ApiObject(this, 'rules', {
      apiVersion: MONITORING_V1,
      kind: 'PrometheusRule',
      metadata: operatorMetadata(values, 'prometheus', 'booking'),
      spec: prometheusRuleSpec(parse(rules) as RuleFile),
    });
  }
}

/**
 * monitoring.mode operator, in place of the bundle's Alertmanager: the AlertmanagerConfig `booking`, the
 * routing of monitoring/src/alertmanager.ts with the controller's webhook at its full name; the files that
 * configuration reads are the keys of the same Secret `alertmanager-secrets`. The operator confines it to
 * alerts whose `namespace` label is this namespace, which every alert of the rules keeps.
 */
export class OperatorAlerting extends Construct {
  constructor(scope: Construct, id: string, values: BundleValues) {
    super(scope, id);
    const { name, mountPath, keys } = SECRETS.alertmanager;
    const secretFor = (file: string) => {
      const key = file.startsWith(`${mountPath}/`) ? file.slice(mountPath.length + 1) : undefined;
      if (!key || !(Object.values(keys) as string[]).includes(key))
        throw new Error(`${file}: not a key of Secret ${name} (${Object.values(keys).join(', ')})`);
      return { name, key };
    };
    new ApiObject(this, 'config', {
      apiVersion: MONITORING_V1ALPHA1,
      kind: 'AlertmanagerConfig',
      metadata: operatorMetadata(values, 'alertmanager', 'booking'),
      spec: alertmanagerConfigSpec(
        alertmanagerConfig({
          ...alertmanagerOverrides(values),
          controllerWebhookUrl: controllerWebhookUrl(values),
          secretsDir: mountPath,
        }),
        secretFor,
      ),
    });
  }
}
