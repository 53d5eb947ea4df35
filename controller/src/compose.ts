import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { AlertmanagerResync } from './alerts/resync.js';
import { webhookHandler } from './alerts/webhook.js';
import type { AlertScalerResource, AlertScalerSpec } from './api/alertscaler.js';
import type { ControllerConfig } from './config.js';
import { sendJson, sendProblem } from '@concert-booking/lib';
import { LeaderElector } from './leader.js';
import type { Logger } from '@concert-booking/lib';
import { ControllerMetrics } from './metrics.js';
import { KubeEventRecorder, MemoryEventRecorder, type EventRecorder } from './reconcile/events.js';
import { KubeScalerStore } from './reconcile/kube-store.js';
import { ReconcileLoop } from './reconcile/loop.js';
import { Reconciler } from './reconcile/reconciler.js';
import { MemoryScalerStore, type ScalerStore } from './reconcile/store.js';
import { KubeScaleTarget } from './targets/kube-scale.js';
import {
  httpSalePublisher,
  kubeOnSaleStore,
  MemoryOnSaleStore,
  OnSaleLoop,
  OnSaleReconciler,
  prometheusQueueReader,
  type QueueReader,
} from './onsale/reconciler.js';
import type { OnSaleResource } from './api/onsale.js';
import type { ScaleTarget } from './targets/scale-target.js';
import { WorkerPoolTarget } from './targets/worker-pool.js';

export interface RunningController {
  /** http://HOST:PORT of the webhook, /metrics, /livez, /readyz. */
  url: string;
  store: ScalerStore;
  metrics: ControllerMetrics;
  /** Undefined in local mode (one process: always the leader). */
  leader: LeaderElector | undefined;
  close(): Promise<void>;
}

/** What differs between the cluster and the local drill: where AlertScalers live, what is scaled, Events. */
interface Edges {
  store: ScalerStore;
  targetFor: (namespace: string, spec: AlertScalerSpec) => ScaleTarget;
  events: EventRecorder;
  start(): Promise<void>;
  stop(): Promise<void>;
  leader?: LeaderElector;
  /** The namespace's OnSales (from the API server, or in local mode from ONSALES_FILE). */
  sales?: OnSaleReconciler;
  /** Read-only routes only this mode serves (`GET /path` -> JSON body). */
  reads?: Record<string, () => unknown>;
}

function kubeConfigFrom(config: ControllerConfig): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (config.KUBECONFIG) kubeConfig.loadFromFile(config.KUBECONFIG);
  else kubeConfig.loadFromCluster();
  return kubeConfig;
}

function kubernetesEdges(config: ControllerConfig, logger: Logger, leadership: Leadership): Edges {
  const namespace = config.NAMESPACE!;
  const kubeConfig = kubeConfigFrom(config);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const store = new KubeScalerStore(kubeConfig, custom, namespace, logger);
  const leader = new LeaderElector(
    custom,
    {
      namespace,
      name: config.LEASE_NAME,
      identity: config.POD_NAME,
      leaseDurationSeconds: config.LEASE_DURATION_SECONDS,
      renewDeadlineMs: config.LEASE_RENEW_DEADLINE_MS,
      retryPeriodMs: config.LEASE_RETRY_PERIOD_MS,
    },
    leadership,
    logger,
  );
  const sales = new OnSaleReconciler({
    store: kubeOnSaleStore(custom, namespace),
    namespace,
    readQueue: queueReader(config),
    publish: config.BOOKING_ADMIN_URL
      ? httpSalePublisher(config.BOOKING_ADMIN_URL, config.BOOKING_ADMIN_TOKEN!, 2_000)
      : undefined,
    clock: () => new Date(),
    logger,
  });
  return {
    store,
    leader,
    sales,
    targetFor: (targetNamespace, spec) => new KubeScaleTarget(custom, targetNamespace, spec.scaleTargetRef),
    events: new KubeEventRecorder(kubeConfig.makeApiClient(CoreV1Api), config.POD_NAME, logger),
    start: async () => {
      await store.start();
      leader.start();
    },
    stop: async () => {
      await leader.stop();
      await store.stop();
    },
  };
}

const queueReader = (config: ControllerConfig): QueueReader =>
  config.PROMETHEUS_URL ? prometheusQueueReader(config.PROMETHEUS_URL, 2_000) : async () => undefined;

/** Objects from a YAML/JSON file: a list, one object, or several documents. */
function readObjectFile<T>(path: string): T[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).flatMap((doc) => {
    const value = doc.toJS() as T | { items: T[] } | null;
    if (!value) return [];
    return typeof value === 'object' && 'items' in value ? value.items : [value];
  });
}

function localEdges(config: ControllerConfig, logger: Logger, leadership: Leadership): Edges {
  const target = new WorkerPoolTarget(config.WORKERS_ADMIN_URL, config.WORKERS_ADMIN_TOKEN!);
  const store = new MemoryScalerStore(readObjectFile<AlertScalerResource>(config.ALERTSCALERS_FILE!));
  const events = new MemoryEventRecorder(logger);
  const namespace = config.NAMESPACE ?? 'local';
  // The drill's sale: its phases, floor and publication as in the cluster, its status in memory.
  const saleStore = config.ONSALES_FILE
    ? new MemoryOnSaleStore(readObjectFile<OnSaleResource>(config.ONSALES_FILE), namespace)
    : undefined;
  const sales =
    saleStore &&
    new OnSaleReconciler({
      store: saleStore,
      namespace,
      readQueue: queueReader(config),
      publish: httpSalePublisher(config.WORKERS_ADMIN_URL, config.WORKERS_ADMIN_TOKEN!, 2_000),
      clock: () => new Date(),
      logger,
    });
  return {
    store,
    sales,
    targetFor: () => target,
    events,
    start: async () => leadership.onStartedLeading(),
    stop: async () => leadership.onStoppedLeading(),
    // No API server to read them from: the AlertScalers (with status) and their Events, as kubectl would show them.
    reads: {
      '/alertscalers': () => ({
        items: store.list().map((scaler) => ({
          metadata: { name: scaler.name, namespace: scaler.namespace, generation: scaler.generation },
          spec: scaler.spec.valid ? scaler.spec.value : { invalid: scaler.spec.problem },
          status: scaler.status,
        })),
        events: events.list(),
      }),
      '/onsales': () => ({ items: saleStore?.list() ?? [] }),
    },
  };
}

interface Leadership {
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

/**
 * Builds and starts the controller: any replica serves the webhook (and records alerts in the
 * AlertScalers' status); only the leader runs the reconcile loop and the Alertmanager resync.
 */
export async function startController(
  config: ControllerConfig,
  logger: Logger,
  clock: () => Date = () => new Date(),
): Promise<RunningController> {
  const metrics = new ControllerMetrics();
  // Leadership starts and stops these two; they are built once the store they read exists.
  const leaderOnly: { loop?: ReconcileLoop; resync?: AlertmanagerResync; sales?: OnSaleLoop } = {};
  const leadership: Leadership = {
    onStartedLeading: () => {
      leaderOnly.loop?.start();
      leaderOnly.resync?.start();
      leaderOnly.sales?.start();
    },
    onStoppedLeading: () => {
      void leaderOnly.loop?.stop();
      void leaderOnly.resync?.stop();
      void leaderOnly.sales?.stop();
    },
  };
  const edges =
    config.MODE === 'local'
      ? localEdges(config, logger, leadership)
      : kubernetesEdges(config, logger, leadership);
  const { store, sales } = edges;
  const reconciler = new Reconciler({
    store,
    targetFor: edges.targetFor,
    events: edges.events,
    metrics,
    clock,
    logger,
    saleFloors: sales && ((namespace, name) => sales.floorsFor(namespace, name)),
  });
  const loop = new ReconcileLoop(
    (namespace, name) => reconciler.reconcile(namespace, name),
    () => store.list(),
    config.RESYNC_INTERVAL_SECONDS * 1000,
    metrics,
    logger,
  );
  const resync = config.ALERTMANAGER_URL
    ? new AlertmanagerResync(
        config.ALERTMANAGER_URL,
        config.ALERTMANAGER_RESYNC_INTERVAL_SECONDS * 1000,
        store,
        clock,
        logger,
      )
    : undefined;
  const salesLoop =
    sales &&
    new OnSaleLoop(
      sales,
      config.RESYNC_INTERVAL_SECONDS * 1000,
      () => store.list().forEach((scaler) => loop.enqueue(scaler)),
      logger,
    );
  Object.assign(leaderOnly, { loop, resync, sales: salesLoop });
  store.onChange((scaler) => loop.enqueue(scaler));

  const webhook = webhookHandler({
    store,
    token: config.WEBHOOK_TOKEN,
    bodyLimitBytes: config.WEBHOOK_BODY_LIMIT_BYTES,
    metrics,
    logger,
    clock,
    onTruncated: () => resync?.requestSoon(),
  });
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = `${req.method} ${path}`;
    const handle = async () => {
      if (route === 'POST /alerts') return webhook(req, res);
      if (route === 'GET /metrics') {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        return void res.end(await metrics.registry.metrics());
      }
      if (route === 'GET /livez') return sendJson(res, 200, { status: 'ok' });
      const read = req.method === 'GET' ? edges.reads?.[path ?? ''] : undefined;
      if (read) return sendJson(res, 200, read());
      if (route === 'GET /readyz') {
        const ready = store.ready();
        return sendJson(res, ready ? 200 : 503, {
          status: ready ? 'ready' : 'loading',
          leader: edges.leader?.isLeader() ?? true,
        });
      }
      return sendProblem(res, 404, 'Not Found', `no route for ${route}`);
    };
    handle().catch((error: unknown) => {
      logger.error({ err: error, route }, 'request failed');
      if (!res.headersSent) sendProblem(res, 500, 'Internal Server Error', 'the error was logged');
    });
  });

  await edges.start();
  await new Promise<void>((resolve) => server.listen(config.PORT, config.HOST, resolve));
  const { port } = server.address() as AddressInfo;
  logger.info({ port, mode: config.MODE }, 'alertscaler controller listening');

  let closing: Promise<void> | undefined;
  return {
    url: `http://${config.HOST}:${port}`,
    store,
    metrics,
    leader: edges.leader,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await edges.stop();
        await loop.stop();
        await resync?.stop();
        await salesLoop?.stop();
      })()),
  };
}
