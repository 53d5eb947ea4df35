/**
 * The Kubernetes binaries, built once per machine from the Go module proxy by the scripts under scripts/:
 * envtest.sh (kube-apiserver, etcd, kubectl) and cluster-binaries.sh (kubelet, kube-controller-manager,
 * kube-scheduler, kube-proxy, coredns, prometheus) and check-tools.sh (kube-linter, pint).
 * Each script prints its cache folder as its last line of stdout.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnProcess } from '../process.js';
import { ROOT } from '../programs.js';

export const ENVTEST_BINARIES = ['kube-apiserver', 'etcd', 'kubectl'] as const;
export const NODE_BINARIES = [
  'kubelet',
  'kube-controller-manager',
  'kube-scheduler',
  'kube-proxy',
  'coredns',
  'prometheus',
] as const;

/** The external checkers of the charts and rules (scripts/check-tools.sh). */
export const CHECK_TOOLS = ['kube-linter', 'pint', 'helm'] as const;

export const hasBinaries = (dir: string, binaries: readonly string[]) =>
  binaries.every((binary) => existsSync(join(dir, binary)));

/** Runs a build script (its log goes to our stderr as it comes); resolves its folder once it holds `binaries`. */
export async function buildBinaries(script: string, binaries: readonly string[]): Promise<string> {
  const started = Date.now();
  const build = spawnProcess({
    name: script,
    command: 'bash',
    args: [join(ROOT, 'scripts', script)],
    inheritEnv: true,
  });
  build.child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  const { code, signal } = await build.exited;
  // stdout and stderr share output(); the folder is the last line that names one.
  const dir = build
    .output()
    .trim()
    .split('\n')
    .reverse()
    .find((line) => line.startsWith('/') && hasBinaries(line, binaries));
  if (code === 0 && dir) {
    process.stderr.write(`${script}: ${dir} (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
    return dir;
  }
  throw new Error(
    `scripts/${script} exited ${code ?? signal} without a folder holding ${binaries.join(', ')}\n` +
      build.output().slice(-4000),
  );
}

let envtest: Promise<string> | undefined;
/** kube-apiserver, etcd, kubectl: once per process (the script itself locks: one build per machine). */
export function envtestBinaries(): Promise<string> {
  envtest ??= buildBinaries('envtest.sh', ENVTEST_BINARIES);
  return envtest;
}

/** kubelet, kube-controller-manager, kube-scheduler, kube-proxy, coredns, prometheus. */
export function nodeBinaries(): Promise<string> {
  return buildBinaries('cluster-binaries.sh', NODE_BINARIES);
}

let checkers: Promise<string> | undefined;
/** kube-linter and pint: once per process. */
export function checkTools(): Promise<string> {
  checkers ??= buildBinaries('check-tools.sh', CHECK_TOOLS);
  return checkers;
}
