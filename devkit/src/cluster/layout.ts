/**
 * Where the local cluster keeps its state and which addresses it uses. Every address is taken from the
 * benchmarking range 198.18.0.0/15 (RFC 2544) and lives only on interfaces this machine's cluster creates,
 * so none can be mistaken for a real network (docs/cluster.md).
 */
import { join } from 'node:path';

export const NETWORK = {
  /** Everything the cluster routes: kept on this machine by a catch-all route to the node's bridge. */
  all: '198.18.0.0/15',
  /** Pods (the node's bridge; its gateway, the first address, is the node's own address too). */
  pods: '198.18.0.0/16',
  nodePods: '198.18.0.0/24',
  podGateway: '198.18.0.1',
  /** Services (kube-proxy's ClusterIPs). */
  services: '198.19.0.0/24',
  kubernetesService: '198.19.0.1',
  dnsService: '198.19.0.10',
  /**
   * The node's own address (kubelet refuses a loopback one): the bridge's, which `up` creates before kubelet
   * starts (this kernel has no dummy interfaces).
   */
  nodeIp: '198.18.0.1',
  bridge: 'cb0',
} as const;

export const NODE_NAME = 'local-node';
export const CLUSTER_DOMAIN = 'cluster.local';
export const APISERVER_PORT = 6443;

/** Every path of one cluster under its state folder (CLUSTER_STATE_DIR, default below). */
export function clusterLayout(
  root = process.env.CLUSTER_STATE_DIR ?? '/var/tmp/concert-booking/local-cluster',
) {
  return {
    root,
    /** Ports, binaries and host settings of the running cluster (written by `up`). */
    stateFile: join(root, 'cluster.json'),
    pki: join(root, 'pki'),
    logs: join(root, 'logs'),
    pids: join(root, 'pids'),
    etcdData: join(root, 'etcd'),
    containerd: join(root, 'containerd'),
    /** containerd's root: image content and snapshots, kept by `down`. */
    images: join(root, 'images'),
    containerdSocket: join(root, 'containerd', 'containerd.sock'),
    cniConfig: join(root, 'cni', 'net.d'),
    cniIpam: join(root, 'cni', 'ipam'),
    kubelet: join(root, 'kubelet'),
    podLogs: join(root, 'pod-logs'),
    volumes: join(root, 'volumes'),
    config: join(root, 'config'),
    adminKubeconfig: join(root, 'admin.kubeconfig'),
    valuesFile: join(root, 'local-images.values.json'),
  };
}

export type ClusterLayout = ReturnType<typeof clusterLayout>;
