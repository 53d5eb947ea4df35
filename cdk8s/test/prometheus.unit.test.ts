import type {
  V1ConfigMap,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
  V1StatefulSet,
} from '@kubernetes/client-node';
import { parse } from 'yaml';
import { Prometheus } from '../src/prometheus.js';
import { defaultValues, valuesWith } from '../src/values.js';
import { find, MONITORING_FIXTURE, render } from './support.js';

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  static_configs?: { targets: string[] }[];
  kubernetes_sd_configs?: { role: string; namespaces: { names: string[] } }[];
  relabel_configs?: { source_labels: string[]; regex?: string; action?: string; target_label?: string }[];
}
interface PrometheusConfig {
  global: Record<string, string>;
  rule_files: string[];
  alerting: { alertmanagers: { static_configs: { targets: string[] }[] }[] };
  scrape_configs: ScrapeConfig[];
}

const values = defaultValues();
const build = (v = values) =>
  render((chart) => new Prometheus(chart, 'prometheus', { values: v, rules: MONITORING_FIXTURE.rules }));
const objects = build();
const sts = find<V1StatefulSet>(objects, 'StatefulSet', 'prometheus');
const pod = sts.spec!.template.spec!;
const container = pod.containers[0]!;
const configOf = (objs = objects) =>
  parse(
    find<V1ConfigMap>(objs, 'ConfigMap', 'prometheus-config').data!['prometheus.yml']!,
  ) as PrometheusConfig;
const config = configOf();
const job = (name: string) => config.scrape_configs.find((j) => j.job_name === name)!;

describe('prometheus RBAC', () => {
  test('a Role with get/list/watch on pods only, bound to the prometheus ServiceAccount', () => {
    const role = find<V1Role>(objects, 'Role', 'prometheus');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
    const binding = find<V1RoleBinding>(objects, 'RoleBinding', 'prometheus');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'prometheus',
    });
    expect(binding.subjects).toEqual([
      expect.objectContaining({ kind: 'ServiceAccount', name: 'prometheus', namespace: 'concert-booking' }),
    ]);
    expect(objects.filter((o) => o.kind.startsWith('Cluster'))).toEqual([]);
    find<V1ServiceAccount>(objects, 'ServiceAccount', 'prometheus');
    expect(pod.serviceAccountName).toBe('prometheus');
    expect(pod.automountServiceAccountToken).toBe(true);
  });
});

describe('prometheus.yml', () => {
  test('scrape jobs booking-service and alertscaler: pod discovery in the namespace only', () => {
    expect(config.scrape_configs.map((j) => j.job_name)).toEqual([
      'prometheus',
      'booking-service',
      'alertscaler',
    ]);
    // The booking service's metrics are on its admin port, never on the API port the Service exposes.
    for (const [name, app, port] of [
      ['booking-service', 'booking-service', '9464'],
      ['alertscaler', 'alertscaler', '8080'],
    ] as const) {
      const j = job(name);
      expect(j.kubernetes_sd_configs).toEqual([{ role: 'pod', namespaces: { names: ['concert-booking'] } }]);
      expect(j.metrics_path).toBe('/metrics');
      expect(j.relabel_configs).toEqual(
        expect.arrayContaining([
          {
            source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'],
            regex: app,
            action: 'keep',
          },
          { source_labels: ['__meta_kubernetes_pod_container_port_number'], regex: port, action: 'keep' },
          { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
          { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
        ]),
      );
    }
    expect(job('prometheus').static_configs).toEqual([{ targets: ['localhost:9090'] }]);
    expect(configOf(build(valuesWith({ namespace: 'tickets' })))).toMatchObject({
      scrape_configs: expect.arrayContaining([
        expect.objectContaining({
          job_name: 'booking-service',
          kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: ['tickets'] } }],
        }),
      ]),
    });
  });

  test('rules from the rules ConfigMap, alerts to alertmanager:9093', () => {
    expect(config.rule_files).toEqual(['/etc/prometheus/rules/*.yml']);
    expect(config.alerting.alertmanagers).toEqual([{ static_configs: [{ targets: ['alertmanager:9093'] }] }]);
    const rules = find<V1ConfigMap>(objects, 'ConfigMap', 'prometheus-rules');
    expect(rules.data).toEqual({ 'booking.rules.yml': MONITORING_FIXTURE.rules });
    expect(container.volumeMounts).toContainEqual({
      name: 'rules',
      mountPath: '/etc/prometheus/rules',
      readOnly: true,
    });
    expect(pod.volumes).toContainEqual({ name: 'rules', configMap: { name: 'prometheus-rules' } });
    expect(container.args).toContain('--config.file=/etc/prometheus/config/prometheus.yml');
  });
});

describe('prometheus StatefulSet and Service', () => {
  test('selectors match, Service prometheus:9090', () => {
    const selector = {
      'app.kubernetes.io/name': 'prometheus',
      'app.kubernetes.io/instance': 'concert-booking',
    };
    expect(sts.spec!.selector.matchLabels).toEqual(selector);
    expect(sts.spec!.template.metadata!.labels).toMatchObject(selector);
    const service = find<V1Service>(objects, 'Service', 'prometheus');
    expect(service.spec!.selector).toEqual(selector);
    expect(service.spec!.ports).toEqual([{ name: 'http', port: 9090, targetPort: 'http', protocol: 'TCP' }]);
  });

  test('storage, retention, probes, resources, security', () => {
    expect(sts.spec!.volumeClaimTemplates![0]!.spec!.resources!.requests).toEqual({ storage: '10Gi' });
    expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/prometheus' });
    expect(container.args).toEqual(
      expect.arrayContaining(['--storage.tsdb.path=/prometheus', '--storage.tsdb.retention.time=15d']),
    );
    expect(container.livenessProbe!.httpGet).toEqual({ path: '/-/healthy', port: 'http' });
    expect(container.readinessProbe!.httpGet).toEqual({ path: '/-/ready', port: 'http' });
    expect(container.startupProbe!.httpGet).toEqual({ path: '/-/ready', port: 'http' });
    expect(container.resources!.limits).toEqual({ cpu: '1', memory: '1Gi' });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65534, fsGroup: 65534 });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
  });

  test('a change of rules or config rolls the pod', () => {
    const other = render((chart) => new Prometheus(chart, 'p', { values, rules: 'groups: []\n' }));
    const annotations = (o: typeof objects) =>
      find<V1StatefulSet>(o, 'StatefulSet', 'prometheus').spec!.template.metadata!.annotations!;
    expect(annotations(other)['checksum/rules']).not.toBe(annotations(objects)['checksum/rules']);
    expect(annotations(other)['checksum/config']).toBe(annotations(objects)['checksum/config']);
  });
});
