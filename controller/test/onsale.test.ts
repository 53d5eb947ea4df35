// An OnSale through its phases against a real API server: its status is written there, and the AlertScaler
// reconciler scales a real Deployment's /scale under the floor the sale holds. The clock is the test's; the
// waiting room's numbers are given per step (what the service's metrics would say at that moment).
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '@concert-booking/lib';
import { describeWithCluster, type TestCluster } from '@concert-booking/devkit/cluster/envtest';
import { createScratchDatabase, sharedDatabaseUrl } from '@concert-booking/devkit/databases';
import { ProcessGroup, runProcess } from '@concert-booking/devkit/process';
import { seedProcess, serviceProcess } from '@concert-booking/devkit/programs';
import { PrivateRedis } from '@concert-booking/devkit/servers';
import { freePort } from '@concert-booking/devkit/wait';
import { GROUP, VERSION } from '../src/api/alertscaler.js';
import { ONSALE_PLURAL, type OnSaleStatus } from '../src/api/onsale.js';
import { ControllerMetrics } from '../src/metrics.js';
import {
  httpSalePublisher,
  kubeOnSaleStore,
  OnSaleReconciler,
  type QueueReading,
  type SalePublisher,
} from '../src/onsale/reconciler.js';
import { KubeEventRecorder } from '../src/reconcile/events.js';
import { KubeScalerStore } from '../src/reconcile/kube-store.js';
import { Reconciler } from '../src/reconcile/reconciler.js';
import { KubeScaleTarget } from '../src/targets/kube-scale.js';
import { waitForEstablished } from '@concert-booking/devkit/cluster/kubectl';

const charts = fileURLToPath(new URL('../../charts/', import.meta.url));
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', {});
const OPENS = Date.parse('2026-12-01T18:00:00.000Z');
const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;

describeWithCluster('OnSale against a real API server', (cluster) => {
  let c: TestCluster;
  let api: CustomObjectsApi;
  let kubeConfig: KubeConfig;
  const stores: KubeScalerStore[] = [];

  beforeAll(async () => {
    c = cluster();
    await c.kubectl(['apply', '--server-side', '-f', join(charts, '00-crds.k8s.yaml')]);
    await waitForEstablished(c.kubectl, [`crd/${ONSALE_PLURAL}.${GROUP}`]);
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(c.kubeconfigPath);
    api = kubeConfig.makeApiClient(CustomObjectsApi);
  }, 120_000);
  afterAll(async () => {
    for (const store of stores) await store.stop();
  });

  const saleSpec = (overrides: Record<string, unknown> = {}) => ({
    timeslotIds: [1],
    opensAt: new Date(OPENS).toISOString(),
    closesAt: new Date(OPENS + 3_600_000).toISOString(),
    preQueueSeconds: 900,
    scaling: { alertScalerName: 'web', minReplicas: 6, leadSeconds: 600 },
    ...overrides,
  });

  async function scenario(publish?: SalePublisher, suffix = '') {
    const ns = `onsale-${run}${suffix}`;
    await c.kubectl(['create', 'namespace', ns]);
    await c.kubectl([
      'create',
      'deployment',
      'web',
      '--image=registry.invalid/web:1',
      '--replicas=2',
      '-n',
      ns,
    ]);
    const apply = (object: Record<string, unknown>) =>
      c.kubectl(['apply', '-n', ns, '-f', '-'], { input: JSON.stringify(object) });
    await apply({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'AlertScaler',
      metadata: { name: 'web', namespace: ns },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        alerts: [{ alertName: 'BookingHighP90Latency' }],
        minReplicas: 2,
        maxReplicas: 10,
        scaleDown: { stabilizationWindowSeconds: 0, cooldownSeconds: 0 },
      },
    });
    await apply({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'OnSale',
      metadata: { name: 'sale', namespace: ns },
      spec: saleSpec(),
    });
    let now = new Date(OPENS - 1_000_000);
    let queue: QueueReading | undefined;
    const sales = new OnSaleReconciler({
      store: kubeOnSaleStore(api, ns),
      namespace: ns,
      readQueue: async () => queue,
      publish,
      clock: () => now,
      logger,
    });
    const store = new KubeScalerStore(kubeConfig, api, ns, logger);
    stores.push(store);
    const scaler = new Reconciler({
      store,
      targetFor: (namespace, spec) => new KubeScaleTarget(api, namespace, spec.scaleTargetRef),
      events: new KubeEventRecorder(kubeConfig.makeApiClient(CoreV1Api), 'test-pod', logger),
      metrics: new ControllerMetrics(),
      clock: () => now,
      logger,
      saleFloors: (namespace, name) => sales.floorsFor(namespace, name),
    });
    const json = async <T>(args: string[]) =>
      JSON.parse((await c.kubectl([...args, '-n', ns, '-o', 'json'])).stdout) as T;
    return {
      ns,
      apply,
      /** One pass of both reconcilers at `secondsFromOpen`, the waiting room reading `reading`. */
      async step(secondsFromOpen: number, reading: QueueReading | undefined) {
        now = new Date(OPENS + secondsFromOpen * 1000);
        queue = reading;
        await sales.reconcileAll();
        await scaler.reconcile(ns, 'web');
      },
      replicas: async () =>
        (await json<{ spec: { replicas: number } }>(['get', 'deployment', 'web'])).spec.replicas,
      saleStatus: async () => (await json<{ status: OnSaleStatus }>(['get', 'onsale', 'sale'])).status,
      scaleBehind: (replicas: number) =>
        c.kubectl(['scale', 'deployment', 'web', `--replicas=${replicas}`, '-n', ns]),
    };
  }

  test('pre-scales before opensAt, holds through the sale, lets go once drained', async () => {
    const s = await scenario();
    const reading = (waiting: number, admittedSinceOpen: number, admissionRate: number) => ({
      waiting,
      admittedSinceOpen,
      admissionRate,
    });

    await s.step(-1_000, reading(0, 0, 5));
    expect(await s.saleStatus()).toMatchObject({
      phase: 'Scheduled',
      holdingReplicas: false,
      observedGeneration: 1,
    });
    expect(await s.replicas()).toBe(2);

    await s.step(-800, reading(400, 0, 5));
    expect(await s.saleStatus()).toMatchObject({ phase: 'PreQueue', holdingReplicas: false, waiting: 400 });
    expect(await s.replicas()).toBe(2);

    // The lead time: the floor rises before anyone is admitted.
    await s.step(-600, reading(900, 0, 5));
    expect(await s.saleStatus()).toMatchObject({ phase: 'PreQueue', holdingReplicas: true });
    expect(await s.replicas()).toBe(6);

    // Open; the p90 alert has scaled it to 8 meanwhile. No alert fires now, yet nothing is scaled in.
    await s.scaleBehind(8);
    await s.step(60, reading(700, 200, 40));
    expect(await s.saleStatus()).toMatchObject({
      phase: 'Open',
      holdingReplicas: true,
      admitted: 200,
      admissionRate: 40,
      waiting: 700,
      lastTransitionTime: new Date(OPENS + 60_000).toISOString(),
    });
    expect(await s.replicas()).toBe(8);

    // Prometheus unreadable: the last numbers stay, the phase still follows the clock.
    await s.step(120, undefined);
    expect(await s.saleStatus()).toMatchObject({ phase: 'Open', admitted: 200, waiting: 700 });

    await s.step(3_600, reading(50, 5_000, 60));
    expect(await s.saleStatus()).toMatchObject({ phase: 'Draining', holdingReplicas: true, admitted: 5_000 });
    expect(await s.replicas()).toBe(8);

    await s.step(3_700, reading(0, 5_050, 60));
    expect(await s.saleStatus()).toMatchObject({ phase: 'Done', holdingReplicas: false, admitted: 5_050 });
    // Released: the AlertScaler scales in again, one step at a time.
    expect(await s.replicas()).toBe(7);
  });

  test("publishes the sale to the booking service's waiting room once its pre-queue opens, not before", async () => {
    const group = new ProcessGroup();
    const redisServer = await PrivateRedis.create();
    const database = await createScratchDatabase(sharedDatabaseUrl());
    // What the service wrote to its waiting room's store, read with redis-cli (field, value, ...).
    const sale = async () => {
      const { stdout } = await promisify(execFile)('redis-cli', [
        '-p',
        String(redisServer.port),
        'HGETALL',
        'queue:sale',
      ]);
      const lines = stdout.trim().split('\n').filter(Boolean);
      return Object.fromEntries(lines.flatMap((line, i) => (i % 2 === 0 ? [[line, lines[i + 1]]] : [])));
    };
    try {
      await runProcess(
        seedProcess(database.url, { concerts: 1, timeslotsPerConcert: 1, seatsPerTimeslot: 5 }),
        group,
      );
      const dir = mkdtempSync(join(tmpdir(), 'onsale-publish-'));
      writeFileSync(join(dir, 'token'), 'publish-token');
      const [port, adminPort] = [await freePort(), await freePort()];
      // The cluster mode, as the drill runs it: the primary's admin port takes the sale.
      await group.start(
        serviceProcess({
          DATABASE_URL: database.url,
          REDIS_URL: redisServer.url,
          PORT: String(port),
          ADMIN_PORT: String(adminPort),
          ADMIN_TOKEN_FILE: join(dir, 'token'),
          WORKERS: '1',
        }),
      );
      const s = await scenario(
        httpSalePublisher(`http://127.0.0.1:${adminPort}`, 'publish-token', 2_000),
        '-published',
      );
      await s.step(-1_000, undefined);
      expect(await sale()).toEqual({});
      await s.step(-800, undefined);
      expect(await sale()).toMatchObject({
        opensAt: String(OPENS),
        preQueueStart: String(OPENS - 900_000),
        timeslots: '[1]',
      });
    } finally {
      await group.stopAll();
      await database.drop();
      await redisServer.stop();
    }
  }, 120_000);

  test('the API server refuses a sale that closes before it opens', async () => {
    const ns = `onsale-${run}-refused`;
    await c.kubectl(['create', 'namespace', ns]);
    await expect(
      c.kubectl(['apply', '-n', ns, '-f', '-'], {
        input: JSON.stringify({
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'OnSale',
          metadata: { name: 'backwards', namespace: ns },
          spec: saleSpec({ closesAt: new Date(OPENS - 1).toISOString() }),
        }),
      }),
    ).rejects.toThrow(/opensAt must be before closesAt/);
  });
});
