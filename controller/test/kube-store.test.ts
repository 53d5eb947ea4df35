// KubeScalerStore.updateStatus against a real API server: the status write is a compare-and-swap at the
// resourceVersion read, prepared again from a fresh read on a conflict. The mutation run of kube-store.ts's
// updateStatus uses this file (docs/testing.md).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '@concert-booking/lib';
import { GROUP, PLURAL, VERSION, type AlertScalerStatus } from '../src/api/alertscaler.js';
import { KubeScalerStore } from '../src/reconcile/kube-store.js';
import { describeWithCluster, type TestCluster } from '@concert-booking/devkit/cluster/envtest';
import { waitForEstablished } from '@concert-booking/devkit/cluster/kubectl';

const charts = fileURLToPath(new URL('../../charts/', import.meta.url));
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', {});
/** Unique per run: a shared cluster (scripts/mutation-cluster.ts) sees this file many times. */
const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

describeWithCluster('KubeScalerStore.updateStatus against a real API server', (cluster) => {
  let c: TestCluster;
  let store: KubeScalerStore;
  const NS = `status-writes-${run}`;

  beforeAll(async () => {
    c = cluster();
    await c.kubectl(['apply', '--server-side', '-f', join(charts, '00-crds.k8s.yaml')]);
    await waitForEstablished(c.kubectl, [`crd/${PLURAL}.${GROUP}`]);
    await c.kubectl(['create', 'namespace', NS]);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(c.kubeconfigPath);
    store = new KubeScalerStore(kubeConfig, kubeConfig.makeApiClient(CustomObjectsApi), NS, logger);
  }, 120_000);

  let scalers = 0;
  async function scaler(): Promise<string> {
    const name = `s${++scalers}`;
    await c.kubectl(['apply', '-n', NS, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'AlertScaler',
        metadata: { name, namespace: NS },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
          alerts: [{ alertName: 'BookingHighP90Latency' }],
          minReplicas: 1,
          maxReplicas: 3,
        },
      }),
    });
    return name;
  }
  /** kubectl, synchronously: another writer's change from inside the status write's `mutate`. */
  const kubectlNow = (args: string[]) =>
    execFileSync(join(c.binDir, 'kubectl'), [`--kubeconfig=${c.kubeconfigPath}`, ...args, '-n', NS]);
  /** Another writer: an annotation changes the resourceVersion the status write was prepared against. */
  const touch = (name: string, value: number) =>
    kubectlNow(['annotate', '--overwrite', 'alertscaler', name, `touched=${value}`]);
  const readStatus = async (name: string) =>
    (
      JSON.parse((await c.kubectl(['get', 'alertscaler', name, '-n', NS, '-o', 'json'])).stdout) as {
        status?: AlertScalerStatus;
      }
    ).status;

  test('a write that meets a concurrent change is prepared again from a fresh read and lands', async () => {
    const name = await scaler();
    let calls = 0;
    const written = await store.updateStatus(NS, name, (fresh) => {
      calls++;
      if (calls === 1) touch(name, calls);
      return { ...fresh.status, desiredReplicas: 2 };
    });
    expect(written).toBe(true);
    expect(calls).toBe(2);
    expect(await readStatus(name)).toMatchObject({ desiredReplicas: 2 });
  });

  test('a write that conflicts every time gives up after 5 attempts with the 409', async () => {
    const name = await scaler();
    let calls = 0;
    const failing = store.updateStatus(NS, name, (fresh) => {
      touch(name, ++calls);
      return { ...fresh.status, desiredReplicas: 3 };
    });
    await expect(failing).rejects.toMatchObject({ code: 409 });
    expect(calls).toBe(5);
    expect((await readStatus(name))?.desiredReplicas).toBeUndefined();
  });

  test('an unchanged status is not written; a missing object or another namespace answers false', async () => {
    const name = await scaler();
    const before = JSON.parse(
      (await c.kubectl(['get', 'alertscaler', name, '-n', NS, '-o', 'json'])).stdout,
    ) as {
      metadata: { resourceVersion: string };
    };
    expect(await store.updateStatus(NS, name, (fresh) => fresh.status)).toBe(true);
    const after = JSON.parse(
      (await c.kubectl(['get', 'alertscaler', name, '-n', NS, '-o', 'json'])).stdout,
    ) as {
      metadata: { resourceVersion: string };
    };
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(await store.updateStatus(NS, 'no-such-scaler', (fresh) => fresh.status)).toBe(false);
    expect(await store.updateStatus('elsewhere', name, (fresh) => fresh.status)).toBe(false);
    expect(await store.get('elsewhere', name)).toBeUndefined();
    expect(await store.get(NS, 'no-such-scaler')).toBeUndefined();
  });

  test('a scaler deleted while its status is prepared answers false (its write: 404), and is not written again', async () => {
    const name = await scaler();
    let calls = 0;
    const written = await store.updateStatus(NS, name, (fresh) => {
      calls++;
      kubectlNow(['delete', 'alertscaler', name]);
      return { ...fresh.status, desiredReplicas: 2 };
    });
    expect(written).toBe(false);
    expect(calls).toBe(1);
  });

  test('a write the API server refuses for another reason (422) is not tried again', async () => {
    const name = await scaler();
    let calls = 0;
    const refused = store.updateStatus(NS, name, (fresh) => {
      calls++;
      return { ...fresh.status, desiredReplicas: -1 };
    });
    await expect(refused).rejects.toMatchObject({ code: 422 });
    expect(calls).toBe(1);
  });
});
