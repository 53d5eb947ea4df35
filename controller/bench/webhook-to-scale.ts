// Benchmark (not a test): time from the webhook's receipt to the /scale write accepted by a real
// kube-apiserver, through the whole controller (webhook -> status write -> watch -> reconcile -> /scale),
// running under the ServiceAccount and Role from charts/. Prints a table and writes the `## Controller`
// section of docs/benchmarks.md.   npm run bench:controller -- [--episodes 200]
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, numberFlag, parseCommandLine, runMain } from '@concert-booking/lib';
import type { AlertScalerStatus } from '../src/api/alertscaler.js';
import { waitForEstablished } from '@concert-booking/devkit/cluster/kubectl';

const COMMAND = {
  name: 'npm run bench:controller --',
  usage: `[--episodes 200]
  Webhook to /scale write through the whole controller on a real kube-apiserver; writes docs/benchmarks.md's section.`,
  options: { episodes: { type: 'string', default: '200' } },
} as const;

const NS = 'concert-booking';
const SCALER = 'booking-service';
const TOKEN = 'bench-webhook-token-0123456789abcdef';
const root = fileURLToPath(new URL('../../', import.meta.url));
const charts = join(root, 'charts');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function row(name: string, samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  const cells = [50, 90, 99].map((p) => percentile(s, p).toFixed(1));
  return `| ${name} | ${s.length} | ${cells.join(' | ')} | ${s[s.length - 1]!.toFixed(1)} |`;
}

async function main(EPISODES: number): Promise<void> {
  // Imported once the command line is known good: --help and a bad flag answer at once.
  const { CustomObjectsApi, KubeConfig } = await import('@kubernetes/client-node');
  const { GROUP, PLURAL, VERSION } = await import('../src/api/alertscaler.js');
  const { startController } = await import('../src/compose.js');
  const { loadControllerConfig } = await import('../src/config.js');
  const { startTestCluster } = await import('@concert-booking/devkit/cluster/envtest');
  const { payload, postAlerts } = await import('../test/support/payloads.js');
  console.error('starting etcd and kube-apiserver...');
  const cluster = await startTestCluster();
  try {
    for (const file of ['00-crds', '01-namespace'])
      await cluster.kubectl(['apply', '--server-side', '-f', join(charts, `${file}.k8s.yaml`)]);
    await waitForEstablished(cluster.kubectl, [`crd/${PLURAL}.${GROUP}`]);
    for (const file of ['30-booking-service', '55-alertscaler']) {
      await cluster.kubectl(['apply', '--server-side', '-f', join(charts, `${file}.k8s.yaml`)]);
    }
    // One step each way, no waiting: every webhook causes exactly one write (2 -> 3 on firing, 3 -> 2 on resolved).
    const spec = {
      minReplicas: 2,
      maxReplicas: 3,
      scaleUp: { step: { type: 'Pods', value: 1 }, cooldownSeconds: 0 },
      scaleDown: { step: { type: 'Pods', value: 1 }, stabilizationWindowSeconds: 0, cooldownSeconds: 0 },
    };
    await cluster.kubectl([
      'patch',
      'alertscaler',
      SCALER,
      '-n',
      NS,
      '--type=merge',
      '-p',
      JSON.stringify({ spec }),
    ]);
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'alertscaler-bench-')), 'token');
    writeFileSync(tokenFile, TOKEN);
    const controller = await startController(
      loadControllerConfig({
        MODE: 'kubernetes',
        PORT: '0',
        KUBECONFIG: await cluster.kubeconfigForServiceAccount(NS, 'alertscaler'),
        NAMESPACE: NS,
        POD_NAME: 'bench',
        WEBHOOK_TOKEN_FILE: tokenFile,
        LEASE_RETRY_PERIOD_MS: '200',
      }),
      createLogger('silent', {}),
    );
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(cluster.kubeconfigPath);
    const api = kubeConfig.makeApiClient(CustomObjectsApi);
    const status = async () =>
      (
        (await api.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: NS,
          plural: PLURAL,
          name: SCALER,
        })) as {
          status?: AlertScalerStatus;
        }
      ).status;
    while (!controller.leader?.isLeader()) await new Promise((r) => setTimeout(r, 50));

    /** Posts one notification; resolves with ms from the POST to the lastScaleTime the controller recorded. */
    const timed = async (direction: 'Up' | 'Down', alert: Parameters<typeof payload>[0][number]) => {
      const before = (await status())?.lastScaleTime;
      const started = Date.now();
      const response = await postAlerts(controller.url, TOKEN, payload([alert]));
      if (response.status !== 200) throw new Error(`webhook answered ${response.status}`);
      for (;;) {
        const s = await status();
        if (s?.lastScaleTime && s.lastScaleTime !== before && s.lastScaleDirection === direction) {
          return Date.parse(s.lastScaleTime) - started;
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    const up: number[] = [];
    const down: number[] = [];
    for (let i = 0; i < EPISODES; i++) {
      if (i % 50 === 0) console.error(`episodes ${i}/${EPISODES}...`);
      const startsAt = new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString();
      up.push(await timed('Up', { status: 'firing', fingerprint: `bench-${i}`, startsAt }));
      down.push(await timed('Down', { status: 'resolved', fingerprint: `bench-${i}`, startsAt }));
    }
    await controller.close();

    const load = loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ');
    const table = [
      '| webhook -> /scale write accepted | episodes | p50 ms | p90 ms | p99 ms | max ms |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      row('firing -> scale up', up),
      row('resolved -> scale down', down),
    ].join('\n');
    console.log(table);
    const section = `## Controller

Command (a real etcd + kube-apiserver from \`scripts/envtest.sh\`, the CRD, Role and default AlertScaler from
\`charts/\`, the controller in-process under the \`alertscaler\` ServiceAccount):

\`\`\`
npm run bench:controller -- --episodes ${EPISODES}
\`\`\`

What it measures (controller/bench/webhook-to-scale.ts): ${EPISODES} alert episodes on the default
AlertScaler with one-pod steps and no cooldown or stabilization window. Each episode posts a firing
notification (2 -> 3 replicas) and then its resolution (3 -> 2). The time runs from sending the webhook
POST to the \`status.lastScaleTime\` the controller records once the API server has accepted the \`/scale\`
write (same clock). It covers the whole path: the webhook's status write, the watch event, the reconcile
(fresh read of the AlertScaler, \`GET\` and \`PUT\` of \`/scale\` at the read resourceVersion), not the
Alertmanager side (group_wait, group_interval) nor pods starting (no kube-controller-manager here).

Measured ${new Date().toISOString().slice(0, 10)} on the 2-core machine, load average ${load} (1/5/15 min) at the end
of the run, with other sessions working on the same machine.

${table}
`;
    const docPath = join(root, 'docs/benchmarks.md');
    const doc = readFileSync(docPath, 'utf8');
    const start = doc.indexOf('\n## Controller\n');
    const next = start >= 0 ? doc.indexOf('\n## ', start + 1) : -1;
    const updated =
      start < 0
        ? `${doc.trimEnd()}\n\n${section}`
        : `${doc.slice(0, start + 1)}${section}${next >= 0 ? doc.slice(next) : ''}`;
    writeFileSync(docPath, updated);
    console.log(`wrote the "## Controller" section of ${docPath}`);
  } finally {
    await cluster.stop();
  }
}

runMain(COMMAND, async () => {
  const { values } = parseCommandLine(COMMAND, process.argv.slice(2));
  await main(numberFlag('episodes', values.episodes, { integer: true }));
});
