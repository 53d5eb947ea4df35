// One reconcile at a time against a real API server: the AlertScaler, its Deployment's /scale, its status and
// its Events are real objects; the clock is the test's, so windows and cooldowns are exact. Each test has a
// namespace of its own and stands alone.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '@concert-booking/lib';
import { GROUP, PLURAL, VERSION, type AlertScalerStatus } from '../src/api/alertscaler.js';
import { ControllerMetrics } from '../src/metrics.js';
import { KubeEventRecorder } from '../src/reconcile/events.js';
import { KubeScalerStore } from '../src/reconcile/kube-store.js';
import { Reconciler } from '../src/reconcile/reconciler.js';
import { KubeScaleTarget } from '../src/targets/kube-scale.js';
import { ConflictError, TargetError, type ScaleTarget } from '../src/targets/scale-target.js';
import { describeWithCluster, type TestCluster } from '@concert-booking/devkit/cluster/envtest';
import { waitForEstablished } from '@concert-booking/devkit/cluster/kubectl';

const charts = fileURLToPath(new URL('../../charts/', import.meta.url));
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', {});
const NOW = new Date('2025-06-01T12:00:00.000Z');
/** Namespaces are unique per run: a shared cluster (scripts/mutation-cluster.ts) sees this file many times. */
const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();
const firingEpisode = {
  fingerprint: 'f',
  startsAt: ago(600),
  alertName: 'BookingHighP90Latency',
  role: 'scale' as const,
  lastNotifiedTime: ago(5),
};

describeWithCluster('Reconciler against a real API server', (cluster) => {
  let c: TestCluster;
  let kubeConfig: KubeConfig;
  let api: CustomObjectsApi;
  const stores: KubeScalerStore[] = [];
  let namespaces = 0;

  beforeAll(async () => {
    c = cluster();
    await c.kubectl(['apply', '--server-side', '-f', join(charts, '00-crds.k8s.yaml')]);
    await waitForEstablished(c.kubectl, [`crd/${PLURAL}.${GROUP}`]);
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(c.kubeconfigPath);
    api = kubeConfig.makeApiClient(CustomObjectsApi);
  }, 120_000);
  afterAll(async () => {
    for (const store of stores) await store.stop();
  });

  /** A namespace with Deployment `web` at `replicas` and AlertScaler `web` with `spec` and `status`. */
  async function scenario(options: {
    replicas: number;
    spec?: Record<string, unknown>;
    status?: Partial<AlertScalerStatus>;
    deployment?: boolean;
  }) {
    const ns = `reconcile-${run}-${++namespaces}`;
    await c.kubectl(['create', 'namespace', ns]);
    if (options.deployment !== false) {
      await c.kubectl([
        'create',
        'deployment',
        'web',
        '--image=registry.invalid/web:1',
        `--replicas=${options.replicas}`,
        '-n',
        ns,
      ]);
    }
    await c.kubectl(['apply', '-n', ns, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'AlertScaler',
        metadata: { name: 'web', namespace: ns },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
          alerts: [{ alertName: 'BookingHighP90Latency' }],
          minReplicas: 2,
          maxReplicas: 10,
          scaleUp: { step: { type: 'Pods', value: 2 }, cooldownSeconds: 120 },
          scaleDown: {
            step: { type: 'Pods', value: 1 },
            stabilizationWindowSeconds: 300,
            cooldownSeconds: 60,
          },
          ...options.spec,
        },
      }),
    });
    const store = new KubeScalerStore(kubeConfig, api, ns, logger);
    stores.push(store);
    if (options.status) {
      await store.updateStatus(ns, 'web', (s) => ({ ...s.status, ...options.status }));
    }
    const metrics = new ControllerMetrics();
    const direct = new KubeScaleTarget(api, ns, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' });
    const targets: ScaleTarget[] = [];
    const reconciler = new Reconciler({
      store,
      targetFor: (namespace, spec) => {
        expect([namespace, spec.scaleTargetRef.name]).toEqual([ns, 'web']);
        return targets[0] ?? direct;
      },
      events: new KubeEventRecorder(kubeConfig.makeApiClient(CoreV1Api), 'test-pod', logger),
      metrics,
      clock: () => NOW,
      logger,
    });
    const kubectlJson = async <T>(args: string[]): Promise<T> =>
      JSON.parse((await c.kubectl([...args, '-n', ns, '-o', 'json'])).stdout) as T;
    return {
      ns,
      reconcile: () => reconciler.reconcile(ns, 'web'),
      store,
      metrics,
      direct,
      /** Replaces the target the reconciler scales (to interleave another writer). */
      useTarget: (target: ScaleTarget) => targets.push(target),
      replicas: async () =>
        (await kubectlJson<{ spec: { replicas: number } }>(['get', 'deployment', 'web'])).spec.replicas,
      status: async () =>
        (await kubectlJson<{ status: AlertScalerStatus }>(['get', 'alertscaler', 'web'])).status,
      condition: async (type: string) =>
        (
          await kubectlJson<{ status: AlertScalerStatus }>(['get', 'alertscaler', 'web'])
        ).status.conditions.find((x) => x.type === type),
      events: async () =>
        (
          await kubectlJson<{ items: { type: string; reason: string; message: string }[] }>([
            'get',
            'events',
            '--field-selector',
            'involvedObject.kind=AlertScaler,involvedObject.name=web',
          ])
        ).items.map((e) => `${e.type} ${e.reason}: ${e.message}`),
      metric: async (name: string) => metrics.registry.getSingleMetricAsString(name),
      /** Changes the Deployment's replicas behind the reconciler's back (another writer). */
      scaleBehind: (replicas: number) =>
        execFileSync(join(c.binDir, 'kubectl'), [
          `--kubeconfig=${c.kubeconfigPath}`,
          'scale',
          'deployment',
          'web',
          `--replicas=${replicas}`,
          '-n',
          ns,
        ]),
    };
  }

  test('a firing episode scales up one step: /scale, status, Event and metrics', async () => {
    const s = await scenario({ replicas: 2, status: { firingAlerts: [firingEpisode] } });
    expect(await s.reconcile()).toBeUndefined();
    expect(await s.replicas()).toBe(4);
    expect(await s.status()).toMatchObject({
      currentReplicas: 4,
      desiredReplicas: 4,
      lastScaleTime: NOW.toISOString(),
      lastScaleDirection: 'Up',
      observedGeneration: 1,
    });
    expect(await s.condition('AbleToScale')).toMatchObject({ status: 'True', reason: 'SucceededRescale' });
    expect(await s.events()).toEqual(['Normal ScaledUp: 1 alert(s) firing: scale up from 2 to 4']);
    const metrics = await s.metrics.registry.metrics();
    for (const line of [
      'alertscaler_scale_operations_total{direction="up",result="success"} 1',
      `alertscaler_current_replicas{alertscaler="web",namespace="${s.ns}"} 4`,
      `alertscaler_desired_replicas{alertscaler="web",namespace="${s.ns}"} 4`,
      `alertscaler_min_replicas{alertscaler="web",namespace="${s.ns}"} 2`,
      `alertscaler_max_replicas{alertscaler="web",namespace="${s.ns}"} 10`,
    ]) {
      expect(metrics).toContain(line);
    }
  });

  test('no alert firing after the window: scales down one step with a ScaledDown Event', async () => {
    const s = await scenario({ replicas: 4, status: { lastFiringTime: ago(301) } });
    await s.reconcile();
    expect(await s.replicas()).toBe(3);
    expect(await s.status()).toMatchObject({ currentReplicas: 3, lastScaleDirection: 'Down' });
    expect(await s.events()).toEqual(['Normal ScaledDown: no alert firing: scale down from 4 to 3']);
    expect(await s.metric('alertscaler_scale_operations_total')).toContain(
      'alertscaler_scale_operations_total{direction="down",result="success"} 1',
    );
  });

  test('the stabilization window since the last firing holds a scale-down, and says when to look again', async () => {
    const s = await scenario({ replicas: 4, status: { lastFiringTime: ago(10) } });
    expect(await s.reconcile()).toBe(290);
    expect(await s.replicas()).toBe(4);
    expect(await s.condition('AbleToScale')).toMatchObject({ status: 'True', reason: 'Stabilizing' });
    expect(await s.status()).toMatchObject({ currentReplicas: 4, desiredReplicas: 4 });
    expect(await s.status()).not.toHaveProperty('lastScaleTime');
    expect(await s.events()).toEqual([]);
  });

  test('the cooldown since the last scale-up holds the next one', async () => {
    const s = await scenario({
      replicas: 4,
      status: { firingAlerts: [firingEpisode], lastScaleTime: ago(30), lastScaleDirection: 'Up' },
    });
    expect(await s.reconcile()).toBe(90);
    expect(await s.replicas()).toBe(4);
    expect(await s.condition('AbleToScale')).toMatchObject({ reason: 'UpCooldown' });
  });

  test("someone else's concurrent change is not overwritten: 409, read again, decide again", async () => {
    const s = await scenario({ replicas: 2, status: { firingAlerts: [firingEpisode] } });
    // The raw contract first: a write at a stale resourceVersion is refused.
    const stale = await s.direct.get();
    s.scaleBehind(3);
    await expect(s.direct.set(9, stale.resourceVersion)).rejects.toBeInstanceOf(ConflictError);
    expect(await s.replicas()).toBe(3);

    // Then the reconciler: another writer scales to 5 between its read and its write.
    let interleaved = false;
    s.useTarget({
      description: s.direct.description,
      get: () => s.direct.get(),
      set: async (count, resourceVersion) => {
        if (!interleaved) {
          interleaved = true;
          s.scaleBehind(5);
        }
        await s.direct.set(count, resourceVersion);
      },
    });
    await s.reconcile();
    // Decided again from 5 (5 + 2), not from the 3 it first read (which would have written 5 over 5, or 3 + 2).
    expect(await s.replicas()).toBe(7);
    const operations = await s.metric('alertscaler_scale_operations_total');
    expect(operations).toContain('alertscaler_scale_operations_total{direction="up",result="conflict"} 1');
    expect(operations).toContain('alertscaler_scale_operations_total{direction="up",result="success"} 1');
    expect(await s.status()).toMatchObject({
      currentReplicas: 7,
      desiredReplicas: 7,
      lastScaleDirection: 'Up',
    });
  });

  test('a target that changes under every write: gives up after 5 attempts, says so in status and an Event', async () => {
    const s = await scenario({ replicas: 2, status: { firingAlerts: [firingEpisode] } });
    let writes = 0;
    s.useTarget({
      description: s.direct.description,
      get: () => s.direct.get(),
      set: async (count, resourceVersion) => {
        writes++;
        s.scaleBehind(2 + (writes % 2));
        await s.direct.set(count, resourceVersion);
      },
    });
    const failure = s.reconcile();
    await expect(failure).rejects.toBeInstanceOf(TargetError);
    await expect(failure).rejects.toThrow('set Deployment/web: still conflicting after 5 attempts');
    expect(writes).toBe(5);
    expect(await s.condition('AbleToScale')).toMatchObject({ status: 'False', reason: 'FailedUpdateScale' });
    expect(await s.events()).toEqual([
      'Warning FailedUpdateScale: set Deployment/web: still conflicting after 5 attempts',
    ]);
    expect(await s.metric('alertscaler_scale_operations_total')).toContain(
      'alertscaler_scale_operations_total{direction="up",result="conflict"} 5',
    );
  });

  test('a target that cannot be read: the error propagates, status and one Warning say why', async () => {
    const s = await scenario({ replicas: 2, deployment: false, status: { firingAlerts: [firingEpisode] } });
    const notFound = 'get Deployment/web: HTTP 404: deployments.apps "web" not found';
    await expect(s.reconcile()).rejects.toThrow(notFound);
    await expect(s.reconcile()).rejects.toBeInstanceOf(TargetError);
    expect(await s.condition('AbleToScale')).toMatchObject({
      status: 'False',
      reason: 'FailedGetScale',
      message: notFound,
    });
    // The same failure again is the same notice (no request id or date in it): one Event.
    expect(await s.events()).toEqual([`Warning FailedGetScale: ${notFound}`]);
  });

  test('at maxReplicas: refused, counted, one AtMaxReplicas Event however often it is reconciled', async () => {
    const s = await scenario({ replicas: 10, status: { firingAlerts: [firingEpisode] } });
    await s.reconcile();
    await s.reconcile();
    expect(await s.replicas()).toBe(10);
    expect(await s.events()).toEqual(['Normal AtMaxReplicas: 1 alert(s) firing, already at maxReplicas 10']);
    expect(await s.condition('ScalingLimited')).toMatchObject({ status: 'True', reason: 'TooManyReplicas' });
    expect(await s.metric('alertscaler_scale_operations_total')).toContain(
      'alertscaler_scale_operations_total{direction="up",result="refused"} 2',
    );
  });

  test('dry-run: the decision is recorded and announced once, nothing is scaled', async () => {
    const s = await scenario({
      replicas: 2,
      spec: { dryRun: true },
      status: { firingAlerts: [firingEpisode] },
    });
    await s.reconcile();
    await s.reconcile();
    expect(await s.replicas()).toBe(2);
    expect(await s.status()).toMatchObject({ currentReplicas: 2, desiredReplicas: 4 });
    expect(await s.events()).toEqual([
      'Normal DryRun: dry run: would scale from 2 to 4: 1 alert(s) firing: scale up from 2 to 4',
    ]);
    const metrics = await s.metrics.registry.metrics();
    expect(metrics).toContain('alertscaler_scale_operations_total{direction="up",result="dry_run"} 2');
    expect(metrics).toContain(`alertscaler_current_replicas{alertscaler="web",namespace="${s.ns}"} 2`);
    expect(metrics).toContain(`alertscaler_desired_replicas{alertscaler="web",namespace="${s.ns}"} 4`);
  });

  test('paused: a Paused Event once; a scale afterwards announces a later pause again', async () => {
    const s = await scenario({
      replicas: 2,
      spec: { paused: true },
      status: { firingAlerts: [firingEpisode] },
    });
    await s.reconcile();
    await s.reconcile();
    expect(await s.events()).toEqual(['Normal Paused: spec.paused is true: replicas are left as they are']);
    await c.kubectl([
      'patch',
      'alertscaler',
      'web',
      '-n',
      s.ns,
      '--type=merge',
      '-p',
      '{"spec":{"paused":false}}',
    ]);
    await s.reconcile();
    await c.kubectl([
      'patch',
      'alertscaler',
      'web',
      '-n',
      s.ns,
      '--type=merge',
      '-p',
      '{"spec":{"paused":true}}',
    ]);
    await s.reconcile();
    expect((await s.events()).filter((e) => e.startsWith('Normal Paused'))).toHaveLength(2);
    expect(await s.replicas()).toBe(4);
  });

  test('an invalid spec: status and a Warning say why, nothing is read or scaled', async () => {
    const s = await scenario({
      replicas: 2,
      spec: { alerts: [{ alertName: 'A', matchers: [{ name: 'x', op: '=~', value: '(' }] }] },
      status: { firingAlerts: [firingEpisode] },
    });
    s.useTarget({
      description: 'never used',
      get: () => Promise.reject(new Error('an invalid AlertScaler must not read its target')),
      set: () => Promise.reject(new Error('an invalid AlertScaler must not scale')),
    });
    expect(await s.reconcile()).toBeUndefined();
    expect(await s.condition('AbleToScale')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    const events = await s.events();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatch(/^Warning InvalidSpec: alerts\.0\.matchers\.0\.value: /);
  });

  test('a deleted AlertScaler: nothing to do, and its gauges are dropped', async () => {
    const s = await scenario({ replicas: 2, status: { firingAlerts: [firingEpisode] } });
    await s.reconcile();
    expect(await s.metric('alertscaler_current_replicas')).toContain(`namespace="${s.ns}"`);
    await c.kubectl(['delete', 'alertscaler', 'web', '-n', s.ns]);
    expect(await s.reconcile()).toBeUndefined();
    const metrics = await s.metrics.registry.metrics();
    for (const gauge of ['current', 'desired', 'min', 'max']) {
      expect(metrics).not.toContain(`alertscaler_${gauge}_replicas{alertscaler="web"`);
    }
  });
});
