import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** The controller's metrics (names agreed with monitoring/src/rules.ts and the dashboard). */
export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly scalerLabels = ['alertscaler', 'namespace'] as const;
  readonly desiredReplicas = this.gauge('alertscaler_desired_replicas', 'Replicas the policy wants');
  readonly currentReplicas = this.gauge(
    'alertscaler_current_replicas',
    'Replicas of the target, as last read',
  );
  readonly maxReplicas = this.gauge('alertscaler_max_replicas', 'spec.maxReplicas');
  readonly minReplicas = this.gauge('alertscaler_min_replicas', 'spec.minReplicas');
  readonly scaleOperations = new Counter({
    name: 'alertscaler_scale_operations_total',
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
