// A real Kubernetes API server for the tests, envtest-style: etcd + kube-apiserver on free loopback
// ports, a temporary data directory, generated certificates and service-account keys, RBAC, and an
// admin kubeconfig. The binaries come from scripts/envtest.sh (KUBEBUILDER_ASSETS, or built once per
// machine with the Go toolchain). docs/envtest.md says how to use it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync, readFileSync, openSync, closeSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const envtestScript = fileURLToPath(new URL('../../../scripts/envtest.sh', import.meta.url));
const BINARIES = ['kube-apiserver', 'etcd', 'kubectl'] as const;
/** The first build takes minutes on 2 cores; a suite's beforeAll waits this long for it. */
export const CLUSTER_SETUP_TIMEOUT_MS = 40 * 60_000;

export interface KubectlOptions {
  /** Written to kubectl's stdin (for `-f -`). */
  input?: string;
  /** Another kubeconfig (e.g. from kubeconfigForServiceAccount); default: the admin one. */
  kubeconfig?: string;
  /** Resolve with the result instead of rejecting when kubectl exits non-zero. */
  allowFailure?: boolean;
  /** Default 60 s. */
  timeoutMs?: number;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

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
  kubectl(args: readonly string[], opts?: KubectlOptions): Promise<KubectlResult>;
  /** Writes a kubeconfig holding a TokenRequest token (1 h) for an existing ServiceAccount; returns its path. */
  kubeconfigForServiceAccount(namespace: string, name: string): Promise<string>;
  /** Kills etcd and kube-apiserver and removes the directory. Safe to call twice. */
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

function hasBinaries(dir: string): boolean {
  return BINARIES.every((bin) => existsSync(join(dir, bin)));
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir !== '' && existsSync(join(dir, command)));
}

/** Cheap, synchronous: can the cluster suites run here (without building anything yet)? */
export function clusterBinariesAvailability(): BinaryAvailability {
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets && hasBinaries(assets)) return { available: true, source: 'KUBEBUILDER_ASSETS' };
  if (onPath('go')) return { available: true, source: 'go' };
  const cacheRoot = process.env.ENVTEST_CACHE_DIR ?? '/var/tmp/concert-booking/envtest';
  const listed = spawnSync('bash', ['-c', `ls -d "$1"/*/ 2>/dev/null`, '_', cacheRoot], { encoding: 'utf8' });
  const cached = (listed.stdout ?? '')
    .split('\n')
    .filter((d) => d && hasBinaries(d) && existsSync(join(d, '.complete')));
  if (cached.length > 0) return { available: true, source: 'cache' };
  return {
    available: false,
    reason: assets
      ? `KUBEBUILDER_ASSETS=${assets} lacks one of ${BINARIES.join(', ')} and there is no Go toolchain`
      : 'no Go toolchain on PATH and KUBEBUILDER_ASSETS is not set',
  };
}

let binDirPromise: Promise<string> | undefined;

/** Runs scripts/envtest.sh (once per process; the script itself locks so one build runs per machine). */
export function resolveClusterBinaries(): Promise<string> {
  binDirPromise ??= new Promise<string>((resolve, reject) => {
    const started = Date.now();
    const child = spawn('bash', [envtestScript], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      process.stderr.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const dir = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && dir && hasBinaries(dir)) {
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        log(`binaries in ${dir} (resolved in ${seconds}s)`);
        resolve(dir);
        return;
      }
      reject(
        new Error(
          `scripts/envtest.sh exited ${code ?? 'by signal'} without a binaries directory; ` +
            `to enable the cluster tests, ${HOW_TO_ENABLE}.\n${stderr.slice(-4000)}`,
        ),
      );
    });
  });
  return binDirPromise;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

function run(command: string, args: readonly string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  }
}

const OPENSSL_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
`;

function writeKey(path: string): void {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
}

/** CA, apiserver serving cert, admin client cert (system:masters), service-account key pair. */
function generatePki(dir: string): void {
  const openssl = (args: string[]): void => run('openssl', args, dir);
  writeFileSync(join(dir, 'openssl.cnf'), OPENSSL_CONFIG);
  const cert = (name: string, extensions: string, subject: string, signed: boolean): void => {
    writeKey(join(dir, `${name}.key`));
    const signer = signed ? ['-CA', 'ca.crt', '-CAkey', 'ca.key'] : [];
    openssl([
      'req',
      '-x509',
      '-config',
      'openssl.cnf',
      '-extensions',
      extensions,
      '-key',
      `${name}.key`,
      ...signer,
      '-subj',
      subject,
      '-days',
      '7',
      '-out',
      `${name}.crt`,
    ]);
  };
  cert('ca', 'ca', '/CN=envtest-ca', false);
  cert('apiserver', 'server', '/CN=kube-apiserver', true);
  cert('admin', 'client', '/O=system:masters/CN=envtest-admin', true);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileSync(join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
}

function b64(path: string): string {
  return readFileSync(path).toString('base64');
}

function kubeconfigYaml(server: string, caPath: string, user: Record<string, string>): string {
  const userLines = Object.entries(user)
    .map(([key, value]) => `    ${key}: ${value}`)
    .join('\n');
  return `apiVersion: v1
kind: Config
clusters:
- name: envtest
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(caPath)}
users:
- name: envtest-user
  user:
${userLines}
contexts:
- name: envtest
  context:
    cluster: envtest
    user: envtest-user
current-context: envtest
`;
}

/** Spawns a server with its output in DIR/NAME.log; it gets SIGKILL if this process dies (setpriv). */
function spawnServer(dir: string, name: string, binary: string, args: string[]): ChildProcess {
  const logFd = openSync(join(dir, `${name}.log`), 'a');
  const [command, commandArgs] = onPath('setpriv')
    ? ['setpriv', ['--pdeathsig', 'KILL', '--', binary, ...args]]
    : [binary, args];
  const child = spawn(command, commandArgs, { cwd: dir, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  return child;
}

function logTail(dir: string, name: string): string {
  try {
    const text = readFileSync(join(dir, `${name}.log`), 'utf8');
    return `--- last lines of ${name}.log ---\n${text.split('\n').slice(-40).join('\n')}`;
  } catch {
    return `(no ${name}.log)`;
  }
}

function getStatus(url: string, tls: { ca: string; cert: string; key: string }): Promise<number> {
  return new Promise((resolve) => {
    const req = httpsRequest(url, { ...tls, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

const live = new Set<() => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const kill of live) kill();
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      for (const kill of live) kill();
      process.kill(process.pid, signal);
    });
  }
}

async function waitForExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Starts etcd + kube-apiserver (RBAC) on free loopback ports and waits for /readyz. */
export async function startTestCluster(options: StartTestClusterOptions = {}): Promise<TestCluster> {
  const binDir = await resolveClusterBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'envtest-'));
  const children: ChildProcess[] = [];
  const killNow = (): void => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  installExitHook();
  live.add(killNow);
  try {
    const started = Date.now();
    generatePki(dir);
    const [etcdClientPort, etcdPeerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = spawnServer(dir, 'etcd', join(binDir, 'etcd'), [
      '--name=envtest',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=envtest=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ]);
    children.push(etcd);
    const server = `https://127.0.0.1:${apiPort}`;
    const apiserver = spawnServer(dir, 'kube-apiserver', join(binDir, 'kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${dir}`,
      `--tls-cert-file=${join(dir, 'apiserver.crt')}`,
      `--tls-private-key-file=${join(dir, 'apiserver.key')}`,
      `--client-ca-file=${join(dir, 'ca.crt')}`,
      '--authorization-mode=RBAC',
      '--service-cluster-ip-range=10.0.0.0/24',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--allow-privileged=true',
      '--profiling=false',
      '--v=1',
      ...(options.apiserverArgs ?? []),
    ]);
    children.push(apiserver);

    const tls = {
      ca: readFileSync(join(dir, 'ca.crt'), 'utf8'),
      cert: readFileSync(join(dir, 'admin.crt'), 'utf8'),
      key: readFileSync(join(dir, 'admin.key'), 'utf8'),
    };
    const deadline = Date.now() + (options.readyTimeoutMs ?? 90_000);
    for (;;) {
      for (const [name, child] of [['etcd', etcd] as const, ['kube-apiserver', apiserver] as const]) {
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(
            `${name} exited (${child.exitCode ?? child.signalCode}) during start-up\n${logTail(dir, name)}`,
          );
        }
      }
      if ((await getStatus(`${server}/readyz`, tls)) === 200) break;
      if (Date.now() > deadline) {
        throw new Error(
          `kube-apiserver not ready at ${server}/readyz in time\n${logTail(dir, 'kube-apiserver')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const startupMs = Date.now() - started;
    log(`etcd + kube-apiserver ready at ${server} in ${(startupMs / 1000).toFixed(1)}s (dir ${dir})`);

    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    writeFileSync(
      kubeconfigPath,
      kubeconfigYaml(server, join(dir, 'ca.crt'), {
        'client-certificate-data': b64(join(dir, 'admin.crt')),
        'client-key-data': b64(join(dir, 'admin.key')),
      }),
      { mode: 0o600 },
    );

    const kubectl = (args: readonly string[], opts: KubectlOptions = {}): Promise<KubectlResult> =>
      new Promise((resolve, reject) => {
        const fullArgs = [
          `--kubeconfig=${opts.kubeconfig ?? kubeconfigPath}`,
          `--cache-dir=${join(dir, 'kubectl-cache')}`,
          ...args,
        ];
        const child = spawn(join(binDir, 'kubectl'), fullArgs, { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
        child.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        child.on('close', (code, signal) => {
          clearTimeout(timer);
          const result = { code: code ?? -1, stdout, stderr };
          if (result.code === 0 || opts.allowFailure) resolve(result);
          else reject(new Error(`kubectl ${args.join(' ')} exited ${code ?? signal}:\n${stderr}${stdout}`));
        });
        child.stdin.end(opts.input ?? '');
      });

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

    let stopped: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopped ??= (async () => {
        apiserver.kill('SIGTERM');
        await waitForExit(apiserver, 5000);
        etcd.kill('SIGTERM');
        await waitForExit(etcd, 5000);
        live.delete(killNow);
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    };

    return {
      kubeconfigPath,
      server,
      dir,
      binDir,
      caPem: tls.ca,
      startupMs,
      kubectl,
      kubeconfigForServiceAccount,
      stop,
    };
  } catch (error) {
    killNow();
    live.delete(killNow);
    throw error;
  }
}

let skipAnnounced = false;

/**
 * A describe block with one cluster for all its tests: started in beforeAll (building the binaries
 * first if needed), stopped in afterAll. `cluster()` returns it inside hooks and tests.
 * Without binaries and without Go the block is skipped with one line saying how to enable it,
 * except under CI=true, where it runs and fails loudly instead.
 */
export function describeWithCluster(
  name: string,
  fn: (cluster: () => TestCluster) => void,
  options: StartTestClusterOptions = {},
): void {
  const availability = clusterBinariesAvailability();
  if (!availability.available && process.env.CI !== 'true') {
    if (!skipAnnounced) {
      skipAnnounced = true;
      process.stderr.write(
        `SKIPPED cluster tests (${availability.reason}): to enable them, ${HOW_TO_ENABLE}.\n`,
      );
    }
    describe.skip(name, () =>
      fn(() => {
        throw new Error('skipped');
      }),
    );
    return;
  }
  describe(name, () => {
    let current: TestCluster | undefined;
    beforeAll(async () => {
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
