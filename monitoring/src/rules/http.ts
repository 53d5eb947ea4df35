import { METRICS, RECORDINGS } from '@concert-booking/lib';
import { type RecordingRule, type Rule, type RuleGroup, type RuleParams } from './parameters.js';
import { alert, errorRate, httpSelector } from './promql.js';

/** Request rate, error ratio and p50/p90/p99 per route and per namespace, plus the p90 alert. */
export function httpGroup(p: RuleParams): RuleGroup {
  const w = p.rateWindow;
  const all = httpSelector(p);
  const errors = httpSelector(p, ['status=~"5.."']);
  const quantiles = ['0.5', '0.9', '0.99'];
  const rules: Rule[] = [
    {
      record: `namespace_route:http_requests:rate${w}`,
      expr: `sum by (namespace, route) (rate(${METRICS.httpRequestDuration}_count${all}[${w}]))`,
    },
    {
      record: `namespace_route:http_request_errors:ratio_rate${w}`,
      expr:
        `sum by (namespace, route) (${errorRate(errors, all, w)})\n` +
        `/\n` +
        `sum by (namespace, route) (rate(${METRICS.httpRequestDuration}_count${all}[${w}]))`,
    },
    // Quantiles are computed from bucket rates summed by `le` (never by averaging per-pod quantiles).
    {
      record: `namespace_route_le:${METRICS.httpRequestDuration}_bucket:rate${w}`,
      expr: `sum by (namespace, route, le) (rate(${METRICS.httpRequestDuration}_bucket${all}[${w}]))`,
    },
    ...quantiles.map((q): RecordingRule => ({
      record: `namespace_route_quantile:${METRICS.httpRequestDuration}:histogram_quantile`,
      expr: `histogram_quantile(${q}, namespace_route_le:${METRICS.httpRequestDuration}_bucket:rate${w})`,
      labels: { quantile: q },
    })),
    {
      record: `namespace:http_requests:rate${w}`,
      expr: `sum by (namespace) (namespace_route:http_requests:rate${w})`,
    },
    {
      record: `namespace_le:${METRICS.httpRequestDuration}_bucket:rate${w}`,
      expr: `sum by (namespace, le) (namespace_route_le:${METRICS.httpRequestDuration}_bucket:rate${w})`,
    },
    ...quantiles.map((q): RecordingRule => ({
      record: RECORDINGS.latencyQuantile,
      expr: `histogram_quantile(${q}, namespace_le:${METRICS.httpRequestDuration}_bucket:rate${w})`,
      labels: { quantile: q },
    })),
    // In the same group as the recordings it reads, so it sees this evaluation's values.
    alert(p, 'BookingHighP90Latency', {
      expr:
        `${RECORDINGS.latencyQuantile}{quantile="0.9"} > ${p.p90ThresholdSeconds}\n` +
        `and on (namespace)\n` +
        `namespace:http_requests:rate${w} >= ${p.minRequestRate}`,
      for: p.forDuration,
      severity: 'page',
      labels: { autoscale: p.autoscaleTarget },
      summary: `Booking service p90 latency is above ${p.p90ThresholdSeconds}s`,
      description:
        `p90 latency of ${p.serviceJob} in namespace {{ $labels.namespace }} has been {{ $value | humanizeDuration }} ` +
        `over the last ${w} (threshold ${p.p90ThresholdSeconds}s, for ${p.forDuration}, with at least ${p.minRequestRate} req/s). ` +
        `The AlertScaler adds replicas while this fires.`,
    }),
  ];
  return { name: 'booking-service.http', interval: p.evaluationInterval, rules };
}
