/**
 * What the local cluster adds to a bare control plane and node, applied by `up` with kubectl: CoreDNS for
 * the cluster zone (no upstream forwarding), and a default StorageClass with local volumes for the charts'
 * PersistentVolumeClaims (Postgres, Prometheus).
 */
import { join } from 'node:path';
import { CLUSTER_DOMAIN, NETWORK, NODE_NAME, type ClusterLayout } from './layout.js';

export const STORAGE_CLASS = 'local-volumes';
export const LOCAL_VOLUMES = { count: 4, capacity: '20Gi' } as const;
const COREDNS_PORT = 1053; // unprivileged: CoreDNS runs as nobody; the Service maps 53 to it

/** Only the cluster zone and its reverse zones: any other name gets REFUSED, nothing is forwarded. */
export const COREFILE = `${CLUSTER_DOMAIN}:${COREDNS_PORT} in-addr.arpa:${COREDNS_PORT} ip6.arpa:${COREDNS_PORT} {
    errors
    health :8080
    ready :8181
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        pods insecure
    }
    cache 30
    loadbalance
}
`;

const labels = { 'k8s-app': 'kube-dns' };

export function corednsObjects(image: string): object[] {
  const metadata = { name: 'coredns', namespace: 'kube-system', labels };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'system:coredns', labels },
      rules: [
        {
          apiGroups: [''],
          resources: ['endpoints', 'services', 'pods', 'namespaces'],
          verbs: ['list', 'watch'],
        },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'system:coredns', labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:coredns' },
      subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: 'kube-system' }],
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: { Corefile: COREFILE } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata,
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'coredns',
            priorityClassName: 'system-cluster-critical',
            dnsPolicy: 'Default',
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65534,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: 'coredns',
                image,
                imagePullPolicy: 'Never',
                args: ['-conf', '/etc/coredns/Corefile'],
                ports: [
                  { name: 'dns', containerPort: COREDNS_PORT, protocol: 'UDP' },
                  { name: 'dns-tcp', containerPort: COREDNS_PORT, protocol: 'TCP' },
                ],
                resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } },
                readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 2 },
                livenessProbe: { httpGet: { path: '/health', port: 8080 }, periodSeconds: 10 },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }],
              },
            ],
            volumes: [{ name: 'config', configMap: { name: 'coredns' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels },
      spec: {
        clusterIP: NETWORK.dnsService,
        selector: labels,
        ports: [
          { name: 'dns', port: 53, targetPort: 'dns', protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, targetPort: 'dns-tcp', protocol: 'TCP' },
        ],
      },
    },
  ];
}

export const localVolumePath = (layout: ClusterLayout, index: number) =>
  join(layout.volumes, `volume-${index}`);

/**
 * The default StorageClass and its volumes: folders under the state folder as `local` PersistentVolumes
 * (kubelet applies the pods' fsGroup to them). Bound once the pod is scheduled; kept when the claim goes.
 */
export function storageObjects(layout: ClusterLayout): object[] {
  return [
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: {
        name: STORAGE_CLASS,
        annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
      },
      provisioner: 'kubernetes.io/no-provisioner',
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Retain',
    },
    ...Array.from({ length: LOCAL_VOLUMES.count }, (_, index) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `local-volume-${index}` },
      spec: {
        capacity: { storage: LOCAL_VOLUMES.capacity },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: STORAGE_CLASS,
        local: { path: localVolumePath(layout, index) },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [NODE_NAME] }] },
            ],
          },
        },
      },
    })),
  ];
}

/** Objects as a kubectl `-f -` input (a v1 List). */
export const asList = (items: object[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
