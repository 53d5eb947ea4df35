/**
 * The waiting room's decisions, pure: how many to admit in one round, and what a waiting
 * user is told. Admission is rate-based: at most `perInterval` per round of `intervalMs`,
 * and never more than `maxActive` active tokens at once.
 */
export interface AdmissionPolicy {
  perInterval: number;
  intervalMs: number;
  maxActive: number;
}

/** How many of the queue's head to admit this round, given how many tokens are active now. */
export function admissionSlots(policy: AdmissionPolicy, active: number, waiting: number): number {
  return Math.max(0, Math.min(policy.perInterval, policy.maxActive - active, waiting));
}

/**
 * The estimate shown at a 1-based queue position: the rounds needed to reach it at the full
 * rate. A full active pool slows the real rate, so this is the wait when tokens turn over.
 */
export function estimatedWaitSeconds(policy: AdmissionPolicy, position: number): number {
  if (position <= 0) return 0;
  return Math.ceil((Math.ceil(position / policy.perInterval) * policy.intervalMs) / 1000);
}

/** The round a moment falls in: one admission per round, whichever replica runs it first. */
export const admissionRound = (policy: AdmissionPolicy, nowMs: number) =>
  Math.floor(nowMs / policy.intervalMs);
