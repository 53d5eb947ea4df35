// The service level the alerts watch and the load tests check: one source for the monitoring rules'
// defaults, the load runner's thresholds and the k6 Jobs' environment.

/** BookingHighP90Latency's threshold (the incident document's example rule: p90 over 0.5 s). */
export const P90_THRESHOLD_SECONDS = 0.5;
/** Share of requests that must not fail (the availability SLO of the burn-rate alerts). */
export const AVAILABILITY_OBJECTIVE = 0.99;

/** What a load test must stay within, from the alerts' values. */
export function loadTestThresholds(
  p90ThresholdSeconds = P90_THRESHOLD_SECONDS,
  availabilityObjective = AVAILABILITY_OBJECTIVE,
): { p90Ms: number; maxFailedRate: number } {
  // toFixed: 1 - 0.99 is 0.010000000000000009 in binary floating point.
  return {
    p90Ms: p90ThresholdSeconds * 1000,
    maxFailedRate: Number((1 - availabilityObjective).toFixed(6)),
  };
}

/** loadTestThresholds() as the k6 scripts read them (load/k6/common.ts), set by the cdk8s Jobs and `npm run load -- k6`. */
export function loadTestThresholdEnv(...args: Parameters<typeof loadTestThresholds>): {
  P90_MS: string;
  MAX_FAILED_RATE: string;
} {
  const { p90Ms, maxFailedRate } = loadTestThresholds(...args);
  return { P90_MS: String(p90Ms), MAX_FAILED_RATE: String(maxFailedRate) };
}
