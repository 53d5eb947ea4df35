import { ETA_ERROR_BUCKETS, LATENCY_BUCKETS, METRICS } from '@concert-booking/lib';

/**
 * Every metric the service exposes, declared here: name, help, labels (and buckets). The modules that own the
 * values create them from these (`new Counter({ ...SERVICE_METRICS.holds, registers: [registry] })`); the names
 * the rules, the dashboard and the drill read come from lib.
 */
export const SERVICE_METRICS = {
  httpRequestDuration: {
    name: METRICS.httpRequestDuration,
    help: 'HTTP request latency by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [...LATENCY_BUCKETS],
  },
  seatMapCacheEnabled: {
    name: METRICS.seatMapCacheEnabled,
    help: 'Whether the seat-map cache is on (1) or every seat map is read from Postgres (0)',
    // Cluster mode: on only when every worker has it on.
    aggregator: 'min' as const,
  },
  seatMapCacheRequests: {
    name: METRICS.seatMapCacheRequests,
    help: 'Seat-map cache lookups by layer and result',
    labelNames: ['layer', 'result'] as const,
  },
  seatMapDegraded: {
    name: METRICS.seatMapDegraded,
    help: 'Seat maps served from Postgres because the shared cache failed',
  },
  // Cluster mode: every worker reads the same shared queue, so the summed /metrics would count it once a worker.
  queueWaiting: {
    name: METRICS.queueWaiting,
    help: 'Tokens waiting in the queue',
    aggregator: 'max' as const,
  },
  queueActiveTokens: {
    name: 'booking_queue_active_tokens',
    help: 'Tokens admitted and not yet used up or expired',
    aggregator: 'max' as const,
  },
  queueAdmitted: { name: METRICS.queueAdmitted, help: 'Tokens admitted from the queue' },
  queueEtaError: {
    name: METRICS.queueEtaError,
    help: 'When a waiting token was admitted minus when it was told it would be (seconds; positive: late)',
    buckets: [...ETA_ERROR_BUCKETS],
  },
  queueJumpAttempts: {
    name: METRICS.queueJumpAttempts,
    help: 'Holds and payments refused because their token was still waiting in the queue',
  },
  oversoldSeats: {
    name: METRICS.oversoldSeats,
    help: 'Live reservations (held or confirmed) beyond the seats of their timeslot, summed over timeslots: 0 always',
    // Every replica reads the same database.
    aggregator: 'max' as const,
  },
  holdExpiryLag: {
    name: METRICS.holdExpiryLag,
    help: 'How long ago the oldest hold still HELD expired (0: none overdue): the sweeper keeps it near 0',
    aggregator: 'max' as const,
  },
  holds: {
    name: 'booking_holds_total',
    help: 'Seat holds: created, conflict (seat not free), limited (the user has the most live holds), expired (lapsed and released)',
    labelNames: ['result'] as const,
  },
  walletCharges: {
    name: 'booking_wallet_charges_total',
    help: 'Wallet charges by result (replayed: answered from an Idempotency-Key)',
    labelNames: ['result'] as const,
  },
  payments: {
    name: 'booking_payments_total',
    help: 'Payments by result: succeeded, replayed, or the problem slug that refused them',
    labelNames: ['result'] as const,
  },
  dependencyUp: {
    name: METRICS.dependencyUp,
    help: 'Whether a dependency answered its readiness check (1) or not (0)',
    labelNames: ['dependency'] as const,
  },
  dbPoolSize: { name: METRICS.dbPoolSize, help: 'Open connections in the Postgres pool' },
  dbPoolInUse: { name: METRICS.dbPoolInUse, help: 'Pool connections lent to queries' },
  dbPoolWaiting: { name: METRICS.dbPoolWaiting, help: 'Queries waiting for a pool connection' },
  queueAdmissionRate: {
    name: METRICS.queueAdmissionRate,
    help: 'Admissions per round the waiting room runs at now (fixed, or following the ready capacity)',
    // Cluster mode: every worker computes the same rate from the same signals.
    aggregator: 'max' as const,
  },
  workers: {
    name: METRICS.workers,
    help: 'Worker processes of the local cluster mode',
    labelNames: ['state'] as const,
  },
};
