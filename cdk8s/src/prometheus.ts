import { Construct } from 'constructs';
import * as kplus from 'cdk8s-plus-33';
import { k8s } from 'cdk8s-plus-33';
import { stringify } from 'yaml';
import { prometheusConfig } from '@concert-booking/monitoring/prometheus';
import {
  checksum,
  clusterIpService,
  configMapVolume,
  containerPort,
  emptyDir,
  httpProbe,
  isolatedPod,
  probeTiming,
  restrictedContainer,
  retainedDataClaim,
  servicePort,
} from './common.js';
import { APPS, type AppKey, appLabelling, imageVersion } from './labels.js';
import { PORTS } from './names.js';
import type { BundleValues } from './values.js';

/** uid/gid `nobody`, as in the official Prometheus and Alertmanager images. */
export const NOBODY_UID = 65534;
const CONFIG_DIR = '/etc/prometheus/config';
const RULES_DIR = '/etc/prometheus/rules';
/** Key of the rule file in the ConfigMap `prometheus-rules` (and its name under /etc/prometheus/rules/). */
export const RULES_FILE = 'booking.rules.yml';

/**
 * Pods Prometheus scrapes, by job name: pods of `app` in the bundle's namespace, on the container port
 * `port` (named `portName`), path /metrics. The NetworkPolicies open exactly these flows.
 */
export const SCRAPE_TARGETS: readonly { job: string; app: AppKey; port: number; portName: string }[] = [
  { job: 'booking-service', app: 'bookingService', port: PORTS.bookingServiceAdmin, portName: 'admin' },
  { job: 'alertscaler', app: 'alertscaler', port: PORTS.alertscaler, portName: 'http' },
];

/** prometheus.yml: pod discovery limited to the namespace (monitoring/src/prometheus.ts), rules, alerting. */
export function bundlePrometheusConfig(values: BundleValues): Record<string, unknown> {
  const p = values.prometheus;
  return prometheusConfig({
    scrapeInterval: p.scrapeInterval,
    evaluationInterval: p.evaluationInterval,
    ruleFiles: [`${RULES_DIR}/*.yml`],
    alertmanagers: [`${APPS.alertmanager.name}:${PORTS.alertmanager}`],
    jobs: [
      { job: 'prometheus', targets: { kind: 'static', addresses: [`localhost:${PORTS.prometheus}`] } },
      ...SCRAPE_TARGETS.map(({ job, app, port }) => ({
        job,
        targets: {
          kind: 'pods' as const,
          namespace: values.namespace,
          appName: APPS[app].name,
          instance: values.instance,
          port,
        },
      })),
    ],
  });
}

export interface PrometheusProps {
  readonly values: BundleValues;
  /** The rule file text (monitoring/generated/booking.rules.yml). */
  readonly rules: string;
}

/**
 * Prometheus: ServiceAccount + Role/RoleBinding (get/list/watch pods in the namespace: what pod discovery
 * needs), ConfigMaps `prometheus-config` and `prometheus-rules`, StatefulSet `prometheus` with a volume
 * claim for the TSDB, Service `prometheus:9090`.
 */
export class Prometheus extends Construct {
  readonly configMap: k8s.KubeConfigMap;
  readonly rulesConfigMap: k8s.KubeConfigMap;
  readonly role: kplus.Role;
  readonly statefulSet: k8s.KubeStatefulSet;
  readonly service: k8s.KubeService;

  constructor(scope: Construct, id: string, props: PrometheusProps) {
    super(scope, id);
    const { values, rules } = props;
    const p = values.prometheus;
    const name = APPS.prometheus.name;
    const { selector, labels, metadata } = appLabelling(values, 'prometheus', imageVersion(p.image));
    const config = stringify(bundlePrometheusConfig(values));

    const serviceAccount = new kplus.ServiceAccount(this, 'service-account', {
      metadata: metadata(),
      automountToken: false,
    });
    this.role = new kplus.Role(this, 'role', { metadata: metadata() });
    this.role.allowRead(kplus.ApiResource.PODS);
    const binding = new kplus.RoleBinding(this, 'role-binding', { metadata: metadata(), role: this.role });
    binding.addSubjects(serviceAccount);

    this.configMap = new k8s.KubeConfigMap(this, 'config', {
      metadata: metadata(`${name}-config`),
      data: { 'prometheus.yml': config },
    });
    this.rulesConfigMap = new k8s.KubeConfigMap(this, 'rules', {
      metadata: metadata(`${name}-rules`),
      data: { [RULES_FILE]: rules },
    });

    this.service = clusterIpService(this, metadata(), selector, servicePort('http', PORTS.prometheus));

    this.statefulSet = new k8s.KubeStatefulSet(this, 'statefulset', {
      metadata: metadata(),
      spec: {
        serviceName: name,
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: {
            labels,
            annotations: { 'checksum/config': checksum(config), 'checksum/rules': checksum(rules) },
          },
          spec: {
            serviceAccountName: name,
            ...isolatedPod(NOBODY_UID),
            // Pod discovery reads the API with this token.
            automountServiceAccountToken: true,
            terminationGracePeriodSeconds: 60,
            containers: [
              restrictedContainer(
                {
                  name: 'prometheus',
                  image: p.image,
                  args: [
                    `--config.file=${CONFIG_DIR}/prometheus.yml`,
                    '--storage.tsdb.path=/prometheus',
                    `--storage.tsdb.retention.time=${p.retention}`,
                    `--web.listen-address=:${PORTS.prometheus}`,
                  ],
                  ports: [containerPort('http', PORTS.prometheus)],
                  // WAL replay after a restart can take minutes.
                  startupProbe: httpProbe('/-/ready', 'http', probeTiming(5, 60, 3)),
                  livenessProbe: httpProbe('/-/healthy', 'http', probeTiming(15, 4, 5)),
                  readinessProbe: httpProbe('/-/ready', 'http', probeTiming(5, 3, 3)),
                  volumeMounts: [
                    { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                    { name: 'rules', mountPath: RULES_DIR, readOnly: true },
                    { name: 'data', mountPath: '/prometheus' },
                    { name: 'tmp', mountPath: '/tmp' },
                  ],
                },
                p.resources,
              ),
            ],
            volumes: [
              configMapVolume('config', `${name}-config`),
              configMapVolume('rules', `${name}-rules`),
              emptyDir('tmp'),
            ],
          },
        },
        ...retainedDataClaim(labels, p),
      },
    });
  }
}
