import { METRICS } from '@concert-booking/lib';
import { type RuleGroup, type RuleParams } from './parameters.js';
import { alert, leMatcher, selector } from './promql.js';

/**
 * The sale's business invariants: no seat sold twice, no hold kept past its expiry, nobody past the queue,
 * and waiting users told the truth. Each reads a metric the service keeps for it.
 */
export function invariantsGroup(p: RuleParams): RuleGroup {
  const svc = (extra: string[] = []): string => selector(p, p.serviceJob, extra);
  const w = p.rateWindow;
  const eta = (suffix: string, extra: string[] = []) =>
    `sum by (namespace) (rate(${METRICS.queueEtaError}_${suffix}${svc(extra)}[${w}]))`;
  return {
    name: 'booking-service.invariants',
    interval: p.evaluationInterval,
    rules: [
      alert(p, 'BookingOversold', {
        // max: every replica reads the same database; the value is not a per-replica count.
        expr: `max by (namespace) (${METRICS.oversoldSeats}${svc()}) > 0`,
        for: p.oversoldFor,
        severity: 'page',
        summary: 'More seats are held or sold than a timeslot has',
        description:
          `{{ $value }} live reservations in namespace {{ $labels.namespace }} exceed their timeslot's seats ` +
          `(sold + held > seats) for ${p.oversoldFor}. Stop the sale before more tickets are sold twice.`,
      }),
      alert(p, 'BookingHoldExpiryLeak', {
        expr: `max by (namespace) (${METRICS.holdExpiryLag}${svc()}) > ${p.holdLeakSeconds}`,
        for: p.holdLeakFor,
        severity: 'ticket',
        summary: 'Expired seat holds are not being released',
        description:
          `The oldest expired hold in namespace {{ $labels.namespace }} expired {{ $value | humanizeDuration }} ago ` +
          `(limit ${p.holdLeakSeconds}s, for ${p.holdLeakFor}): the sweeper is not releasing holds, so seats stay unsellable.`,
      }),
      alert(p, 'BookingQueueJumping', {
        expr: `sum by (namespace) (rate(${METRICS.queueJumpAttempts}${svc()}[${w}])) > ${p.queueJumpRatePerSecond}`,
        for: p.queueJumpFor,
        severity: 'ticket',
        summary: 'Clients try to hold or pay with tokens still waiting in the queue',
        description:
          `{{ $value | humanize }}/s holds and payments in namespace {{ $labels.namespace }} came with a waiting token ` +
          `over ${w} (limit ${p.queueJumpRatePerSecond}/s, for ${p.queueJumpFor}): a client is trying to get past the queue.`,
      }),
      alert(p, 'BookingQueueEtaInaccurate', {
        expr:
          `1 - ${eta('bucket', [leMatcher(p.etaLateSeconds)])}\n/\n${eta('count')}\n> ${p.etaLateRatioMax}\n` +
          `and on (namespace)\n${eta('count')} >= ${p.etaMinAdmissionRate}`,
        for: p.etaFor,
        severity: 'ticket',
        summary: 'The waiting room admits users later than it told them',
        description:
          `{{ $value | humanizePercentage }} of admissions in namespace {{ $labels.namespace }} came more than ` +
          `${p.etaLateSeconds}s after their estimate over ${w} (limit ${p.etaLateRatioMax * 100}%, for ${p.etaFor}).`,
      }),
    ],
  };
}
