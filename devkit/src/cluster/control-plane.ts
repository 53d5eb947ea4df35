/**
 * The arguments etcd and kube-apiserver start with, shared by the envtest harness (devkit/src/cluster/envtest.ts:
 * API server only, loopback, free ports) and the local cluster (devkit/src/cluster/cluster.ts: with nodes).
 */
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';

/** etcd on loopback, plain HTTP, no fsync (test data; a crash loses nothing we keep). */
export function etcdArgs(dataDir: string, clientPort: number, peerPort: number, name = 'envtest'): string[] {
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  return [
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${name}=${peerUrl}`,
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ];
}

export interface ApiserverOptions {
  etcdClientPort: number;
  /** Where it listens and what it advertises (the `kubernetes` Service's endpoint). */
  address: string;
  port: number;
  /** Holds ca.crt, apiserver.crt/key, sa.key/pub (devkit/src/cluster/pki.ts). */
  pkiDir: string;
  serviceClusterIpRange: string;
  authorizationModes: readonly string[];
  extraArgs?: readonly string[];
}

export function apiserverArgs(o: ApiserverOptions): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${o.etcdClientPort}`,
    `--bind-address=${o.address}`,
    `--advertise-address=${o.address}`,
    `--secure-port=${o.port}`,
    `--cert-dir=${o.pkiDir}`,
    `--tls-cert-file=${join(o.pkiDir, 'apiserver.crt')}`,
    `--tls-private-key-file=${join(o.pkiDir, 'apiserver.key')}`,
    `--client-ca-file=${join(o.pkiDir, 'ca.crt')}`,
    `--authorization-mode=${o.authorizationModes.join(',')}`,
    `--service-cluster-ip-range=${o.serviceClusterIpRange}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${join(o.pkiDir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(o.pkiDir, 'sa.key')}`,
    '--allow-privileged=true',
    '--profiling=false',
    '--v=1',
    ...(o.extraArgs ?? []),
  ];
}

/** The DNS names of the API server inside a cluster (its serving certificate's SANs). */
export const APISERVER_DNS_NAMES = [
  'localhost',
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
] as const;

/** The HTTP status of an HTTPS GET (0 when it does not answer); no `ca`: the server is not verified. */
export function httpsStatus(
  url: string,
  tls: { ca?: string; cert?: string; key?: string } = {},
): Promise<number> {
  return new Promise((resolve) => {
    const req = httpsRequest(url, { ...tls, rejectUnauthorized: !!tls.ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}
