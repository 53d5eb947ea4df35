import { METRICS, RECORDINGS } from '@concert-booking/lib';
import { type RuleGroup, type RuleParams } from './parameters.js';
import { selector } from './promql.js';

/** The signals the waiting room's capacity-coupled admission reads (service/src/queue/admission-signals.ts). */
export function admissionGroup(p: RuleParams): RuleGroup {
  const svc = (extra: string[] = []): string => selector(p, p.serviceJob, extra);
  return {
    name: 'booking-service.admission',
    interval: p.evaluationInterval,
    rules: [
      {
        // Local mode: one target, the cluster primary, reports its listening workers. A cluster: one target per
        // replica, counted while it answers its scrape (it serves /metrics from the port it serves requests on).
        record: RECORDINGS.readyReplicas,
        expr:
          `sum by (namespace) (${METRICS.workers}${svc(['state="listening"'])})\n` +
          `or\n` +
          `count by (namespace) (up${svc()} == 1)`,
      },
    ],
  };
}
