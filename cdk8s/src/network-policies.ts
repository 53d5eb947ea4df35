import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-33';
import { APPS, type AppKey, appMetadata, selectorLabels } from './labels.js';
import { PORTS } from './names.js';
import { CNPG_STATUS_PORT } from './cloudnative-pg.js';
import { SCRAPE_TARGETS } from './prometheus.js';
import type { BundleValues } from './values.js';

/** A peer outside the namespace's pods. */
export type ExternalPeer =
  /** Any source (clients through an ingress controller, a LoadBalancer, other namespaces). */
  | 'anywhere'
  /** The Kubernetes API server (values.networkPolicy.apiServer). */
  | 'kube-api'
  /** Slack and SMTP (values.networkPolicy.notificationEgress). */
  | 'notifications'
  /** A Postgres of your own (postgres.mode external: values.networkPolicy.externalPostgres). */
  | 'external-postgres'
  /** A Redis of your own (redis.mode external: values.networkPolicy.externalRedis). */
  | 'external-redis'
  /** The CloudNativePG operator's namespace (postgres.cloudnativePg.operatorNamespace). */
  | 'cloudnative-pg-operator'
  /** The prometheus-operator's Prometheus pods (monitoring.mode operator: monitoring.operator). */
  | 'operator-prometheus'
  /** The prometheus-operator's Alertmanager pods (monitoring.mode operator: monitoring.operator). */
  | 'operator-alertmanager';

export interface Flow {
  readonly from: AppKey | ExternalPeer;
  readonly to: AppKey | ExternalPeer;
  /** Container port on `to` (ignored for egress to external peers, whose ports come from values). */
  readonly port?: number;
  readonly why: string;
}

/**
 * Every connection the bundle makes with `values` (postgres.mode, redis.mode, monitoring.mode); everything else is denied
 * (`default-deny`). DNS to kube-system is allowed for every pod (`allow-dns`). A new flow is one line here.
 */
export function bundleFlows(values: BundleValues): Flow[] {
  const postgres: Record<BundleValues['postgres']['mode'], Flow[]> = {
    bundled: [
      {
        from: 'bookingService',
        to: 'postgres',
        port: PORTS.postgres,
        why: 'queries; the init container `migrate` runs the migrations',
      },
    ],
    external: [{ from: 'bookingService', to: 'external-postgres', why: 'queries and migrations' }],
    'cloudnative-pg': [
      {
        from: 'bookingService',
        to: 'postgres',
        port: PORTS.postgres,
        why: 'queries and migrations, through postgres-rw',
      },
      { from: 'postgres', to: 'postgres', port: PORTS.postgres, why: 'streaming replication' },
      { from: 'postgres', to: 'postgres', port: CNPG_STATUS_PORT, why: 'instance manager status' },
      {
        from: 'cloudnative-pg-operator',
        to: 'postgres',
        port: CNPG_STATUS_PORT,
        why: 'operator status calls',
      },
      { from: 'postgres', to: 'kube-api', why: 'instance manager: the Cluster, leader election' },
    ],
  };
  const redis: Flow =
    values.redis.mode === 'bundled'
      ? { from: 'bookingService', to: 'redis', port: PORTS.redis, why: 'seat-map cache and waiting room' }
      : { from: 'bookingService', to: 'external-redis', why: 'seat-map cache and waiting room' };
  const { operator } = values.monitoring;
  const controllerApi: Flow = {
    from: 'alertscaler',
    to: 'kube-api',
    why: 'watch AlertScalers, write /scale, leases, events',
  };
  const monitoring: Record<BundleValues['monitoring']['mode'], Flow[]> = {
    bundled: [
      ...SCRAPE_TARGETS.map(({ job, app, port }) => ({
        from: 'prometheus' as const,
        to: app,
        port,
        why: `scrape job ${job}`,
      })),
      { from: 'prometheus', to: 'alertmanager', port: PORTS.alertmanager, why: 'alerts' },
      { from: 'prometheus', to: 'kube-api', why: 'pod discovery' },
      { from: 'alertmanager', to: 'alertscaler', port: PORTS.alertscaler, why: 'webhook notifications' },
      { from: 'alertmanager', to: 'notifications', why: 'Slack (443) and e-mail (587)' },
      { from: 'alertscaler', to: 'alertmanager', port: PORTS.alertmanager, why: 'resync of firing alerts' },
      controllerApi,
      { from: 'alertscaler', to: 'prometheus', port: PORTS.prometheus, why: "OnSales' waiting-room numbers" },
    ],
    operator: [
      ...SCRAPE_TARGETS.map(({ job, app, port }) => ({
        from: 'operator-prometheus' as const,
        to: app,
        port,
        why: `PodMonitor ${job}`,
      })),
      {
        from: 'operator-alertmanager',
        to: 'alertscaler',
        port: PORTS.alertscaler,
        why: 'webhook notifications',
      },
      {
        from: 'alertscaler',
        to: 'operator-alertmanager',
        port: urlPort(operator.alertmanagerUrl),
        why: 'resync of firing alerts',
      },
      controllerApi,
      {
        from: 'alertscaler',
        to: 'operator-prometheus',
        port: urlPort(operator.prometheusUrl),
        why: "OnSales' waiting-room numbers",
      },
    ],
  };
  return [
    { from: 'anywhere', to: 'bookingService', port: PORTS.bookingService, why: 'the API, for clients' },
    ...postgres[values.postgres.mode],
    redis,
    ...monitoring[values.monitoring.mode],
    {
      from: 'alertscaler',
      to: 'bookingService',
      port: PORTS.bookingServiceAdmin,
      why: 'OnSales published to the waiting room (PUT /queue/sale)',
    },
    {
      from: 'loadTest',
      to: 'bookingService',
      port: PORTS.bookingService,
      why: 'k6 load tests (charts/optional)',
    },
  ];
}

/** The port of an http(s) URL, explicit or the scheme's. */
export function urlPort(url: string): number {
  const { port, protocol } = new URL(url);
  return port ? Number(port) : protocol === 'https:' ? 443 : 80;
}

/** Pods in another namespace of the cluster (the operators'), as a NetworkPolicy peer; other peers: undefined. */
function namespacePeer(values: BundleValues, peer: ExternalPeer): k8s.NetworkPolicyPeer | undefined {
  const inNamespace = (namespace: string) => ({
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
  });
  const { operator } = values.monitoring;
  const peers: Partial<Record<ExternalPeer, k8s.NetworkPolicyPeer>> = {
    'cloudnative-pg-operator': inNamespace(values.postgres.cloudnativePg.operatorNamespace),
    'operator-prometheus': {
      ...inNamespace(operator.namespace),
      podSelector: { matchLabels: operator.prometheusPodLabels },
    },
    'operator-alertmanager': {
      ...inNamespace(operator.namespace),
      podSelector: { matchLabels: operator.alertmanagerPodLabels },
    },
  };
  return peers[peer];
}

function isApp(peer: AppKey | ExternalPeer): peer is AppKey {
  return peer in APPS;
}

const tcp = (port: number): k8s.NetworkPolicyPort => ({
  protocol: 'TCP',
  port: k8s.IntOrString.fromNumber(port),
});

/**
 * NetworkPolicies: `default-deny` (all ingress and egress of every pod), `allow-dns`, and one
 * `allow-<app>` policy per app built from {@link bundleFlows}.
 */
export class NetworkPolicies extends Construct {
  readonly policies: k8s.KubeNetworkPolicy[] = [];

  constructor(scope: Construct, id: string, values: BundleValues) {
    super(scope, id);
    const meta = (name: string) => appMetadata(values, 'networkPolicies', { name });
    const np = values.networkPolicy;
    const egressTargets: Partial<Record<ExternalPeer, { cidrs: string[]; ports: number[] }>> = {
      'kube-api': np.apiServer,
      notifications: np.notificationEgress,
      'external-postgres': np.externalPostgres,
      'external-redis': np.externalRedis,
    };
    const external = (peer: ExternalPeer): k8s.NetworkPolicyEgressRule => {
      const target = egressTargets[peer];
      if (!target) throw new Error(`no egress addresses for ${peer}`);
      return { to: target.cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: target.ports.map(tcp) };
    };
    const FLOWS = bundleFlows(values);

    this.policies.push(
      new k8s.KubeNetworkPolicy(this, 'default-deny', {
        metadata: meta('default-deny'),
        spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
      }),
      new k8s.KubeNetworkPolicy(this, 'allow-dns', {
        metadata: meta('allow-dns'),
        spec: {
          podSelector: {},
          policyTypes: ['Egress'],
          egress: [
            {
              to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }],
              ports: [
                { protocol: 'UDP', port: k8s.IntOrString.fromNumber(PORTS.dns) },
                { protocol: 'TCP', port: k8s.IntOrString.fromNumber(PORTS.dns) },
              ],
            },
          ],
        },
      }),
    );

    const apps = (Object.keys(APPS) as AppKey[]).filter((app) =>
      FLOWS.some((f) => f.from === app || f.to === app),
    );
    for (const app of apps) {
      const ingress: k8s.NetworkPolicyIngressRule[] = [];
      for (const flow of FLOWS.filter((f) => f.to === app)) {
        const port = flow.port!;
        const open = FLOWS.some((f) => f.to === app && f.from === 'anywhere' && f.port === port);
        const peer = isApp(flow.from) ? undefined : namespacePeer(values, flow.from);
        if (flow.from === 'anywhere') ingress.push({ ports: [tcp(port)] });
        else if (peer) ingress.push({ from: [peer], ports: [tcp(port)] });
        // A port open to any source needs no rule per source.
        else if (!open && isApp(flow.from)) {
          ingress.push({
            from: [{ podSelector: { matchLabels: selectorLabels(values, flow.from) } }],
            ports: [tcp(port)],
          });
        }
      }
      const egress: k8s.NetworkPolicyEgressRule[] = FLOWS.filter((f) => f.from === app).map((flow) => {
        if (isApp(flow.to))
          return {
            to: [{ podSelector: { matchLabels: selectorLabels(values, flow.to) } }],
            ports: [tcp(flow.port!)],
          };
        const peer = namespacePeer(values, flow.to);
        return peer ? { to: [peer], ports: [tcp(flow.port!)] } : external(flow.to);
      });
      const name = `allow-${APPS[app].name}`;
      this.policies.push(
        new k8s.KubeNetworkPolicy(this, name, {
          metadata: meta(name),
          spec: {
            podSelector: { matchLabels: selectorLabels(values, app) },
            policyTypes: ['Ingress', 'Egress'],
            ...(ingress.length ? { ingress } : {}),
            ...(egress.length ? { egress } : {}),
          },
        }),
      );
    }
  }
}
