import { METRICS } from '@concert-booking/lib';
import { type RuleGroup, type RuleParams } from './parameters.js';
import { alert, selector } from './promql.js';

/** The AlertScaler at its maximum: alert-driven scaling can do no more. */
export function controllerGroup(p: RuleParams): RuleGroup {
  const sel = selector(p, p.controllerJob);
  // In the cluster the controller's own `namespace` metric label collides with the target label that
  // relabeling adds and is kept as `exported_namespace`; grouping by both works there and locally.
  const by = 'max by (namespace, exported_namespace, alertscaler)';
  return {
    name: 'alertscaler',
    interval: p.evaluationInterval,
    rules: [
      alert(p, 'BookingAlertScalerAtMaxReplicas', {
        expr:
          `${by} (${METRICS.scalerCurrentReplicas}${sel})\n` +
          `>= ${by} (${METRICS.scalerMaxReplicas}${sel})\n` +
          `and\n` +
          `${by} (${METRICS.scalerDesiredReplicas}${sel})\n` +
          `>= ${by} (${METRICS.scalerMaxReplicas}${sel})`,
        for: p.scalerAtMaxFor,
        severity: 'ticket',
        summary: 'AlertScaler is pinned at its maximum replicas',
        description:
          `AlertScaler {{ $labels.alertscaler }} has run at its maximum of {{ $value }} replicas for ${p.scalerAtMaxFor} ` +
          `and still wants more: scaling out no longer helps, the bottleneck is elsewhere (database, cache, code).`,
      }),
    ],
  };
}
