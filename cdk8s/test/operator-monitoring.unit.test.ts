// monitoring.mode operator (issue 17): the bundle's Prometheus and Alertmanager give way to PodMonitors, a
// PrometheusRule and an AlertmanagerConfig; the controller talks to the operator's; the NetworkPolicies admit
// the operator's pods by namespace and labels. modes-apply.test.ts validates the objects against the CRDs.
import type { V1Deployment, V1NetworkPolicy } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { bundleFlows } from '../src/network-policies.js';
import { valuesWith, type ValuesOverride } from '../src/values.js';
import { allObjects, find, MONITORING_FIXTURE, type Obj } from './support.js';

const OPERATOR: ValuesOverride = {
  monitoring: {
    mode: 'operator',
    operator: {
      namespace: 'observability',
      prometheusPodLabels: { prometheus: 'main' },
      alertmanagerPodLabels: { alertmanager: 'main' },
      prometheusUrl: 'http://prometheus.observability.svc:9090',
      alertmanagerUrl: 'https://alertmanager.observability.svc',
      resourceLabels: { release: 'kube-prometheus-stack' },
    },
  },
};
const objects = allObjects(valuesWith(OPERATOR));
const names = (kind: string, list: Obj[] = objects) =>
  list
    .filter((o) => o.kind === kind)
    .map((o) => o.metadata.name)
    .sort();
const policy = (name: string) => find<V1NetworkPolicy>(objects, 'NetworkPolicy', name).spec!;

describe('monitoring.mode operator', () => {
  test('emits no Prometheus or Alertmanager of its own, nor their RBAC, Services or policies', () => {
    const monitoringApps = (list: Obj[]) =>
      list
        .filter((o) =>
          /^(prometheus|alertmanager)$/.test(o.metadata.labels?.['app.kubernetes.io/name'] ?? ''),
        )
        .map((o) => o.kind)
        .sort();
    expect(monitoringApps(objects)).toEqual([
      'AlertmanagerConfig',
      'PodMonitor',
      'PodMonitor',
      'PrometheusRule',
    ]);
    expect(monitoringApps(allObjects())).toEqual(
      expect.arrayContaining(['StatefulSet', 'Deployment', 'Role', 'RoleBinding', 'Service']),
    );
    expect(names('NetworkPolicy')).not.toEqual(expect.arrayContaining(['allow-prometheus']));
    expect(names('NetworkPolicy').filter((n) => /prometheus|alertmanager/.test(n))).toEqual([]);
  });

  test('PodMonitors scrape the pods the bundled Prometheus scrapes, under the same job names', () => {
    const monitor = find<{ spec: Record<string, unknown> }>(objects, 'PodMonitor', 'booking-service');
    expect(monitor.spec).toEqual({
      selector: {
        matchLabels: {
          'app.kubernetes.io/name': 'booking-service',
          'app.kubernetes.io/instance': 'concert-booking',
        },
      },
      podMetricsEndpoints: [
        {
          port: 'admin',
          path: '/metrics',
          interval: '15s',
          relabelings: [{ targetLabel: 'job', replacement: 'booking-service' }],
        },
      ],
    });
    expect(names('PodMonitor')).toEqual(['alertscaler', 'booking-service']);
  });

  test('the PrometheusRule holds the rule file the bundled Prometheus mounts', () => {
    const rule = find<{ spec: unknown }>(objects, 'PrometheusRule', 'booking');
    expect(rule.spec).toEqual(parse(MONITORING_FIXTURE.rules));
  });

  test("the operator objects carry the labels the operator's selectors want", () => {
    for (const o of objects.filter((x) => x.apiVersion.startsWith('monitoring.coreos.com/')))
      expect([o.kind, o.metadata.labels?.release]).toEqual([o.kind, 'kube-prometheus-stack']);
  });

  test('the AlertmanagerConfig follows monitoring.controllerRoute, as the bundled Alertmanager does', () => {
    const timing = { groupWait: '1s', groupInterval: '2s', repeatInterval: '3s' };
    const routed = allObjects(
      valuesWith({ ...OPERATOR, monitoring: { ...OPERATOR.monitoring, controllerRoute: timing } }),
    );
    const config = find<{ spec: { route: { routes: Record<string, unknown>[] } } }>(
      routed,
      'AlertmanagerConfig',
      'booking',
    );
    expect(config.spec.route.routes[0]).toMatchObject({ receiver: 'alertscaler', ...timing });
    const defaults = find<{ spec: { route: { routes: Record<string, unknown>[] } } }>(
      objects,
      'AlertmanagerConfig',
      'booking',
    );
    expect(defaults.spec.route.routes[0]).toMatchObject({ receiver: 'alertscaler', groupWait: '10s' });
  });

  test("the controller queries the operator's Prometheus and resyncs from its Alertmanager", () => {
    const env = find<V1Deployment>(objects, 'Deployment', 'alertscaler').spec!.template.spec!.containers[0]!
      .env!;
    const value = (name: string) => env.find((e) => e.name === name)?.value;
    expect([value('PROMETHEUS_URL'), value('ALERTMANAGER_URL')]).toEqual([
      'http://prometheus.observability.svc:9090',
      'https://alertmanager.observability.svc',
    ]);
  });

  test("the policies admit the operator's pods, by namespace and labels, and nothing of a bundled Prometheus", () => {
    const inNamespace = { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } };
    // Label maps merge over the defaults key by key (BUNDLE_VALUES), so the operator's name label stays.
    const pods = (name: string) => ({ matchLabels: { 'app.kubernetes.io/name': name, [name]: 'main' } });
    const prometheus = {
      namespaceSelector: inNamespace,
      podSelector: pods('prometheus'),
    };
    const alertmanager = {
      namespaceSelector: inNamespace,
      podSelector: pods('alertmanager'),
    };
    expect(policy('allow-booking-service').ingress).toContainEqual({
      from: [prometheus],
      ports: [{ protocol: 'TCP', port: 9464 }],
    });
    const scaler = policy('allow-alertscaler');
    expect(scaler.ingress).toEqual(
      expect.arrayContaining([
        { from: [prometheus], ports: [{ protocol: 'TCP', port: 8080 }] },
        { from: [alertmanager], ports: [{ protocol: 'TCP', port: 8080 }] },
      ]),
    );
    expect(scaler.egress).toEqual(
      expect.arrayContaining([
        { to: [alertmanager], ports: [{ protocol: 'TCP', port: 443 }] },
        { to: [prometheus], ports: [{ protocol: 'TCP', port: 9090 }] },
      ]),
    );
    const peers = bundleFlows(valuesWith(OPERATOR)).flatMap((f) => [f.from, f.to]);
    expect(peers).not.toContain('prometheus');
    expect(peers).not.toContain('alertmanager');
  });
});
