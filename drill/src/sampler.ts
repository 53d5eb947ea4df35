/**
 * Samples a running stack once a second: p90 and rate from Prometheus' recording rules, the p90 rule's state,
 * the alerts active in Alertmanager, the worker pool, the database pool and cache from the service's metrics,
 * and the AlertScaler's status and Events from the controller. Scale writes are read from the status
 * (`lastScaleTime`), never from log lines.
 */
import { ALERTS, METRICS } from '@concert-booking/lib';
import type { RuleState, Sample, ScaleEvent, ScalerEvent } from './record.js';
import type { DrillTarget } from './stack.js';

export const metricValue = (text: string, name: string): number | null => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
};

export interface SamplerState {
  phase: string;
  vus: number;
}

export class Sampler {
  readonly samples: Sample[] = [];
  readonly scaleEvents: ScaleEvent[] = [];
  readonly events: ScalerEvent[] = [];
  private lastScaleTime: string | undefined;
  private seenEvents = 0;
  private running = true;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly stack: DrillTarget,
    private readonly startedAt: number,
    private readonly state: SamplerState,
    private readonly onSample: (sample: Sample, news: string[]) => void,
  ) {}

  start(): void {
    this.loop = (async () => {
      while (this.running) {
        const began = Date.now();
        await this.sampleOnce().catch(() => undefined); // a missed second is a gap in the chart, not a failure
        await new Promise((done) => setTimeout(done, Math.max(0, 1000 - (Date.now() - began))));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  latest(): Sample | undefined {
    return this.samples.at(-1);
  }

  private seconds(time: string | number): number {
    return Math.round((new Date(time).getTime() - this.startedAt) / 100) / 10;
  }

  private async sampleOnce(): Promise<void> {
    const { stack } = this;
    const t = this.seconds(Date.now());
    const [p90, rate, rules, active, workers, metrics, scaler] = await Promise.all([
      stack.promQuery(
        `max(namespace_quantile:${METRICS.httpRequestDuration}:histogram_quantile{quantile="0.9"})`,
      ),
      stack.promQuery('sum(namespace:http_requests:rate10s)'),
      stack.promQuery(`ALERTS{alertname="${ALERTS.highP90Latency}"}`),
      stack.activeAlerts(),
      stack.workers(),
      stack.serviceMetrics(),
      stack.scaler(),
    ]);
    const number = (result: { value: [number, string] }[]) => {
      const value = Number(result[0]?.value[1]);
      return Number.isFinite(value) ? value : null;
    };
    const ruleStates = rules.map((r) => r.metric.alertstate);
    const p90Rule: RuleState = ruleStates.includes('firing')
      ? 'firing'
      : ruleStates.includes('pending')
        ? 'pending'
        : 'inactive';
    const { status } = scaler.scaler;
    const cache = metricValue(metrics, METRICS.seatMapCacheEnabled);
    const sample: Sample = {
      t,
      phase: this.state.phase,
      vus: this.state.vus,
      p90: number(p90),
      rate: number(rate),
      p90Rule,
      alertActive: active.includes(ALERTS.highP90Latency),
      saturationActive: active.includes(ALERTS.dbPoolWaiting),
      poolWaiting: metricValue(metrics, METRICS.dbPoolWaiting),
      cacheEnabled: cache === null ? null : cache === 1,
      desiredWorkers: workers.desired,
      runningWorkers: workers.running,
      scalerReason: status.conditions.find((c) => c.type === 'AbleToScale')?.reason ?? null,
    };
    const news: string[] = [];
    if (status.lastScaleTime && status.lastScaleTime !== this.lastScaleTime && status.lastScaleDirection) {
      const writtenAt = this.seconds(status.lastScaleTime);
      // The replicas sampled before the write: the target may show the new count before the status does.
      const previous =
        this.samples.filter((s) => s.t < writtenAt).at(-1)?.desiredWorkers ?? status.currentReplicas ?? 0;
      const event: ScaleEvent = {
        t: writtenAt,
        from: previous,
        to: status.desiredReplicas ?? workers.desired,
        direction: status.lastScaleDirection,
      };
      // The first status read may show a scale from before this scenario: only later changes are events.
      if (this.lastScaleTime !== undefined || event.t >= 0) {
        this.scaleEvents.push(event);
        news.push(`SCALE ${event.direction.toUpperCase()} ${event.from} -> ${event.to}`);
      }
    }
    this.lastScaleTime = status.lastScaleTime;
    for (const e of scaler.events.slice(this.seenEvents)) {
      this.events.push({ t: this.seconds(e.time), type: e.type, reason: e.reason, message: e.message });
      news.push(`event ${e.type} ${e.reason}: ${e.message}`);
    }
    this.seenEvents = scaler.events.length;
    this.samples.push(sample);
    this.onSample(sample, news);
  }
}
