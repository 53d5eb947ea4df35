import cluster, { type Worker } from 'node:cluster';
import {
  AggregatorRegistry,
  type MetricObjectWithValues,
  type MetricValue,
  type Registry,
} from 'prom-client';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

const REQUEST = 'booking:metrics-request';
const RESPONSE = 'booking:metrics-response';
const FINAL = 'booking:metrics-final';
const ANSWER_TIMEOUT_MS = 2_000;

/** Counters and histograms only grow: the part of a worker's metrics that must outlive it. */
const monotonic = (metrics: MetricsJson) =>
  // The type declarations say a numeric enum; at run time prom-client reports 'counter', 'histogram', ...
  metrics.filter((m) => ['counter', 'histogram'].includes(String(m.type)));

/**
 * In a worker: answer the primary's metric requests with whatever `current()` returns (nothing
 * while the service is still starting, so the primary never waits on it).
 */
export function answerMetricRequests(current: () => Registry | undefined): void {
  process.on('message', (message: { type?: string; id?: number }) => {
    if (message?.type !== REQUEST) return;
    const registry = current();
    void (registry ? registry.getMetricsAsJSON() : Promise.resolve([])).then(
      (metrics) => process.send?.({ type: RESPONSE, id: message.id, metrics }),
      () => process.send?.({ type: RESPONSE, id: message.id, metrics: [] }),
    );
  });
}

/** In a retiring worker, after its last request: hand the primary the counts it must keep. */
export async function sendFinalMetrics(registry: Registry): Promise<void> {
  const metrics = monotonic((await registry.getMetricsAsJSON()) as MetricsJson);
  await new Promise<void>((resolve) =>
    process.send ? process.send({ type: FINAL, metrics }, () => resolve()) : resolve(),
  );
}

/**
 * In the primary: the pool's metrics summed over its workers, as one target. Counters and
 * histograms of workers that have exited stay in the sums: dropping them would look like a
 * counter reset to Prometheus, and rate() would see a burst of traffic that never happened.
 *
 * A retiring worker hands over its final counts once (FINAL). From then on that worker's live
 * answers are ignored, also an answer already on its way, so no scrape counts it twice or not at
 * all. Final counts are kept as received (synchronously), one entry per retired worker.
 */
export class ClusterMetrics {
  private readonly retired = new Map<number, MetricsJson>();
  private nextId = 0;
  private readonly pending = new Map<number, (metrics: MetricsJson) => void>();

  constructor() {
    cluster.on(
      'message',
      (worker: Worker, message: { type?: string; id?: number; metrics?: MetricsJson }) => {
        if (message?.type === RESPONSE && message.id !== undefined) {
          this.pending.get(message.id)?.(message.metrics ?? []);
        }
        if (message?.type === FINAL && message.metrics) this.retired.set(worker.id, message.metrics);
      },
    );
  }

  async text(): Promise<string> {
    const workers = Object.values(cluster.workers ?? {}).filter(
      (w): w is Worker => !!w && w.isConnected() && !this.retired.has(w.id),
    );
    const answers = await Promise.all(
      workers.map(async (worker) => ({ worker, metrics: await this.ask(worker) })),
    );
    const live = answers.filter(({ worker }) => !this.retired.has(worker.id)).map(({ metrics }) => metrics);
    return AggregatorRegistry.aggregate([...live, ...this.retired.values()]).metrics();
  }

  private ask(worker: Worker): Promise<MetricsJson> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish([]), ANSWER_TIMEOUT_MS);
      const finish = (metrics: MetricsJson) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(metrics);
      };
      this.pending.set(id, finish);
      try {
        worker.send({ type: REQUEST, id });
      } catch {
        finish([]);
      }
    });
  }
}
