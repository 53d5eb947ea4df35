import { METRICS } from '@concert-booking/lib';
import { type Rule, type RuleGroup, type RuleParams, type Severity } from './parameters.js';
import { alert, errorRate, httpSelector, leMatcher, uniqueWindows } from './promql.js';

/** SLI ratios over every burn-rate window and the page/ticket burn-rate alerts for both SLOs. */
export function sloGroup(p: RuleParams): RuleGroup {
  const all = httpSelector(p);
  const errors = httpSelector(p, ['status=~"5.."']);
  const fast = httpSelector(p, [leMatcher(p.latencyObjectiveThresholdSeconds)]);
  const rules: Rule[] = [];
  for (const w of uniqueWindows(p)) {
    rules.push({
      record: `namespace:http_request_errors:ratio_rate${w}`,
      expr:
        `sum by (namespace) (${errorRate(errors, all, w)})\n` +
        `/\n` +
        `sum by (namespace) (rate(${METRICS.httpRequestDuration}_count${all}[${w}]))`,
    });
    rules.push({
      record: `namespace:http_requests_slow:ratio_rate${w}`,
      expr:
        `1 - (\n` +
        `  sum by (namespace) (rate(${METRICS.httpRequestDuration}_bucket${fast}[${w}]))\n` +
        `  /\n` +
        `  sum by (namespace) (rate(${METRICS.httpRequestDuration}_count${all}[${w}]))\n` +
        `)`,
    });
  }
  const burnExpr = (record: string, objective: number, severity: Severity): string =>
    p.burnRates[severity].windows
      .map((w) => {
        const threshold = `${w.factor} * ${(1 - objective).toFixed(6).replace(/0+$/, '')}`;
        return (
          `(\n  ${record}${w.long} > (${threshold})\n` + `  and\n  ${record}${w.short} > (${threshold})\n)`
        );
      })
      .join('\nor\n');
  const pct = (x: number): string => `${Number((x * 100).toFixed(4))}%`;
  for (const severity of ['page', 'ticket'] as const) {
    const windows = p.burnRates[severity].windows
      .map((w) => `${w.factor}x over ${w.long}/${w.short}`)
      .join(' or ');
    rules.push(
      alert(p, 'BookingAvailabilityBudgetBurn', {
        expr: burnExpr('namespace:http_request_errors:ratio_rate', p.availabilityObjective, severity),
        for: p.burnRates[severity].for,
        severity,
        labels: { slo: 'availability' },
        summary: `Booking service is burning its availability error budget (${severity})`,
        description:
          `{{ $value | humanizePercentage }} of requests to ${p.serviceJob} in namespace {{ $labels.namespace }} ` +
          `answer 5xx; the SLO allows ${pct(1 - p.availabilityObjective)} ` +
          `(objective ${pct(p.availabilityObjective)}, burn rate ${windows}).`,
      }),
      alert(p, 'BookingLatencyBudgetBurn', {
        expr: burnExpr('namespace:http_requests_slow:ratio_rate', p.latencyObjective, severity),
        for: p.burnRates[severity].for,
        severity,
        labels: { slo: 'latency' },
        summary: `Booking service is burning its latency error budget (${severity})`,
        description:
          `{{ $value | humanizePercentage }} of requests to ${p.serviceJob} in namespace {{ $labels.namespace }} ` +
          `take longer than ${p.latencyObjectiveThresholdSeconds}s; the SLO allows ${pct(1 - p.latencyObjective)} ` +
          `(objective ${pct(p.latencyObjective)}, burn rate ${windows}).`,
      }),
    );
  }
  return { name: 'booking-service.slo', interval: p.evaluationInterval, rules };
}
