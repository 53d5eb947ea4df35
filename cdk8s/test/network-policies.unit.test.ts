import type {
  V1LabelSelector,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1NetworkPolicyPort,
} from '@kubernetes/client-node';
import { NetworkPolicies } from '../src/network-policies.js';
import { defaultValues, valuesWith } from '../src/values.js';
import { find, render } from './support.js';

/**
 * A small NetworkPolicy evaluator (the semantics of networking.k8s.io/v1, enough for these policies):
 * a connection is allowed when the source's egress and the destination's ingress both allow it; a pod no
 * policy selects for a direction is unrestricted in that direction.
 */
type Endpoint =
  | {
      kind: 'pod';
      namespace: string;
      namespaceLabels: Record<string, string>;
      labels: Record<string, string>;
    }
  | { kind: 'external' };

const NS = 'concert-booking';
const nsLabels = (name: string) => ({ 'kubernetes.io/metadata.name': name });
const app = (name: string): Endpoint => ({
  kind: 'pod',
  namespace: NS,
  namespaceLabels: nsLabels(NS),
  labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': 'concert-booking' },
});
const kubeDns: Endpoint = {
  kind: 'pod',
  namespace: 'kube-system',
  namespaceLabels: nsLabels('kube-system'),
  labels: { 'k8s-app': 'kube-dns' },
};
const external: Endpoint = { kind: 'external' };

interface RawRule {
  from?: V1NetworkPolicyPeer[];
  to?: V1NetworkPolicyPeer[];
  ports?: V1NetworkPolicyPort[];
}

function matches(selector: V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  if (selector.matchExpressions?.length) throw new Error('matchExpressions not modelled');
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}

function peerMatches(peer: V1NetworkPolicyPeer, policyNamespace: string, target: Endpoint): boolean {
  if (peer.ipBlock) return target.kind === 'external'; // ipBlock: addresses outside the cluster's pods
  if (target.kind !== 'pod') return false;
  const nsOk = peer.namespaceSelector
    ? matches(peer.namespaceSelector, target.namespaceLabels)
    : target.namespace === policyNamespace;
  return nsOk && matches(peer.podSelector, target.labels);
}

function portMatches(ports: V1NetworkPolicyPort[] | undefined, port: number, protocol: string): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => (p.protocol ?? 'TCP') === protocol && (p.port === undefined || p.port === port));
}

function direction(
  policies: V1NetworkPolicy[],
  subject: Endpoint,
  type: 'Ingress' | 'Egress',
  peer: Endpoint,
  port: number,
  protocol: string,
): boolean {
  if (subject.kind !== 'pod') return true; // outside the cluster: not ours to restrict
  const selecting = policies.filter(
    (p) =>
      p.metadata!.namespace === subject.namespace &&
      p.spec!.policyTypes!.includes(type) &&
      matches(p.spec!.podSelector, subject.labels),
  );
  if (selecting.length === 0) return true;
  return selecting.some((p) => {
    // Plain JSON: the peers are under `from` (ingress) or `to` (egress).
    const rules = ((type === 'Ingress' ? p.spec!.ingress : p.spec!.egress) ?? []) as RawRule[];
    return rules.some((rule) => {
      const peers = type === 'Ingress' ? rule.from : rule.to;
      const peerOk =
        !peers || peers.length === 0 || peers.some((x) => peerMatches(x, p.metadata!.namespace!, peer));
      return peerOk && portMatches(rule.ports, port, protocol);
    });
  });
}

function allowed(
  policies: V1NetworkPolicy[],
  from: Endpoint,
  to: Endpoint,
  port: number,
  protocol = 'TCP',
): boolean {
  return (
    direction(policies, from, 'Egress', to, port, protocol) &&
    direction(policies, to, 'Ingress', from, port, protocol)
  );
}

const values = defaultValues();
const policies = render(
  (chart) => new NetworkPolicies(chart, 'np', values),
  NS,
) as unknown as V1NetworkPolicy[];

const APPS = [
  'booking-service',
  'postgres',
  'redis',
  'prometheus',
  'alertmanager',
  'alertscaler',
  'load-test',
  'something-else',
];
const ENDPOINTS: Record<string, Endpoint> = {
  ...Object.fromEntries(APPS.map((a) => [a, app(a)])),
  external,
  'kube-dns': kubeDns,
};
const PORTS = [53, 80, 443, 587, 5432, 6379, 6443, 8080, 9090, 9093, 9464];

/** The flows of the contract, written out independently of src/network-policies.ts. */
const EXPECTED = new Set([
  'external -> booking-service:8080',
  'prometheus -> booking-service:9464',
  'load-test -> booking-service:8080',
  'booking-service -> postgres:5432',
  'booking-service -> redis:6379',
  'prometheus -> alertscaler:8080',
  'prometheus -> alertmanager:9093',
  'prometheus -> external:443',
  'prometheus -> external:6443',
  'alertmanager -> alertscaler:8080',
  'alertmanager -> external:443',
  'alertmanager -> external:587',
  'alertscaler -> alertmanager:9093',
  'alertscaler -> prometheus:9090',
  'alertscaler -> booking-service:9464',
  'alertscaler -> external:443',
  'alertscaler -> external:6443',
]);

describe('NetworkPolicies', () => {
  test('default deny of all ingress and egress in the namespace', () => {
    const deny = find<V1NetworkPolicy>(policies as never, 'NetworkPolicy', 'default-deny');
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  test('every pod may resolve names through kube-system (UDP and TCP 53), and only there', () => {
    for (const a of APPS) {
      expect(allowed(policies, app(a), kubeDns, 53, 'UDP')).toBe(true);
      expect(allowed(policies, app(a), kubeDns, 53, 'TCP')).toBe(true);
    }
    expect(allowed(policies, app('postgres'), external, 53, 'UDP')).toBe(false);
  });

  test('exactly the flows of the contract are allowed (TCP matrix over every pod pair and port)', () => {
    const actual = new Set<string>();
    for (const [fromName, from] of Object.entries(ENDPOINTS)) {
      for (const [toName, to] of Object.entries(ENDPOINTS)) {
        if (fromName === toName || (from.kind === 'external' && to.kind === 'external')) continue;
        if (toName === 'kube-dns' || fromName === 'kube-dns') continue;
        for (const port of PORTS) {
          if (allowed(policies, from, to, port)) actual.add(`${fromName} -> ${toName}:${port}`);
        }
      }
    }
    expect([...actual].sort()).toEqual([...EXPECTED].sort());
  });

  test('the API server and notification destinations come from values', () => {
    const narrowed = render(
      (chart) =>
        new NetworkPolicies(
          chart,
          'np',
          valuesWith({ networkPolicy: { apiServer: { cidrs: ['10.96.0.1/32'], ports: [443] } } }),
        ),
      NS,
    ) as unknown as V1NetworkPolicy[];
    const prometheus = find<V1NetworkPolicy>(narrowed as never, 'NetworkPolicy', 'allow-prometheus');
    expect(prometheus.spec!.egress).toContainEqual({
      to: [{ ipBlock: { cidr: '10.96.0.1/32' } }],
      ports: [{ protocol: 'TCP', port: 443 }],
    });
    expect(allowed(narrowed, app('prometheus'), external, 6443)).toBe(false);
  });

  test('policies select pods by the stable name/instance labels', () => {
    const service = find<V1NetworkPolicy>(policies as never, 'NetworkPolicy', 'allow-booking-service');
    expect(service.spec!.podSelector).toEqual({
      matchLabels: {
        'app.kubernetes.io/name': 'booking-service',
        'app.kubernetes.io/instance': 'concert-booking',
      },
    });
    // The API from anywhere; the admin port from Prometheus (/metrics) and the controller (PUT /queue/sale) alone.
    expect(service.spec!.ingress).toEqual([
      { ports: [{ protocol: 'TCP', port: 8080 }] },
      {
        from: [
          {
            podSelector: {
              matchLabels: {
                'app.kubernetes.io/name': 'prometheus',
                'app.kubernetes.io/instance': 'concert-booking',
              },
            },
          },
        ],
        ports: [{ protocol: 'TCP', port: 9464 }],
      },
      {
        from: [
          {
            podSelector: {
              matchLabels: {
                'app.kubernetes.io/name': 'alertscaler',
                'app.kubernetes.io/instance': 'concert-booking',
              },
            },
          },
        ],
        ports: [{ protocol: 'TCP', port: 9464 }],
      },
    ]);
  });
});
