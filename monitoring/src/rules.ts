// Prometheus recording and alerting rules for the booking service and its AlertScaler, as code
// (in the manner of the kube-prometheus mixins). `render.ts` writes the defaults to
// monitoring/generated/booking.rules.yml, which the cdk8s app mounts and promtool tests; the local
// incident drill calls `bookingRules()` with short durations and writes its own copy.
//
import { admissionGroup } from './rules/admission.js';
import { controllerGroup } from './rules/controller.js';
import { httpGroup } from './rules/http.js';
import { invariantsGroup } from './rules/invariants.js';
import {
  mergeParams,
  type AlertingRule,
  type Rule,
  type RuleFile,
  type RuleParams,
} from './rules/parameters.js';
import { saturationGroup } from './rules/saturation.js';
import { sloGroup } from './rules/slo.js';

export * from './rules/parameters.js';
export { runbookUrl, seconds } from './rules/promql.js';

// Metric contract (exposed by service/ and controller/):
//   http_request_duration_seconds{method,route,status}            histogram, job="booking-service"
//   booking_seatmap_cache_requests_total{layer,result}            counter (layer memory|redis, result hit|miss|error)
//   booking_seatmap_degraded_total                                counter (served from Postgres, Redis failed)
//   booking_db_pool_size / _in_use / _waiting                     gauges
//   booking_dependency_up{dependency="postgres"|"redis"}          gauge 1/0 (readiness checks)
//   alertscaler_{desired,current,max,min}_replicas{alertscaler,namespace}, job="alertscaler"
//   alertscaler_scale_operations_total{direction,result}
//   booking_workers{state="desired"|"running"|"listening"}        gauge, local mode's cluster primary only
//   booking_oversold_seats, booking_hold_expiry_lag_seconds       gauges read from Postgres (invariants)
//   booking_queue_jump_attempts_total                             counter; booking_queue_eta_error_seconds histogram

/** The rule file for the booking service and its AlertScaler. */
export function bookingRules(overrides: Partial<RuleParams> = {}): RuleFile {
  const p = mergeParams(overrides);
  return {
    groups: [
      httpGroup(p),
      sloGroup(p),
      saturationGroup(p),
      controllerGroup(p),
      admissionGroup(p),
      invariantsGroup(p),
    ],
  };
}

export function isAlertingRule(rule: Rule): rule is AlertingRule {
  return 'alert' in rule;
}

/** Every alerting rule of a rule file (the burn-rate alerts appear once per severity). */
export function alertingRules(file: RuleFile): AlertingRule[] {
  return file.groups.flatMap((g) => g.rules.filter(isAlertingRule));
}
