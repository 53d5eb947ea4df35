/**
 * The local cluster (`npm run cluster -- up|down|status`): etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, containerd, kubelet and kube-proxy as daemons that outlive `up` (pid files and logs in
 * the state folder), CoreDNS and local volumes as addons. `up` is idempotent: it starts what is not running.
 * `down` stops everything, removes the pods' containers, mounts, interfaces and rules, and the state
 * (except the logs of that run). docs/cluster.md describes it.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  daemonPid,
  descendantsOf,
  fileTail,
  isAlive,
  ProcessStartError,
  startProcess,
  stopDaemon,
} from '../process.js';
import { freePort, waitFor } from '../wait.js';
import { asList, corednsObjects, localVolumePath, LOCAL_VOLUMES, storageObjects } from './addons.js';
import { envtestBinaries, nodeBinaries } from './binaries.js';
import { APISERVER_DNS_NAMES, apiserverArgs, etcdArgs, httpsStatus } from './control-plane.js';
import {
  checkNoForeignRoutes,
  host,
  readSysctls,
  restoreSysctls,
  setUpHostNetwork,
  tearDownHostNetwork,
  unmountAll,
  verifyRoutesStayHere,
  type SavedSysctls,
} from './host.js';
import { buildImages, importImages, localImagesValues, type LocalImages } from './images.js';
import { kubectlFor, type Kubectl } from './kubectl.js';
import { APISERVER_PORT, clusterLayout, NETWORK, NODE_NAME, type ClusterLayout } from './layout.js';
import { containerdConfig, cniConfig, kubeletConfig, kubeProxyConfig } from './node.js';
import { generatePki, kubeconfigYaml } from './pki.js';

/** The daemons, in start order (`down` stops them in reverse). */
export const DAEMONS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'containerd',
  'kubelet',
  'kube-proxy',
] as const;
export type Daemon = (typeof DAEMONS)[number];

/** What `up` records for `down` and `status`. */
interface ClusterState {
  envtestDir: string;
  nodeDir: string;
  etcdClientPort: number;
  etcdPeerPort: number;
  sysctls: SavedSysctls;
}

/** `up` failed in one part; the message ends with that part's log. */
export class ClusterUpError extends Error {
  constructor(
    readonly part: string,
    reason: string,
    readonly log: string,
  ) {
    super(`cluster up failed in ${part}: ${reason}${log ? `\n--- last lines of its log ---\n${log}` : ''}`);
  }
}

const tail = (text: string, lines = 40) => text.trim().split('\n').slice(-lines).join('\n');
const say = (message: string) => process.stderr.write(`cluster: ${message}\n`);

const APT_PACKAGES: Record<string, string> = {
  containerd: 'containerd',
  runc: 'runc',
  '/usr/lib/cni/bridge': 'containernetworking-plugins',
  iptables: 'iptables',
  conntrack: 'conntrack',
  buildah: 'buildah',
  mmdebstrap: 'mmdebstrap',
  catatonit: 'catatonit',
  openssl: 'openssl',
};

/** Installs with apt what the node needs and the machine lacks (as scripts/services.sh does for the servers). */
function ensurePackages(): void {
  const missing = Object.entries(APT_PACKAGES)
    .filter(([tool]) =>
      tool.startsWith('/') ? !existsSync(tool) : host('sh', ['-c', `command -v ${tool}`], true).code !== 0,
    )
    .map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  say(`installing with apt: ${missing.join(' ')}`);
  host('apt-get', ['update', '-qq']);
  host('apt-get', ['install', '-y', '-qq', ...missing]);
}

function readState(layout: ClusterLayout): ClusterState | undefined {
  return existsSync(layout.stateFile)
    ? (JSON.parse(readFileSync(layout.stateFile, 'utf8')) as ClusterState)
    : undefined;
}

export function kubectlOf(layout: ClusterLayout, envtestDir: string): Kubectl {
  return kubectlFor(envtestDir, layout.adminKubeconfig, join(layout.root, 'kubectl-cache'));
}

const server = `https://${NETWORK.nodeIp}:${APISERVER_PORT}`;

function writePkiAndConfigs(layout: ClusterLayout, images: LocalImages): void {
  for (const dir of [
    layout.pki,
    layout.config,
    layout.cniConfig,
    layout.cniIpam,
    layout.kubelet,
    layout.podLogs,
    layout.containerd,
    layout.images,
  ]) {
    mkdirSync(dir, { recursive: true });
  }
  if (!existsSync(join(layout.pki, 'ca.crt'))) {
    const client = (name: string, commonName: string, organizations: string[] = []) =>
      ({ name, commonName, organizations, usage: 'client' }) as const;
    generatePki(
      layout.pki,
      'local-cluster-ca',
      [
        {
          name: 'apiserver',
          commonName: 'kube-apiserver',
          usage: 'server',
          ips: ['127.0.0.1', NETWORK.nodeIp, NETWORK.kubernetesService],
          dnsNames: APISERVER_DNS_NAMES,
        },
        {
          name: 'kubelet',
          commonName: NODE_NAME,
          usage: 'server',
          ips: [NETWORK.nodeIp],
          dnsNames: [NODE_NAME],
        },
        client('admin', 'cluster-admin', ['system:masters']),
        client('apiserver-kubelet-client', 'kube-apiserver-kubelet-client', ['system:masters']),
        client('kubelet-client', `system:node:${NODE_NAME}`, ['system:nodes']),
        client('kube-controller-manager', 'system:kube-controller-manager'),
        client('kube-scheduler', 'system:kube-scheduler'),
        client('kube-proxy', 'system:kube-proxy'),
      ],
      365,
    );
  }
  const ca = join(layout.pki, 'ca.crt');
  const kubeconfig = (name: string) => {
    const user = { certificate: join(layout.pki, `${name}.crt`), key: join(layout.pki, `${name}.key`) };
    return kubeconfigYaml(server, ca, user, 'local-cluster');
  };
  writeFileSync(layout.adminKubeconfig, kubeconfig('admin'), { mode: 0o600 });
  for (const name of ['kubelet-client', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy']) {
    writeFileSync(join(layout.config, `${name}.kubeconfig`), kubeconfig(name), { mode: 0o600 });
  }
  writeFileSync(join(layout.config, 'containerd.toml'), containerdConfig(layout, images.pause.reference));
  writeFileSync(join(layout.cniConfig, '10-concert-booking.conflist'), cniConfig(layout));
  writeFileSync(join(layout.config, 'kubelet.json'), kubeletConfig(layout));
  writeFileSync(join(layout.config, 'kube-proxy.json'), kubeProxyConfig(layout));
  writeFileSync(
    join(layout.config, 'resolv.conf'),
    '# the cluster forwards no names: CoreDNS answers cluster.local only\n',
  );
}

interface DaemonLaunch {
  command: string;
  args: string[];
  ready: () => Promise<boolean>;
  readyTimeoutMs?: number;
  /** Starts tried, a second apart, while it exits before it is ready (default 1). */
  attempts?: number;
}

function launches(layout: ClusterLayout, state: ClusterState): Record<Daemon, DaemonLaunch> {
  const pki = (file: string) => join(layout.pki, file);
  const config = (file: string) => join(layout.config, file);
  const adminTls = () => ({
    ca: readFileSync(pki('ca.crt'), 'utf8'),
    cert: readFileSync(pki('admin.crt'), 'utf8'),
    key: readFileSync(pki('admin.key'), 'utf8'),
  });
  const healthy = (url: string) => async () => (await httpsStatus(url, {})) === 200;
  const componentAuth = (name: string) => [
    `--kubeconfig=${config(`${name}.kubeconfig`)}`,
    `--authentication-kubeconfig=${config(`${name}.kubeconfig`)}`,
    `--authorization-kubeconfig=${config(`${name}.kubeconfig`)}`,
    '--bind-address=127.0.0.1',
    '--leader-elect=false',
  ];
  return {
    etcd: {
      command: join(state.envtestDir, 'etcd'),
      args: etcdArgs(layout.etcdData, state.etcdClientPort, state.etcdPeerPort, 'local-cluster'),
      ready: async () => {
        const response = await fetch(`http://127.0.0.1:${state.etcdClientPort}/health`, {
          signal: AbortSignal.timeout(2000),
        });
        return response.ok;
      },
    },
    'kube-apiserver': {
      command: join(state.envtestDir, 'kube-apiserver'),
      args: apiserverArgs({
        etcdClientPort: state.etcdClientPort,
        address: NETWORK.nodeIp,
        port: APISERVER_PORT,
        pkiDir: layout.pki,
        serviceClusterIpRange: NETWORK.services,
        authorizationModes: ['Node', 'RBAC'],
        extraArgs: [
          '--enable-admission-plugins=NodeRestriction',
          `--kubelet-client-certificate=${pki('apiserver-kubelet-client.crt')}`,
          `--kubelet-client-key=${pki('apiserver-kubelet-client.key')}`,
          '--kubelet-preferred-address-types=InternalIP',
          '--endpoint-reconciler-type=lease',
        ],
      }),
      ready: async () => (await httpsStatus(`${server}/readyz`, adminTls())) === 200,
      // Seconds when idle; minutes seen on this 2-core machine under other suites' load.
      readyTimeoutMs: 300_000,
    },
    'kube-controller-manager': {
      command: join(state.nodeDir, 'kube-controller-manager'),
      args: [
        ...componentAuth('kube-controller-manager'),
        '--secure-port=10257',
        `--service-account-private-key-file=${pki('sa.key')}`,
        `--root-ca-file=${pki('ca.crt')}`,
        '--use-service-account-credentials=true',
        `--cluster-cidr=${NETWORK.pods}`,
        `--service-cluster-ip-range=${NETWORK.services}`,
        '--v=1',
      ],
      ready: healthy('https://127.0.0.1:10257/healthz'),
    },
    'kube-scheduler': {
      command: join(state.nodeDir, 'kube-scheduler'),
      args: [...componentAuth('kube-scheduler'), '--secure-port=10259', '--v=1'],
      ready: healthy('https://127.0.0.1:10259/healthz'),
    },
    containerd: {
      command: 'containerd',
      args: ['--config', config('containerd.toml')],
      ready: async () => host('ctr', ['--address', layout.containerdSocket, 'version'], true).code === 0,
    },
    kubelet: {
      command: join(state.nodeDir, 'kubelet'),
      args: [
        `--config=${config('kubelet.json')}`,
        `--kubeconfig=${config('kubelet-client.kubeconfig')}`,
        `--root-dir=${layout.kubelet}`,
        `--node-ip=${NETWORK.nodeIp}`,
        `--hostname-override=${NODE_NAME}`,
        '--v=1',
      ],
      ready: async () =>
        (await fetch('http://127.0.0.1:10248/healthz', { signal: AbortSignal.timeout(2000) })).ok,
      readyTimeoutMs: 120_000,
      // containerd answers before its CRI plugin is initialized; kubelet then exits ("server is not
      // initialized yet") and is started again.
      attempts: 10,
    },
    'kube-proxy': {
      command: join(state.nodeDir, 'kube-proxy'),
      args: [`--config=${config('kube-proxy.json')}`, '--v=1'],
      ready: async () =>
        (await fetch('http://127.0.0.1:10256/healthz', { signal: AbortSignal.timeout(2000) })).ok,
    },
  };
}

const pidFile = (layout: ClusterLayout, daemon: string) => join(layout.pids, `${daemon}.pid`);
const logFile = (layout: ClusterLayout, daemon: string) => join(layout.logs, `${daemon}.log`);

async function startDaemon(layout: ClusterLayout, daemon: Daemon, launch: DaemonLaunch): Promise<void> {
  if (daemonPid(pidFile(layout, daemon)) !== undefined) return;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      await startProcess({
        name: daemon,
        command: launch.command,
        args: launch.args,
        inheritEnv: true,
        logFile: logFile(layout, daemon),
        daemon: { pidFile: pidFile(layout, daemon) },
        ready: () => launch.ready(),
        readyTimeoutMs: launch.readyTimeoutMs ?? 60_000,
      });
      break;
    } catch (error) {
      const reason =
        error instanceof ProcessStartError ? error.message.split('\n')[0]! : (error as Error).message;
      if (attempt >= (launch.attempts ?? 1) || !reason.includes('exited before it was ready')) {
        throw new ClusterUpError(daemon, reason, tail(fileTail(logFile(layout, daemon))));
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  say(`${daemon} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function part<T>(name: string, work: () => Promise<T> | T): Promise<T> {
  const started = Date.now();
  try {
    const result = await work();
    say(`${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
  } catch (error) {
    if (error instanceof ClusterUpError) throw error;
    throw new ClusterUpError(name, (error as Error).message, '');
  }
}

async function waitForKubectl(
  kubectl: Kubectl,
  what: string,
  args: string[],
  timeoutMs: number,
): Promise<void> {
  try {
    await waitFor(
      async () => (await kubectl(args, { allowFailure: true, timeoutMs: 15_000 })).code === 0,
      timeoutMs,
      what,
    );
  } catch {
    const last = await kubectl(args, { allowFailure: true, timeoutMs: 15_000 });
    throw new Error(`${what}: not in ${timeoutMs / 1000} s: ${last.stderr.trim() || last.stdout.trim()}`);
  }
}

export interface UpResult {
  layout: ClusterLayout;
  kubectl: Kubectl;
  envtestDir: string;
  images: LocalImages;
  seconds: number;
}

export interface Prepared {
  envtestDir: string;
  nodeDir: string;
  images: LocalImages;
}

/** Everything `up` needs before it starts anything: packages, binaries, images (each cached once built). */
export async function prepare(): Promise<Prepared> {
  if (process.getuid?.() !== 0)
    throw new ClusterUpError('preflight', 'must run as root (network, mounts, containerd)', '');
  await part('packages', ensurePackages);
  const envtestDir = await part('binaries (scripts/envtest.sh)', envtestBinaries);
  const nodeDir = await part('binaries (scripts/cluster-binaries.sh)', nodeBinaries);
  const images = await part('images (scripts/cluster-images.sh)', () => buildImages(nodeDir));
  return { envtestDir, nodeDir, images };
}

export async function up(layout = clusterLayout()): Promise<UpResult> {
  const started = Date.now();
  const { envtestDir, nodeDir, images } = await prepare();

  const previous = readState(layout);
  if (!previous && existsSync(layout.root)) {
    // A new cluster: the last run's logs go; its state was removed by `down`.
    for (const entry of readdirSync(layout.root)) {
      if (entry !== 'images') rmSync(join(layout.root, entry), { recursive: true, force: true });
    }
  }
  for (const dir of [layout.root, layout.logs, layout.pids]) mkdirSync(dir, { recursive: true });
  const state: ClusterState = previous ?? {
    envtestDir,
    nodeDir,
    etcdClientPort: await freePort(),
    etcdPeerPort: await freePort(),
    sysctls: readSysctls(),
  };
  Object.assign(state, { envtestDir, nodeDir });
  writeFileSync(layout.stateFile, JSON.stringify(state, null, 2));

  await part('network', () => {
    checkNoForeignRoutes();
    setUpHostNetwork();
  });
  await part('certificates and configuration', () => writePkiAndConfigs(layout, images));
  for (let index = 0; index < LOCAL_VOLUMES.count; index++)
    mkdirSync(localVolumePath(layout, index), { recursive: true });

  const launch = launches(layout, state);
  for (const daemon of DAEMONS) {
    await startDaemon(layout, daemon, launch[daemon]);
    if (daemon === 'containerd')
      await part('image import (ctr -n k8s.io images import)', () => importImages(layout, images));
  }
  const kubectl = kubectlOf(layout, envtestDir);
  await part('node Ready', () =>
    waitForKubectl(
      kubectl,
      `node ${NODE_NAME} Ready`,
      ['wait', '--for=condition=Ready', `node/${NODE_NAME}`, '--timeout=10s'],
      120_000,
    ),
  );
  await part('addons (local volumes, CoreDNS)', async () => {
    await kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
      input: asList(storageObjects(layout)),
    });
    await kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
      input: asList(corednsObjects(images.coredns.reference)),
    });
    await waitForKubectl(
      kubectl,
      'CoreDNS available',
      ['-n', 'kube-system', 'wait', '--for=condition=Available', 'deployment/coredns', '--timeout=10s'],
      180_000,
    );
  });
  await part('routes stay on this machine', verifyRoutesStayHere);
  writeFileSync(layout.valuesFile, `${JSON.stringify(localImagesValues(images), null, 2)}\n`);
  const seconds = (Date.now() - started) / 1000;
  say(
    `up in ${seconds.toFixed(1)} s; kubeconfig ${layout.adminKubeconfig}; bundle values ${layout.valuesFile}`,
  );
  return { layout, kubectl, envtestDir, images, seconds };
}

/** containerd-shim processes serving our containerd (they outlive it by design). */
function ourShims(layout: ClusterLayout): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmdline.includes('containerd-shim') && cmdline.includes(layout.containerdSocket);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Kills every container of the k8s.io namespace and deletes it with its snapshot (the images stay). */
async function removeContainers(layout: ClusterLayout): Promise<void> {
  const ctr = (...args: string[]) =>
    host('ctr', ['--address', layout.containerdSocket, '--namespace', 'k8s.io', ...args], true).stdout;
  const ids = (kind: 'tasks' | 'containers') => ctr(kind, 'ls', '--quiet').split('\n').filter(Boolean);
  for (const task of ids('tasks')) ctr('tasks', 'kill', '--signal', 'SIGKILL', task);
  await waitFor(
    async () => !/\b(RUNNING|PAUSED|PAUSING|CREATED)\b/.test(ctr('tasks', 'ls')),
    10_000,
    'the containers to stop',
  ).catch(() => undefined);
  for (const task of ids('tasks')) ctr('tasks', 'delete', task);
  for (const container of ids('containers')) ctr('containers', 'delete', container);
}

/** What `down` keeps: the last run's logs, and containerd's image store (so `up` imports only new images). */
const KEPT = new Set(['logs', 'images']);

export interface DownResult {
  stopped: string[];
  leftProcesses: number[];
  leftMounts: string[];
}

export async function down(layout = clusterLayout()): Promise<DownResult> {
  const state = readState(layout);
  const stopped: string[] = [];
  const stop = async (daemon: Daemon, timeoutMs = 10_000) => {
    if (await stopDaemon(pidFile(layout, daemon), timeoutMs)) stopped.push(daemon);
  };
  // kubelet first, so it restarts nothing; then every container while containerd still answers.
  await stop('kubelet');
  if (daemonPid(pidFile(layout, 'containerd')) !== undefined) await removeContainers(layout);
  for (const daemon of [...DAEMONS].reverse()) await stop(daemon);
  for (const shim of ourShims(layout)) {
    for (const pid of [...descendantsOf(shim), shim]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  await waitFor(async () => ourShims(layout).length === 0, 10_000).catch(() => undefined);
  if (state) {
    host(join(state.nodeDir, 'kube-proxy'), ['--cleanup'], true);
    restoreSysctls(state.sysctls);
  }
  tearDownHostNetwork();
  const leftMounts = existsSync(layout.root) ? unmountAll(layout.root) : [];
  const leftProcesses = ourShims(layout).filter(isAlive);
  if (leftMounts.length === 0 && existsSync(layout.root)) {
    for (const entry of readdirSync(layout.root)) {
      if (!KEPT.has(entry)) rmSync(join(layout.root, entry), { recursive: true, force: true });
    }
  }
  return { stopped, leftProcesses, leftMounts };
}

export interface StatusResult {
  daemons: Record<Daemon, number | undefined>;
  running: boolean;
  layout: ClusterLayout;
}

export function status(layout = clusterLayout()): StatusResult {
  const daemons = Object.fromEntries(DAEMONS.map((d) => [d, daemonPid(pidFile(layout, d))])) as Record<
    Daemon,
    number | undefined
  >;
  return { daemons, running: Object.values(daemons).every((pid) => pid !== undefined), layout };
}
