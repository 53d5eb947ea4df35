import { METRICS } from '@concert-booking/lib';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** Every metric the controller exposes, declared here (the names the rules and the dashboard read come from lib). */
export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly scalerLabels = ['alertscaler', 'namespace'] as const;
  readonly desiredReplicas = this.gauge(METRICS.scalerDesiredReplicas, 'Replicas the policy wants');
  readonly currentReplicas = this.gauge(
    METRICS.scalerCurrentReplicas,
    'Replicas of the target, as last read',
  );
  readonly maxReplicas = this.gauge(METRICS.scalerMaxReplicas, 'spec.maxReplicas');
  readonly minReplicas = this.gauge(METRICS.scalerMinReplicas, 'spec.minReplicas');
  readonly scaleOperations = new Counter({
    name: METRICS.scaleOperations,
    help: 'Scale decisions by direction (up, down) and result (success, conflict, error, dry_run, refused, saturated)',
    labelNames: ['direction', 'result'] as const,
    registers: [this.registry],
  });
  readonly webhookRequests = new Counter({
    name: 'alertscaler_webhook_requests_total',
    help: 'Webhook requests by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'alertscaler_reconcile_errors_total',
    help: 'Reconciles that failed and were retried',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  private gauge(name: string, help: string) {
    return new Gauge({ name, help, labelNames: this.scalerLabels, registers: [this.registry] });
  }

  /** Drops the gauges of an AlertScaler that no longer exists. */
  forget(labels: { alertscaler: string; namespace: string }): void {
    for (const gauge of [this.desiredReplicas, this.currentReplicas, this.maxReplicas, this.minReplicas]) {
      gauge.remove(labels);
    }
  }
}
