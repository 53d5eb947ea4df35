import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeWithCluster } from '@concert-booking/devkit/cluster/envtest';
import { waitFor } from '@concert-booking/devkit/wait';
import { createLogger } from '@concert-booking/lib';
import { GROUP, PLURAL } from '../src/api/alertscaler.js';
import { startController, type RunningController } from '../src/compose.js';
import { loadControllerConfig } from '../src/config.js';
import { waitForEstablished } from '@concert-booking/devkit/cluster/kubectl';

// A deleted AlertScaler leaves no gauge behind: a stale alertscaler_max_replicas next to a stale
// alertscaler_current_replicas could keep BookingAlertScalerAtMaxReplicas firing for an object that is gone.
const charts = fileURLToPath(new URL('../../charts/', import.meta.url));
const NS = 'concert-booking';

describeWithCluster('a deleted AlertScaler, on a real API server', (cluster) => {
  let controller: RunningController | undefined;

  afterAll(async () => {
    await controller?.close();
  });

  test('its gauges leave /metrics once the informer reports the deletion', async () => {
    const c = cluster();
    for (const file of ['00-crds', '01-namespace']) {
      await c.kubectl(['apply', '--server-side', '-f', join(charts, `${file}.k8s.yaml`)]);
    }
    await waitForEstablished(c.kubectl, [`crd/${PLURAL}.${GROUP}`]);
    await c.kubectl([
      'create',
      'deployment',
      'web',
      '--image=registry.invalid/web',
      '--replicas=2',
      '-n',
      NS,
    ]);
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'alertscaler-')), 'token');
    writeFileSync(tokenFile, 'deletion-test-webhook-token-0123456789\n');
    controller = await startController(
      loadControllerConfig({
        MODE: 'kubernetes',
        PORT: '0',
        KUBECONFIG: c.kubeconfigPath,
        NAMESPACE: NS,
        POD_NAME: 'deletion-test',
        WEBHOOK_TOKEN_FILE: tokenFile,
        // Longer than the test: only the informer's events can make it notice the deletion in time.
        RESYNC_INTERVAL_SECONDS: '3600',
        LEASE_DURATION_SECONDS: '3',
        LEASE_RENEW_DEADLINE_MS: '2000',
        LEASE_RETRY_PERIOD_MS: '250',
      }),
      createLogger('silent', {}),
    );
    const gauges = async () =>
      (await (await fetch(`${controller!.url}/metrics`)).text())
        .split('\n')
        .filter((line) => line.startsWith('alertscaler_max_replicas{'));
    const scaler = {
      apiVersion: `${GROUP}/v1alpha1`,
      kind: 'AlertScaler',
      metadata: { name: 'web', namespace: NS },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        alerts: [{ alertName: 'BookingHighP90Latency' }],
        minReplicas: 2,
        maxReplicas: 4,
      },
    };
    await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(scaler) });
    await waitFor(async () => (await gauges()).length === 1, 30_000, 'the gauges of the new AlertScaler');
    expect(await gauges()).toEqual([
      'alertscaler_max_replicas{alertscaler="web",namespace="concert-booking"} 4',
    ]);

    await c.kubectl(['delete', 'alertscaler', 'web', '-n', NS]);
    await waitFor(async () => (await gauges()).length === 0, 15_000, 'the gauges to go');
  });
});
