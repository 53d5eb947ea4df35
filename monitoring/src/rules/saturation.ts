import { METRICS } from '@concert-booking/lib';
import { type RuleGroup, type RuleParams } from './parameters.js';
import { alert, selector } from './promql.js';

/** The service's dependencies and saturation: up, Postgres, Redis, the DB pool, the seat-map cache. */
export function saturationGroup(p: RuleParams): RuleGroup {
  const svc = (extra: string[] = []): string => selector(p, p.serviceJob, extra);
  const cache = (extra: string[]): string => `${METRICS.seatMapCacheRequests}${svc(extra)}`;
  const w = p.rateWindow;
  const dependencyDown = (dependency: 'postgres' | 'redis'): string =>
    // max: every replica reports the dependency down. One replica alone failing its check is taken
    // out of the Service by its readiness probe and is not a dependency outage.
    `max by (namespace) (${METRICS.dependencyUp}${svc([`dependency="${dependency}"`])}) == 0`;
  return {
    name: 'booking-service.saturation',
    interval: p.evaluationInterval,
    rules: [
      alert(p, 'BookingServiceDown', {
        // `up == 0` for every target of the job: no replica answers its scrape.
        expr: `max by (namespace) (up${svc()}) == 0`,
        for: p.serviceDownFor,
        severity: 'page',
        summary: 'No booking service replica answers its metrics scrape',
        description: `Every ${p.serviceJob} target in namespace {{ $labels.namespace }} has failed its scrape for ${p.serviceDownFor}.`,
      }),
      alert(p, 'BookingPostgresDown', {
        expr: dependencyDown('postgres'),
        for: p.dependencyDownFor,
        severity: 'page',
        summary: 'Booking service replicas cannot reach Postgres',
        description:
          `Every ${p.serviceJob} replica in namespace {{ $labels.namespace }} reports Postgres not ready for ${p.dependencyDownFor}. ` +
          `Latency alerts and the scaling webhook are inhibited meanwhile: more replicas do not help a dead database.`,
      }),
      alert(p, 'BookingRedisDown', {
        expr: dependencyDown('redis'),
        for: p.dependencyDownFor,
        severity: 'ticket',
        summary: 'Booking service replicas cannot reach Redis',
        description:
          `Every ${p.serviceJob} replica in namespace {{ $labels.namespace }} reports Redis not ready for ${p.dependencyDownFor}. ` +
          `Seat maps are served from memory or Postgres (${METRICS.seatMapDegraded} rises).`,
      }),
      alert(p, 'BookingDbPoolWaiting', {
        expr: `max by (namespace, pod) (${METRICS.dbPoolWaiting}${svc()}) > ${p.poolWaitingThreshold}`,
        for: p.poolWaitingFor,
        severity: 'ticket',
        // Routed to the AlertScaler too: its saturation guard holds scale-ups while the database is the bottleneck.
        labels: { autoscale: p.autoscaleTarget },
        summary: 'Booking service requests are queueing for a database connection',
        description:
          `{{ $value }} clients of pod {{ $labels.pod }} in namespace {{ $labels.namespace }} have been waiting for a ` +
          `Postgres connection for ${p.poolWaitingFor}: the pool is exhausted and requests will time out. ` +
          `The AlertScaler adds no replicas meanwhile: more replicas would add load to the database.`,
      }),
      alert(p, 'BookingSeatmapCacheHitRatioLow', {
        expr:
          `sum by (namespace, layer) (rate(${cache(['result="hit"'])}[${w}]))\n` +
          `/\n` +
          `sum by (namespace, layer) (rate(${cache([])}[${w}]))\n` +
          `< ${p.cacheHitRatioMin}\n` +
          `and on (namespace, layer)\n` +
          `sum by (namespace, layer) (rate(${cache([])}[${w}])) >= ${p.cacheMinLookupRate}`,
        for: p.cacheFor,
        severity: 'ticket',
        summary: 'Seat-map cache hit ratio has collapsed',
        description:
          `The {{ $labels.layer }} seat-map cache in namespace {{ $labels.namespace }} hits only ` +
          `{{ $value | humanizePercentage }} of lookups (minimum ${p.cacheHitRatioMin * 100}%): ` +
          `the seat-map hot path is going to Postgres.`,
      }),
    ],
  };
}
