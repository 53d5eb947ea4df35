/**
 * The bundle deployed into the local cluster as a user deploys it: charts synthesized with the local-images
 * values (plus any values of the caller's), then docs/deploy.md's steps 3 and 4 run as written, in one shell,
 * in a folder whose charts/ are those charts, with the cluster's kubectl. The operator's identity provider
 * (step 3's booking-identity Secret) is the tests' issuer, whose key set the pods fetch from the node.
 * Used by the cluster suite and the cluster drill.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mergeValues, type ValuesOverride } from '@concert-booking/cdk8s/values';
import { testIssuer } from '../identity.js';
import { spawnProcess } from '../process.js';
import { ROOT } from '../programs.js';
import { freePort } from '../wait.js';
import { envtestBinaries } from './binaries.js';
import { kubectlFor, type Kubectl } from './kubectl.js';
import { NETWORK, type ClusterLayout } from './layout.js';

/** The namespace docs/deploy.md deploys into. */
export const BUNDLE_NAMESPACE = 'concert-booking';

/** Runs a command of ours as a user would; rejects with its output when it fails. */
export async function runCommand(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
  cwd = ROOT,
): Promise<string> {
  const child = spawnProcess({ name, command, args, cwd, inheritEnv: true, env });
  child.child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  const { code, signal } = await child.exited;
  if (code !== 0) throw new Error(`${name} exited ${code ?? signal}\n${child.output().slice(-6000)}`);
  return child.output();
}

/** The ```sh blocks of docs/deploy.md under the headings that start with `prefix` ("## 3.", "## 4."). */
export function deploySteps(prefix: string): string[] {
  const doc = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8');
  const section = doc.split(/^(?=## )/m).find((s) => s.startsWith(prefix));
  if (!section) throw new Error(`docs/deploy.md has no section "${prefix}"`);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
}

export interface DeployedBundle {
  kubectl: Kubectl;
  /** The values the charts were synthesized with (local images and the caller's). */
  values: ValuesOverride;
  /** Stops the key-set server and removes the work folder (the objects stay in the cluster). */
  close(): void;
}

/** Synthesizes the charts for the running cluster and applies them by docs/deploy.md; resolves once rolled out. */
export async function deployBundle(
  layout: ClusterLayout,
  extra: ValuesOverride = {},
): Promise<DeployedBundle> {
  const work = mkdtempSync(join(tmpdir(), 'bundle-in-cluster-'));
  const binaries = await envtestBinaries();
  const kubectl = kubectlFor(binaries, layout.adminKubeconfig, join(work, 'kubectl-cache'));
  const local = JSON.parse(readFileSync(layout.valuesFile, 'utf8')) as ValuesOverride;
  const valuesFile = join(work, 'values.json');
  // BUNDLE_VALUES takes one file: the caller's values merged over the local images' (objects key by key).
  const values = mergeValues(local, extra) as ValuesOverride;
  writeFileSync(valuesFile, JSON.stringify(values));
  let jwks: Server | undefined;
  try {
    await runCommand('npm run synth', 'npm', ['run', '-s', 'synth', '--', '--out', join(work, 'charts')], {
      BUNDLE_VALUES: valuesFile,
    });
    const issuer = testIssuer();
    const jwksPort = await freePort();
    jwks = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(readFileSync(issuer.jwksFile)),
    );
    await new Promise<void>((done) => jwks!.listen(jwksPort, NETWORK.podGateway, done));
    const env = {
      KUBECONFIG: layout.adminKubeconfig,
      PATH: `${binaries}:${process.env.PATH}`,
      IDP_ISSUER: issuer.issuer,
      IDP_AUDIENCE: issuer.audience,
      IDP_JWKS_URL: `http://${NETWORK.podGateway}:${jwksPort}/jwks.json`,
    };
    const steps = [...deploySteps('## 3.'), ...deploySteps('## 4.')].join('\n');
    await runCommand('docs/deploy.md steps 3 and 4', 'bash', ['-euo', 'pipefail', '-c', steps], env, work);
  } catch (error) {
    jwks?.close();
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
  return {
    kubectl,
    values,
    close: () => {
      jwks?.close();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
