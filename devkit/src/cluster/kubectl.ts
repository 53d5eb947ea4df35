/** kubectl from the envtest binaries, for the harness, the local cluster and their tests. */
import { join } from 'node:path';
import { spawnProcess } from '../process.js';

export interface KubectlOptions {
  /** Written to kubectl's stdin (for `-f -`). */
  input?: string;
  /** Another kubeconfig (e.g. a ServiceAccount's); default: the admin one. */
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

export type Kubectl = (args: readonly string[], options?: KubectlOptions) => Promise<KubectlResult>;

/** A kubectl bound to a binaries folder, an admin kubeconfig and a cache folder. */
export function kubectlFor(binDir: string, adminKubeconfig: string, cacheDir: string): Kubectl {
  return async (args, options = {}) => {
    const command = spawnProcess({
      name: 'kubectl',
      command: join(binDir, 'kubectl'),
      args: [`--kubeconfig=${options.kubeconfig ?? adminKubeconfig}`, `--cache-dir=${cacheDir}`, ...args],
      stdin: options.input ?? '',
    });
    let stdout = '';
    let stderr = '';
    command.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    command.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => void command.stop(), options.timeoutMs ?? 60_000);
    const { code, signal } = await command.exited;
    clearTimeout(timer);
    const result = { code: code ?? -1, stdout, stderr };
    if (result.code !== 0 && !options.allowFailure) {
      throw new Error(`kubectl ${args.join(' ')} exited ${code ?? signal}:\n${stderr}${stdout}`);
    }
    return result;
  };
}

/**
 * Waits until every CRD (`crd/<name>` or `customresourcedefinition.apiextensions.k8s.io/<name>`) is
 * Established. `kubectl wait` fails at once, rather than waiting, while a just-created CRD has no conditions
 * yet ("status.conditions accessor error: <nil>"), so it is asked again until the deadline.
 */
export async function waitForEstablished(
  kubectl: Kubectl,
  crds: readonly string[],
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await kubectl(['wait', '--for=condition=Established', '--timeout=10s', ...crds], {
      allowFailure: true,
    });
    if (result.code === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(`CRDs ${crds.join(' ')} not Established:\n${result.stderr}${result.stdout}`);
    }
    await new Promise((done) => setTimeout(done, 250));
  }
}
