/**
 * Names two programs must agree on, in one place: the alerts (rules in monitoring/, reactions in controller/,
 * readers in cdk8s/ and drill/) and the label that routes an alert to the AlertScaler.
 */
export const ALERTS = {
  /** The incident document's p90 alert: the AlertScaler scales up while it fires. */
  highP90Latency: 'BookingHighP90Latency',
  /** The database pool is exhausted: the AlertScaler's saturation guard holds scale-ups while it fires. */
  dbPoolWaiting: 'BookingDbPoolWaiting',
} as const;

/** Alerts carrying `autoscale="<target>"` are routed to the AlertScaler of that target. */
export const AUTOSCALE_LABEL = 'autoscale';
export const AUTOSCALE_TARGET = 'booking-service';
