import type { CustomObjectsApi, KubernetesListObject } from '@kubernetes/client-node';
import { labelEquals, METRICS, queryScalar, type Logger } from '@concert-booking/lib';
import { API_VERSION, GROUP, VERSION } from '../api/alertscaler.js';
import {
  ONSALE_KIND,
  ONSALE_PLURAL,
  parseOnSale,
  type OnSale,
  type OnSaleResource,
  type OnSaleSpec,
  type OnSaleStatus,
} from '../api/onsale.js';
import { httpCode } from '../kube-errors.js';
import { FIELD_MANAGER } from '../targets/kube-scale.js';
import { holdsReplicas, onSalePhase, publishesSale } from './schedule.js';
import { isDeepStrictEqual } from 'node:util';

const MAX_CONFLICT_RETRIES = 5;

/** The waiting room as the sale sees it; undefined when it could not be read. */
export interface QueueReading {
  waiting: number;
  admittedSinceOpen: number;
  admissionRate: number;
}

export type QueueReader = (
  namespace: string,
  spec: OnSaleSpec,
  now: Date,
) => Promise<QueueReading | undefined>;

/** Reads the waiting room's metrics (service/src/queue/waiting-room.ts) from Prometheus. */
export function prometheusQueueReader(url: string, timeoutMs: number): QueueReader {
  return async (namespace, spec, now) => {
    const ns = `{${labelEquals('namespace', namespace)}}`;
    const sinceOpen = Math.floor((now.getTime() - Date.parse(spec.opensAt)) / 1000);
    try {
      const [waiting, admitted, rate] = await Promise.all([
        queryScalar(url, `sum(${METRICS.queueWaiting}${ns})`, timeoutMs),
        // increase() over the sale so far: counter resets (a replica restarted) are accounted for.
        sinceOpen > 0
          ? queryScalar(url, `sum(increase(${METRICS.queueAdmitted}${ns}[${sinceOpen}s]))`, timeoutMs)
          : 0,
        queryScalar(url, `max(${METRICS.queueAdmissionRate}${ns})`, timeoutMs),
      ]);
      if (waiting === null) return undefined;
      return { waiting, admittedSinceOpen: Math.round(admitted ?? 0), admissionRate: rate ?? 0 };
    } catch {
      return undefined;
    }
  };
}

/** The status a sale has after a pass, from what it had, the clock and the queue. Pure. */
export function onSaleStatusAfter(sale: OnSale, now: Date, queue: QueueReading | undefined): OnSaleStatus {
  const previous = sale.status;
  if (!sale.spec.valid) {
    return { observedGeneration: sale.generation, problem: sale.spec.problem, holdingReplicas: false };
  }
  const spec = sale.spec.value;
  const phase = onSalePhase(spec, previous.phase, now, queue?.waiting);
  return {
    observedGeneration: sale.generation,
    phase,
    lastTransitionTime: phase === previous.phase ? previous.lastTransitionTime : now.toISOString(),
    holdingReplicas: holdsReplicas(spec, phase, now),
    // An unreadable queue keeps the last known numbers rather than reporting zero.
    admitted: queue ? queue.admittedSinceOpen : previous.admitted,
    admissionRate: queue ? queue.admissionRate : previous.admissionRate,
    waiting: queue ? queue.waiting : previous.waiting,
  };
}

/** Tells the waiting room of a sale (its pre-queue, opening and seat maps). */
export type SalePublisher = (spec: OnSaleSpec) => Promise<void>;

/** PUT /queue/sale on the booking service's admin port (service/src/queue/sale.ts reads the body). */
export function httpSalePublisher(adminUrl: string, token: string, timeoutMs: number): SalePublisher {
  return async ({ opensAt, preQueueSeconds, timeslotIds }) => {
    const response = await fetch(new URL('/queue/sale', adminUrl), {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ opensAt, preQueueSeconds, timeslotIds }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!response.ok) throw new Error(`PUT /queue/sale: HTTP ${response.status} ${await response.text()}`);
  };
}

type Resource = OnSaleResource & { metadata: { name: string; namespace: string; resourceVersion?: string } };

/** Where a namespace's OnSales live: the API server, or a file in the local drill (no API server there). */
export interface OnSaleStore {
  names(): Promise<string[]>;
  /** Undefined when it is gone. */
  get(name: string): Promise<Resource | undefined>;
  /** Writes the status at the version read: `conflict` when it changed since, `gone` when deleted. */
  writeStatus(resource: Resource, status: OnSaleStatus): Promise<'written' | 'conflict' | 'gone'>;
}

export function kubeOnSaleStore(api: CustomObjectsApi, namespace: string): OnSaleStore {
  const path = { group: GROUP, version: VERSION, namespace, plural: ONSALE_PLURAL };
  return {
    async names() {
      const list = (await api.listNamespacedCustomObject(path)) as KubernetesListObject<Resource>;
      return list.items.map((item) => item.metadata.name);
    },
    async get(name) {
      try {
        return (await api.getNamespacedCustomObject({ ...path, name })) as Resource;
      } catch (error) {
        if (httpCode(error) === 404) return undefined;
        throw error;
      }
    },
    async writeStatus(resource, status) {
      try {
        await api.replaceNamespacedCustomObjectStatus({
          ...path,
          name: resource.metadata.name,
          body: { ...resource, apiVersion: API_VERSION, kind: ONSALE_KIND, status },
          fieldManager: FIELD_MANAGER,
        });
        return 'written';
      } catch (error) {
        const code = httpCode(error);
        if (code === 404) return 'gone';
        if (code === 409) return 'conflict';
        throw error;
      }
    },
  };
}

/** The local drill's OnSales, read from a file once; their status lives in memory, as kubectl would show it. */
export class MemoryOnSaleStore implements OnSaleStore {
  private readonly resources = new Map<string, Resource>();

  constructor(resources: readonly OnSaleResource[], namespace: string) {
    for (const resource of resources) {
      const name = resource.metadata.name ?? '';
      this.resources.set(name, { ...resource, metadata: { namespace, ...resource.metadata, name } });
    }
  }

  async names(): Promise<string[]> {
    return [...this.resources.keys()];
  }

  async get(name: string): Promise<Resource | undefined> {
    return this.resources.get(name);
  }

  async writeStatus(resource: Resource, status: OnSaleStatus): Promise<'written'> {
    this.resources.set(resource.metadata.name, { ...resource, status });
    return 'written';
  }

  list(): Resource[] {
    return [...this.resources.values()];
  }
}

export interface OnSaleReconcilerDeps {
  store: OnSaleStore;
  namespace: string;
  readQueue: QueueReader;
  /** Unset: sales are not published to the waiting room. */
  publish?: SalePublisher;
  clock: () => Date;
  logger: Logger;
}

/**
 * One pass over a namespace's OnSales: each one's phase and numbers into its status. The sales that hold
 * replicas come out of the pass for the AlertScaler reconciler (`floorsFor`).
 */
export class OnSaleReconciler {
  private holding: OnSale[] = [];

  constructor(private readonly deps: OnSaleReconcilerDeps) {}

  /** The minReplicas of every sale holding AlertScaler `name` at the last pass. */
  floorsFor(namespace: string, name: string): number[] {
    return this.holding
      .filter((sale) => sale.namespace === namespace && sale.status.holdingReplicas)
      .flatMap((sale) =>
        sale.spec.valid && sale.spec.value.scaling.alertScalerName === name
          ? [sale.spec.value.scaling.minReplicas]
          : [],
      );
  }

  async reconcileAll(): Promise<OnSale[]> {
    const sales: OnSale[] = [];
    for (const name of await this.deps.store.names()) {
      const sale = await this.reconcile(name);
      if (sale) sales.push(sale);
    }
    this.holding = sales;
    return sales;
  }

  /** Writes one sale's status at the version read (retried on conflict); undefined when it is gone. */
  private async reconcile(name: string): Promise<OnSale | undefined> {
    const { store, namespace, clock, readQueue, logger } = this.deps;
    for (let attempt = 1; ; attempt++) {
      const resource = await store.get(name);
      if (!resource) return undefined;
      const sale = parseOnSale(resource);
      const now = clock();
      const queue = sale.spec.valid ? await readQueue(namespace, sale.spec.value, now) : undefined;
      const status = onSaleStatusAfter(sale, now, queue);
      if (sale.spec.valid && publishesSale(status.phase)) await this.publish(name, sale.spec.value);
      if (isDeepStrictEqual(status, sale.status)) return sale;
      const written = await store.writeStatus(resource, status);
      if (written === 'gone') return undefined;
      if (written === 'written') {
        if (status.phase !== sale.status.phase)
          logger.info({ sale: name, phase: status.phase }, 'OnSale phase');
        return { ...sale, status };
      }
      if (attempt >= MAX_CONFLICT_RETRIES)
        throw new Error(`OnSale ${name}: still conflicting after ${attempt} writes`);
    }
  }

  /** A failure is logged and retried next pass: the sale's phases and floor do not wait for it. */
  private async publish(name: string, spec: OnSaleSpec): Promise<void> {
    await this.deps.publish?.(spec).catch((error: Error) => {
      this.deps.logger.warn(
        { sale: name, err: error.message },
        'could not publish the sale to the waiting room',
      );
    });
  }
}

/** The leader's periodic OnSale pass; `afterPass` re-reconciles the AlertScalers under the new floors. */
export class OnSaleLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly sales: OnSaleReconciler,
    private readonly intervalMs: number,
    private readonly afterPass: () => void,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.timer) return;
    const pass = () => {
      this.running ??= this.sales
        .reconcileAll()
        .then(() => this.afterPass())
        .catch((error: unknown) => this.logger.warn({ err: error }, 'OnSale pass failed; next pass retries'))
        .finally(() => (this.running = undefined));
    };
    pass();
    this.timer = setInterval(pass, this.intervalMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
