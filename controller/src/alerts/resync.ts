import type { Logger } from '@concert-booking/lib';
import type { ScalerStore } from '../reconcile/store.js';
import { alertRole } from '../api/alert-role.js';
import { applyResync } from './episodes.js';
import { apiAlertsSchema, type ApiAlert } from './payload.js';

/** Active, neither silenced nor inhibited: exactly what Alertmanager would notify the webhook about. */
const QUERY = 'active=true&silenced=false&inhibited=false&unprocessed=false';

export async function fetchActiveAlerts(alertmanagerUrl: string): Promise<ApiAlert[]> {
  const response = await fetch(`${alertmanagerUrl}/api/v2/alerts?${QUERY}`, {
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`GET ${alertmanagerUrl}/api/v2/alerts: HTTP ${response.status}`);
  return apiAlertsSchema.parse(await response.json()).filter((a) => a.status.state === 'active');
}

/** Replaces every AlertScaler's firing set with what Alertmanager lists as active now. */
export async function resyncFromAlertmanager(
  store: ScalerStore,
  alerts: readonly ApiAlert[],
  fetchedAt: Date,
  now: Date,
): Promise<void> {
  for (const scaler of store.list()) {
    if (!scaler.spec.valid) continue;
    const spec = scaler.spec.value;
    const active = alerts.flatMap((a) => {
      const role = alertRole(spec, a.labels);
      return role
        ? [{ fingerprint: a.fingerprint, startsAt: a.startsAt, alertName: a.labels.alertname ?? '', role }]
        : [];
    });
    await store.updateStatus(scaler.namespace, scaler.name, (fresh) => ({
      ...fresh.status,
      ...applyResync(fresh.status, active, fetchedAt, now),
    }));
  }
}

/**
 * The periodic rebuild of the firing sets from Alertmanager's API (on start, every interval, and soon
 * after a truncated webhook), so a lost or missed notification cannot leave an AlertScaler stuck.
 */
export class AlertmanagerResync {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private active = false;

  constructor(
    private readonly url: string,
    private readonly intervalMs: number,
    private readonly store: ScalerStore,
    private readonly clock: () => Date,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.active) return;
    this.active = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.active = false;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Resync now (debounced: a run in progress is not doubled). */
  requestSoon(): void {
    if (this.active && !this.running) this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.runOnce().finally(() => {
        this.running = undefined;
        if (this.active) this.schedule(this.intervalMs);
      });
    }, ms);
    this.timer.unref();
  }

  private async runOnce(): Promise<void> {
    const fetchedAt = this.clock();
    try {
      const alerts = await fetchActiveAlerts(this.url);
      await resyncFromAlertmanager(this.store, alerts, fetchedAt, this.clock());
      this.logger.debug({ active: alerts.length }, 'resynced firing alerts from Alertmanager');
    } catch (error) {
      this.logger.warn({ err: error }, 'Alertmanager resync failed; keeping the known firing set');
    }
  }
}
