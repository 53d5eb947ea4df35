/**
 * Metrics one program exposes and another reads (monitoring's rules and dashboard, the drill), by name: the
 * service and the controller declare them with these names, the readers build their queries from them.
 */
export const METRICS = {
  httpRequestDuration: 'http_request_duration_seconds',
  dbPoolSize: 'booking_db_pool_size',
  dbPoolInUse: 'booking_db_pool_in_use',
  dbPoolWaiting: 'booking_db_pool_waiting',
  dependencyUp: 'booking_dependency_up',
  seatMapCacheEnabled: 'booking_seatmap_cache_enabled',
  seatMapCacheRequests: 'booking_seatmap_cache_requests_total',
  seatMapDegraded: 'booking_seatmap_degraded_total',
  scalerDesiredReplicas: 'alertscaler_desired_replicas',
  scalerCurrentReplicas: 'alertscaler_current_replicas',
  scalerMaxReplicas: 'alertscaler_max_replicas',
  scalerMinReplicas: 'alertscaler_min_replicas',
  scaleOperations: 'alertscaler_scale_operations_total',
  workers: 'booking_workers',
  queueAdmissionRate: 'booking_queue_admission_rate',
  queueWaiting: 'booking_queue_waiting',
  queueAdmitted: 'booking_queue_admitted_total',
  queueEtaError: 'booking_queue_eta_error_seconds',
  queueJumpAttempts: 'booking_queue_jump_attempts_total',
  oversoldSeats: 'booking_oversold_seats',
  holdExpiryLag: 'booking_hold_expiry_lag_seconds',
} as const;

/**
 * booking_queue_eta_error_seconds: admitted minus promised (positive: later than the waiting user was told).
 * Symmetric around 0, so the histogram shows early and late alike.
 */
export const ETA_ERROR_BUCKETS: readonly number[] = [
  -300, -60, -30, -10, -5, -2, -1, 0, 1, 2, 5, 10, 30, 60, 300,
];

/** Recording rules a program other than Prometheus reads (the waiting room's admission, the dashboard, the drill). */
export const RECORDINGS = {
  /** By namespace and `quantile` (0.5, 0.9, 0.99). */
  latencyQuantile: `namespace_quantile:${METRICS.httpRequestDuration}:histogram_quantile`,
  /** Replicas (or local workers) serving requests, by namespace: the waiting room's ready capacity. */
  readyReplicas: 'namespace:booking_ready_replicas:count',
} as const;

/**
 * The request-latency histogram's bucket edges, in seconds. They include the alert thresholds (0.1, 0.25, 0.5,
 * 1, 2.5, 5 s) so that quantiles are exact there; the rules refuse a latency objective that is not an edge.
 */
export const LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
