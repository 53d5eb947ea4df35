// The controller against a real kube-apiserver (devkit/src/cluster/envtest.ts): the CRD and the controller's
// ServiceAccount/Role come from charts/, the controller runs under that ServiceAccount (not admin), and
// the booking service's Deployment is the one charts/30 ships. Without kube-controller-manager no pods
// exist: only spec.replicas and /scale matter here.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@concert-booking/lib';
import { GROUP, PLURAL, type AlertScalerStatus } from '../src/api/alertscaler.js';
import { startController, type RunningController } from '../src/compose.js';
import { loadControllerConfig } from '../src/config.js';
import { describeWithCluster, type TestCluster } from '@concert-booking/devkit/cluster/envtest';
import { waitFor } from '@concert-booking/devkit/wait';
import { payload, postAlerts } from './support/payloads.js';
import { waitForEstablished } from '@concert-booking/devkit/cluster/kubectl';

const charts = fileURLToPath(new URL('../../charts/', import.meta.url));
const NS = 'concert-booking';
const SCALER = 'booking-service';
const TOKEN = 'cluster-test-webhook-token-0123456789';
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', {});
const STARTS = '2025-06-01T11:00:00Z';

interface Scaler {
  metadata: { generation: number };
  status?: AlertScalerStatus;
}

describeWithCluster('AlertScaler controller on a real API server', (cluster) => {
  let c: TestCluster;
  let saKubeconfig: string;
  let tokenFile: string;
  const controllers: RunningController[] = [];

  const kubectlJson = async <T>(args: string[]): Promise<T> =>
    JSON.parse((await c.kubectl([...args, '-o', 'json'])).stdout) as T;
  const replicas = async (name = SCALER, ns = NS) =>
    (await kubectlJson<{ spec: { replicas: number } }>(['get', 'deployment', name, '-n', ns])).spec.replicas;
  const scaler = () => kubectlJson<Scaler>(['get', 'alertscaler', SCALER, '-n', NS]);
  const condition = async (type: string) => (await scaler()).status?.conditions.find((x) => x.type === type);
  const eventReasons = async () =>
    (
      await kubectlJson<{ items: { reason: string; message: string }[] }>([
        'get',
        'events',
        '-n',
        NS,
        '--field-selector',
        `involvedObject.kind=AlertScaler,involvedObject.name=${SCALER}`,
      ])
    ).items.map((e) => e.reason);
  const patchSpec = (spec: object) =>
    c.kubectl(['patch', 'alertscaler', SCALER, '-n', NS, '--type=merge', '-p', JSON.stringify({ spec })]);
  const until = (what: string, check: () => Promise<boolean>) => waitFor(check, 30_000, what);

  async function start(podName: string): Promise<RunningController> {
    const controller = await startController(
      loadControllerConfig({
        MODE: 'kubernetes',
        PORT: '0',
        LOG_LEVEL: 'silent',
        KUBECONFIG: saKubeconfig,
        NAMESPACE: NS,
        POD_NAME: podName,
        WEBHOOK_TOKEN_FILE: tokenFile,
        RESYNC_INTERVAL_SECONDS: '2',
        LEASE_DURATION_SECONDS: '3',
        LEASE_RENEW_DEADLINE_MS: '2000',
        LEASE_RETRY_PERIOD_MS: '250',
      }),
      logger,
    );
    controllers.push(controller);
    return controller;
  }

  beforeAll(async () => {
    c = cluster();
    for (const file of ['00-crds', '01-namespace']) {
      await c.kubectl(['apply', '--server-side', '-f', join(charts, `${file}.k8s.yaml`)]);
    }
    await waitForEstablished(c.kubectl, [`crd/${PLURAL}.${GROUP}`]);
    for (const file of ['30-booking-service', '55-alertscaler']) {
      await c.kubectl(['apply', '--server-side', '-f', join(charts, `${file}.k8s.yaml`)]);
    }
    // The chart leaves replicas to the controller (a new Deployment has 1, which it raises to minReplicas,
    // a scale that starts the scale-up cooldown). These tests start from minReplicas, as an installed bundle is.
    await c.kubectl(['scale', 'deployment/booking-service', '--replicas=2', '-n', NS]);
    saKubeconfig = await c.kubeconfigForServiceAccount(NS, 'alertscaler');
    tokenFile = join(mkdtempSync(join(tmpdir(), 'alertscaler-')), 'token');
    writeFileSync(tokenFile, `${TOKEN}\n`);
  }, 120_000);

  afterAll(async () => {
    for (const controller of controllers) await controller.close();
  });

  test('the Role is enough and no broader', async () => {
    const can = async (...args: string[]) =>
      (
        await c.kubectl(['auth', 'can-i', ...args, '-n', NS], {
          kubeconfig: saKubeconfig,
          allowFailure: true,
        })
      ).stdout.trim();
    expect(await can('update', 'deployments', '--subresource=scale')).toBe('yes');
    expect(await can('watch', 'alertscalers.autoscaling.concert-booking.dev')).toBe('yes');
    expect(await can('create', 'events')).toBe('yes');
    for (const forbidden of [
      ['list', 'secrets'],
      ['get', 'secrets'],
      ['get', 'deployments'],
      ['update', 'deployments'],
      ['patch', 'deployments'],
      ['update', 'alertscalers.autoscaling.concert-booking.dev'],
      ['delete', 'alertscalers.autoscaling.concert-booking.dev'],
      ['update', 'leases.coordination.k8s.io/someone-elses-lease'],
      ['list', 'pods'],
    ]) {
      expect([forbidden.join(' '), await can(...forbidden)]).toEqual([forbidden.join(' '), 'no']);
    }
    const secrets = await c.kubectl(['get', 'secrets', '-n', NS], {
      kubeconfig: saKubeconfig,
      allowFailure: true,
    });
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toMatch(/forbidden/i);
  });

  test('a firing alert scales the Deployment up by one step; status and an Event say so', async () => {
    const controller = await start('controller-a');
    await until('controller-a leads', async () => controller.leader!.isLeader());
    expect(await replicas()).toBe(2);
    await until('the first reconcile', async () => (await scaler()).status?.observedGeneration !== undefined);
    // What docs/deploy.md step 4 waits on before the booking service's rollout.
    await c.kubectl([
      'wait',
      '--for=condition=AbleToScale',
      '--timeout=60s',
      `alertscaler/${SCALER}`,
      '-n',
      NS,
    ]);

    const response = await postAlerts(
      controller.url,
      TOKEN,
      payload([{ status: 'firing', fingerprint: 'p90-a', startsAt: STARTS }]),
    );
    expect(response.status).toBe(200);

    await until('spec.replicas 4', async () => (await replicas()) === 4);
    await until(
      'status after the scale-up',
      async () => (await scaler()).status?.lastScaleDirection === 'Up',
    );
    const { status, metadata } = await scaler();
    expect(status).toMatchObject({
      observedGeneration: metadata.generation,
      currentReplicas: 4,
      desiredReplicas: 4,
      lastScaleDirection: 'Up',
      firingAlerts: [
        { fingerprint: 'p90-a', startsAt: '2025-06-01T11:00:00.000Z', alertName: 'BookingHighP90Latency' },
      ],
    });
    expect(await eventReasons()).toContain('ScaledUp');
    // Still firing, but within the 180 s scale-up cooldown of the default AlertScaler: no second step.
    await until('UpCooldown', async () => (await condition('AbleToScale'))?.reason === 'UpCooldown');
    expect(await replicas()).toBe(4);
    const metrics = await (await fetch(`${controller.url}/metrics`)).text();
    expect(metrics).toContain('alertscaler_scale_operations_total{direction="up",result="success"} 1');
    expect(metrics).toContain(
      'alertscaler_current_replicas{alertscaler="booking-service",namespace="concert-booking"} 4',
    );
  });

  test('at maxReplicas it refuses with ScalingLimited and an Event', async () => {
    await patchSpec({ maxReplicas: 4, scaleUp: { cooldownSeconds: 0 } });
    await until(
      'ScalingLimited',
      async () => (await condition('ScalingLimited'))?.reason === 'TooManyReplicas',
    );
    await until('the AtMaxReplicas Event', async () => (await eventReasons()).includes('AtMaxReplicas'));
    expect(await replicas()).toBe(4);
  });

  test('dry-run records the decision without scaling; paused changes nothing', async () => {
    await patchSpec({ maxReplicas: 8, dryRun: true });
    await until('desired 6 in dry-run', async () => (await scaler()).status?.desiredReplicas === 6);
    await until('the DryRun Event', async () => (await eventReasons()).includes('DryRun'));
    expect(await replicas()).toBe(4);
    await patchSpec({ dryRun: false, paused: true });
    await until(
      'ScalingActive=False Paused',
      async () => (await condition('ScalingActive'))?.reason === 'Paused',
    );
    await until('the Paused Event', async () => (await eventReasons()).includes('Paused'));
    expect(await replicas()).toBe(4);
  });

  test('any replica accepts webhooks; only the leader scales; the other takes over when it leaves', async () => {
    const [a] = controllers;
    const b = await start('controller-b');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // several of b's retry periods
    expect(a!.leader!.isLeader()).toBe(true);
    expect(b.leader!.isLeader()).toBe(false);
    const lease = await kubectlJson<{ spec: { holderIdentity: string } }>([
      'get',
      'lease',
      'alertscaler-leader',
      '-n',
      NS,
    ]);
    expect(lease.spec.holderIdentity).toBe('controller-a');

    // The follower records the resolution; the leader then scales down (window and cooldown set to 0).
    await patchSpec({ paused: false, scaleDown: { stabilizationWindowSeconds: 0, cooldownSeconds: 0 } });
    const response = await postAlerts(
      b.url,
      TOKEN,
      payload([{ status: 'resolved', fingerprint: 'p90-a', startsAt: STARTS }]),
    );
    expect(response.status).toBe(200);
    await until('back to minReplicas 2', async () => (await replicas()) === 2);
    const { status } = await scaler();
    expect(status?.firingAlerts).toEqual([]);
    expect(status?.resolvedAlerts.map((r) => r.fingerprint)).toContain('p90-a');
    expect(await eventReasons()).toContain('ScaledDown');
    const bMetrics = await (await fetch(`${b.url}/metrics`)).text();
    expect(bMetrics).not.toMatch(/alertscaler_scale_operations_total\{[^}]*result="success"\}/);

    await a!.close();
    await until('controller-b leads', async () => b.leader!.isLeader());
    const taken = await kubectlJson<{ spec: { holderIdentity: string } }>([
      'get',
      'lease',
      'alertscaler-leader',
      '-n',
      NS,
    ]);
    expect(taken.spec.holderIdentity).toBe('controller-b');
    // And it scales: a new episode fires (one step: the scale-up cooldown is back).
    await patchSpec({ scaleUp: { cooldownSeconds: 600 } });
    await postAlerts(
      b.url,
      TOKEN,
      payload([{ status: 'firing', fingerprint: 'p90-b', startsAt: '2025-06-01T12:00:00Z' }]),
    );
    await until('spec.replicas 4 by controller-b', async () => (await replicas()) === 4);
  });
});
