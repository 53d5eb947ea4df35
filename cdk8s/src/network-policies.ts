import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-33';
import { APPS, type AppKey, appMetadata, selectorLabels } from './labels.js';
import { PORTS } from './names.js';
import { SCRAPE_TARGETS } from './prometheus.js';
import type { BundleValues } from './values.js';

/** A peer outside the namespace's pods. */
export type ExternalPeer =
  /** Any source (clients through an ingress controller, a LoadBalancer, other namespaces). */
  | 'anywhere'
  /** The Kubernetes API server (values.networkPolicy.apiServer). */
  | 'kube-api'
  /** Slack and SMTP (values.networkPolicy.notificationEgress). */
  | 'notifications';

export interface Flow {
  readonly from: AppKey | ExternalPeer;
  readonly to: AppKey | ExternalPeer;
  /** Container port on `to` (ignored for kube-api and notifications, whose ports come from values). */
  readonly port?: number;
  readonly why: string;
}

/**
 * Every connection the bundle makes; everything else is denied (`default-deny`). DNS to kube-system is
 * allowed for every pod (`allow-dns`). A new flow is one line here.
 */
export const FLOWS: readonly Flow[] = [
  { from: 'anywhere', to: 'bookingService', port: PORTS.bookingService, why: 'the API, for clients' },
  {
    from: 'bookingService',
    to: 'postgres',
    port: PORTS.postgres,
    why: 'queries; the init container `migrate` runs the migrations',
  },
  { from: 'bookingService', to: 'redis', port: PORTS.redis, why: 'seat-map cache and waiting room' },
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
  { from: 'alertscaler', to: 'kube-api', why: 'watch AlertScalers, write /scale, leases, events' },
  { from: 'alertscaler', to: 'prometheus', port: PORTS.prometheus, why: "OnSales' waiting-room numbers" },
  {
    from: 'loadTest',
    to: 'bookingService',
    port: PORTS.bookingService,
    why: 'k6 load tests (charts/optional)',
  },
];

function isApp(peer: AppKey | ExternalPeer): peer is AppKey {
  return peer in APPS;
}

const tcp = (port: number): k8s.NetworkPolicyPort => ({
  protocol: 'TCP',
  port: k8s.IntOrString.fromNumber(port),
});

/**
 * NetworkPolicies: `default-deny` (all ingress and egress of every pod), `allow-dns`, and one
 * `allow-<app>` policy per app built from {@link FLOWS}.
 */
export class NetworkPolicies extends Construct {
  readonly policies: k8s.KubeNetworkPolicy[] = [];

  constructor(scope: Construct, id: string, values: BundleValues) {
    super(scope, id);
    const meta = (name: string) => appMetadata(values, 'networkPolicies', { name });
    const external = (peer: ExternalPeer): k8s.NetworkPolicyEgressRule => {
      const target =
        peer === 'kube-api' ? values.networkPolicy.apiServer : values.networkPolicy.notificationEgress;
      return { to: target.cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: target.ports.map(tcp) };
    };

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
        if (flow.from === 'anywhere') ingress.push({ ports: [tcp(port)] });
        // A port open to any source needs no rule per source.
        else if (!open && isApp(flow.from)) {
          ingress.push({
            from: [{ podSelector: { matchLabels: selectorLabels(values, flow.from) } }],
            ports: [tcp(port)],
          });
        }
      }
      const egress: k8s.NetworkPolicyEgressRule[] = FLOWS.filter((f) => f.from === app).map((flow) =>
        isApp(flow.to)
          ? {
              to: [{ podSelector: { matchLabels: selectorLabels(values, flow.to) } }],
              ports: [tcp(flow.port!)],
            }
          : external(flow.to),
      );
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
