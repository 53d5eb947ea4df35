/**
 * Capacity-coupled admission, the decision: how many to admit per round from what the service can serve now.
 * A pure function of the signals (ready replicas, p90, the p90 alert) and the previous rate, in the manner of
 * TCP's AIMD: halve at once when latency is over budget, grow a step at a time towards the ready capacity.
 */
export interface CapacityAdmissionPolicy {
  /** Admissions per round one ready replica (or worker) serves within the SLO. */
  perReplica: number;
  /** Bounds on admissions per round: never stop admitting, never admit everyone. */
  min: number;
  max: number;
  /** A p90 above this, in seconds, is over budget (below the alert's threshold, to act before it fires). */
  p90BudgetSeconds: number;
  /** Multiplier applied when over budget (0 < factor < 1). */
  decreaseFactor: number;
  /** Admissions per round added per update while under budget and below capacity. */
  increaseStep: number;
}

/** What the waiting room reads about the service; undefined when the source could not be read. */
export interface AdmissionSignals {
  readyReplicas: number;
  /** Null when there is no p90 (no traffic in the window). */
  p90Seconds: number | null;
  p90AlertFiring: boolean;
}

export type AdmissionReason = 'source-down' | 'over-budget' | 'above-capacity' | 'increase' | 'at-capacity';

export interface AdmissionDecision {
  perInterval: number;
  reason: AdmissionReason;
}

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

/** The next admissions per round, from the previous rate and the signals (undefined: source down). */
export function nextAdmissionRate(
  policy: CapacityAdmissionPolicy,
  previous: number,
  signals: AdmissionSignals | undefined,
): AdmissionDecision {
  const { min, max } = policy;
  if (!signals) return { perInterval: clamp(previous, min, max), reason: 'source-down' };
  const capacity = clamp(Math.floor(signals.readyReplicas * policy.perReplica), min, max);
  const overBudget =
    signals.p90AlertFiring || (signals.p90Seconds !== null && signals.p90Seconds > policy.p90BudgetSeconds);
  if (overBudget) {
    const decreased = Math.floor(previous * policy.decreaseFactor);
    return { perInterval: clamp(Math.min(decreased, capacity), min, max), reason: 'over-budget' };
  }
  // Replicas gone (scale-in, a crash): the rate follows the capacity down at once.
  if (previous > capacity) return { perInterval: capacity, reason: 'above-capacity' };
  if (previous === capacity) return { perInterval: capacity, reason: 'at-capacity' };
  return {
    perInterval: Math.min(capacity, clamp(previous + policy.increaseStep, min, max)),
    reason: 'increase',
  };
}
