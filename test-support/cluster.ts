// A real Kubernetes API server for the tests, envtest-style: etcd + kube-apiserver on free loopback
// ports, a temporary data directory, generated certificates and service-account keys, RBAC, and an
// admin kubeconfig. The binaries come from scripts/envtest.sh (KUBEBUILDER_ASSETS, or built once per
// machine with the Go toolchain). docs/envtest.md says how to use it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ENVTEST_BINARIES, envtestBinaries, hasBinaries } from '../devkit/src/cluster/binaries.js';
import {
  APISERVER_DNS_NAMES,
  apiserverArgs,
  etcdArgs,
  httpsStatus,
} from '../devkit/src/cluster/control-plane.js';
import { kubectlFor, type Kubectl } from '../devkit/src/cluster/kubectl.js';
import { generatePki, kubeconfigYaml } from '../devkit/src/cluster/pki.js';
import { ProcessGroup } from '../devkit/src/process.js';
import { freePort } from '../devkit/src/wait.js';

export type { KubectlOptions, KubectlResult } from '../devkit/src/cluster/kubectl.js';

/** The first build takes minutes on 2 cores; a suite's beforeAll waits this long for it. */
export const CLUSTER_SETUP_TIMEOUT_MS = 40 * 60_000;

export interface TestCluster {
  /** Admin kubeconfig: client certificate in group system:masters. */
  kubeconfigPath: string;
  /** https://127.0.0.1:PORT */
  server: string;
  /** The temporary directory holding certs, kubeconfigs, etcd data and the servers' logs. */
  dir: string;
  /** Where kube-apiserver, etcd and kubectl were found. */
  binDir: string;
  /** The PEM CA bundle that signed the serving and client certificates. */
  caPem: string;
  /** Milliseconds from spawning etcd to a 200 on /readyz. */
  startupMs: number;
  /** Runs the cluster's kubectl with --kubeconfig set; rejects on a non-zero exit unless allowFailure. */
  kubectl: Kubectl;
  /** Writes a kubeconfig holding a TokenRequest token (1 h) for an existing ServiceAccount; returns its path. */
  kubeconfigForServiceAccount(namespace: string, name: string): Promise<string>;
  /** Stops etcd and kube-apiserver and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartTestClusterOptions {
  /** Extra kube-apiserver flags, e.g. ['--feature-gates=...']. */
  apiserverArgs?: readonly string[];
  /** Milliseconds to wait for /readyz; default 90 s. */
  readyTimeoutMs?: number;
}

export type BinaryAvailability =
  { available: true; source: 'KUBEBUILDER_ASSETS' | 'go' | 'cache' } | { available: false; reason: string };

export const HOW_TO_ENABLE =
  'install Go (>= 1.25) so scripts/envtest.sh can build kube-apiserver, etcd and kubectl, ' +
  'or set KUBEBUILDER_ASSETS to a directory holding them';

function log(message: string): void {
  process.stderr.write(`test cluster: ${message}\n`);
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir !== '' && existsSync(join(dir, command)));
}

/** Cheap, synchronous: can the cluster suites run here (without building anything yet)? */
export function clusterBinariesAvailability(): BinaryAvailability {
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets && hasBinaries(assets, ENVTEST_BINARIES))
    return { available: true, source: 'KUBEBUILDER_ASSETS' };
  if (onPath('go')) return { available: true, source: 'go' };
  const cacheRoot = process.env.ENVTEST_CACHE_DIR ?? '/var/tmp/concert-booking/envtest';
  const listed = spawnSync('bash', ['-c', `ls -d "$1"/*/ 2>/dev/null`, '_', cacheRoot], { encoding: 'utf8' });
  const cached = (listed.stdout ?? '')
    .split('\n')
    .filter((d) => d && hasBinaries(d, ENVTEST_BINARIES) && existsSync(join(d, '.complete')));
  if (cached.length > 0) return { available: true, source: 'cache' };
  return {
    available: false,
    reason: assets
      ? `KUBEBUILDER_ASSETS=${assets} lacks one of ${ENVTEST_BINARIES.join(', ')} and there is no Go toolchain`
      : 'no Go toolchain on PATH and KUBEBUILDER_ASSETS is not set',
  };
}

/** Runs scripts/envtest.sh (once per process; the script itself locks so one build runs per machine). */
export function resolveClusterBinaries(): Promise<string> {
  return envtestBinaries().catch((error: Error) => {
    throw new Error(`${error.message}\nto enable the cluster tests, ${HOW_TO_ENABLE}.`);
  });
}

const live = new Set<ProcessGroup>();
let exitHookInstalled = false;

/** On SIGINT/SIGTERM the servers go too (the harness's parent-death signal covers a SIGKILL). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void Promise.all([...live].map((group) => group.stopAll())).finally(() =>
        process.kill(process.pid, signal),
      );
    });
  }
}

/** kubectl and ServiceAccount kubeconfigs for a cluster whose admin kubeconfig and CA are in `dir`. */
function clusterHandle(cluster: Omit<TestCluster, 'kubectl' | 'kubeconfigForServiceAccount'>): TestCluster {
  const { dir, binDir, kubeconfigPath, server } = cluster;
  const kubectl = kubectlFor(binDir, kubeconfigPath, join(dir, 'kubectl-cache'));
  let saCount = 0;
  const kubeconfigForServiceAccount = async (namespace: string, name: string): Promise<string> => {
    // `kubectl create token` is a TokenRequest (serviceaccounts/token subresource).
    const { stdout } = await kubectl(['create', 'token', name, '-n', namespace, '--duration=1h']);
    const path = join(dir, `sa-${namespace}-${name}-${++saCount}.kubeconfig`);
    writeFileSync(path, kubeconfigYaml(server, join(dir, 'ca.crt'), { token: stdout.trim() }), {
      mode: 0o600,
    });
    return path;
  };
  return { ...cluster, kubectl, kubeconfigForServiceAccount };
}

/** Set by scripts/mutation-cluster.ts: the suites use that running cluster instead of starting their own. */
export const SHARED_CLUSTER_ENV = 'TEST_SHARED_CLUSTER';

/**
 * The running cluster named by TEST_SHARED_CLUSTER (JSON: dir, binDir, server), for many short jest runs
 * in a row (mutation testing) that would otherwise each start one. Its stop() leaves it running.
 */
function sharedCluster(): TestCluster | undefined {
  const shared = process.env[SHARED_CLUSTER_ENV];
  if (!shared) return undefined;
  const { dir, binDir, server } = JSON.parse(shared) as { dir: string; binDir: string; server: string };
  return clusterHandle({
    kubeconfigPath: join(dir, 'admin.kubeconfig'),
    server,
    dir,
    binDir,
    caPem: readFileSync(join(dir, 'ca.crt'), 'utf8'),
    startupMs: 0,
    stop: async () => undefined,
  });
}

/** Starts etcd + kube-apiserver (RBAC) on free loopback ports and waits for /readyz. */
export async function startTestCluster(options: StartTestClusterOptions = {}): Promise<TestCluster> {
  const binDir = await resolveClusterBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'envtest-'));
  const servers = new ProcessGroup();
  installExitHook();
  live.add(servers);
  const removeAll = async () => {
    await servers.stopAll();
    live.delete(servers);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const started = Date.now();
    generatePki(dir, 'envtest-ca', [
      {
        name: 'apiserver',
        commonName: 'kube-apiserver',
        usage: 'server',
        ips: ['127.0.0.1', '10.0.0.1'],
        dnsNames: APISERVER_DNS_NAMES,
      },
      { name: 'admin', commonName: 'envtest-admin', organizations: ['system:masters'], usage: 'client' },
    ]);
    const [etcdClientPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const server = `https://127.0.0.1:${apiPort}`;
    const tls = {
      ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      cert: readFileSync(join(dir, 'admin.crt'), 'utf8'),
      key: readFileSync(join(dir, 'admin.key'), 'utf8'),
    };
    servers.spawn({
      name: 'etcd',
      command: join(binDir, 'etcd'),
      args: etcdArgs(join(dir, 'etcd-data'), etcdClientPort, etcdPeerPort),
      cwd: dir,
      logFile: join(dir, 'etcd.log'),
      stopTimeoutMs: 5000,
    });
    await servers.start({
      name: 'kube-apiserver',
      command: join(binDir, 'kube-apiserver'),
      args: apiserverArgs({
        etcdClientPort,
        address: '127.0.0.1',
        port: apiPort,
        pkiDir: dir,
        serviceClusterIpRange: '10.0.0.0/24',
        authorizationModes: ['RBAC'],
        extraArgs: options.apiserverArgs,
      }),
      cwd: dir,
      logFile: join(dir, 'kube-apiserver.log'),
      ready: async () => (await httpsStatus(`${server}/readyz`, tls)) === 200,
      readyTimeoutMs: options.readyTimeoutMs ?? 90_000,
      stopTimeoutMs: 5000,
    });
    const startupMs = Date.now() - started;
    log(`etcd + kube-apiserver ready at ${server} in ${(startupMs / 1000).toFixed(1)}s (dir ${dir})`);

    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    const ca = join(dir, 'ca.crt');
    const admin = { certificate: join(dir, 'admin.crt'), key: join(dir, 'admin.key') };
    writeFileSync(kubeconfigPath, kubeconfigYaml(server, ca, admin), { mode: 0o600 });
    let stopped: Promise<void> | undefined;
    const stop = () => (stopped ??= removeAll());
    return clusterHandle({ kubeconfigPath, server, dir, binDir, caPem: tls.ca, startupMs, stop });
  } catch (error) {
    await removeAll();
    throw error;
  }
}

/** Set to 1 to leave the cluster suites out on purpose; each one then says so. */
export const EXCLUDE_FLAG = 'EXCLUDE_CLUSTER_TESTS';

/**
 * What a cluster suite does: run (binaries found or buildable), fail with the reason (none can be had), or
 * stay out because EXCLUDE_CLUSTER_TESTS=1 asks for it. Never a silent skip, in CI or not.
 */
export function clusterSuitePlan(
  availability: BinaryAvailability,
  env: Record<string, string | undefined>,
):
  | { run: true }
  | { run: false; excluded: true; notice: string }
  | { run: false; excluded: false; error: string } {
  if (env[EXCLUDE_FLAG] === '1') {
    return {
      run: false,
      excluded: true,
      notice: `EXCLUDED cluster tests (${EXCLUDE_FLAG}=1): they are left out on purpose and do not run`,
    };
  }
  if (availability.available) return { run: true };
  return {
    run: false,
    excluded: false,
    error:
      `the cluster tests cannot run: ${availability.reason}; to enable them, ${HOW_TO_ENABLE}, ` +
      `or set ${EXCLUDE_FLAG}=1 to leave them out on purpose`,
  };
}

/**
 * A describe block with one cluster for all its tests: started in beforeAll (building the binaries
 * first if needed), stopped in afterAll. `cluster()` returns it inside hooks and tests.
 * Without binaries and without Go its tests fail with the reason; EXCLUDE_CLUSTER_TESTS=1 skips the block
 * and prints that it did.
 */
export function describeWithCluster(
  name: string,
  fn: (cluster: () => TestCluster) => void,
  options: StartTestClusterOptions = {},
): void {
  const plan = clusterSuitePlan(clusterBinariesAvailability(), process.env);
  if (plan.run === false && plan.excluded) {
    process.stderr.write(`${plan.notice}: "${name}"\n`);
    describe.skip(name, () =>
      fn(() => {
        throw new Error(plan.notice);
      }),
    );
    return;
  }
  describe(name, () => {
    let current: TestCluster | undefined;
    beforeAll(async () => {
      current = sharedCluster();
      if (current) return;
      if (plan.run === false) throw new Error(plan.error);
      current = await startTestCluster(options);
    }, CLUSTER_SETUP_TIMEOUT_MS);
    afterAll(async () => {
      await current?.stop();
    }, 30_000);
    fn(() => {
      if (!current) throw new Error(`the test cluster for "${name}" did not start (see beforeAll's error)`);
      return current;
    });
  });
}
