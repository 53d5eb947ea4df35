import type { AlertScalerSpec } from '../api/alertscaler.js';
import type { OnSalePhase, OnSaleSpec } from '../api/onsale.js';

/**
 * An OnSale's decisions, pure: its phase from the clock and the queue, whether it holds the AlertScaler, and
 * the AlertScaler spec the policy decides with while it does.
 */

/**
 * Scheduled until the pre-queue opens, PreQueue until opensAt, Open until closesAt, then Draining until the
 * queue is empty (known to be: an unknown queue keeps it Draining), then Done for good.
 */
export function onSalePhase(
  spec: OnSaleSpec,
  previous: OnSalePhase | undefined,
  now: Date,
  waiting: number | undefined,
): OnSalePhase {
  if (previous === 'Done') return 'Done';
  const at = now.getTime();
  const opensAt = Date.parse(spec.opensAt);
  if (at < opensAt - spec.preQueueSeconds * 1000) return 'Scheduled';
  if (at < opensAt) return 'PreQueue';
  if (at < Date.parse(spec.closesAt)) return 'Open';
  return waiting === 0 ? 'Done' : 'Draining';
}

/** The sale holds its replicas from leadSeconds before opensAt until it is Done. */
export function holdsReplicas(spec: OnSaleSpec, phase: OnSalePhase, now: Date): boolean {
  return phase !== 'Done' && now.getTime() >= Date.parse(spec.opensAt) - spec.scaling.leadSeconds * 1000;
}

/**
 * The AlertScaler spec under the sales that hold it: the floor is raised to the largest sale's minReplicas
 * (never past maxReplicas, the user's safety limit) and to the current replicas, so nothing is scaled in.
 */
export function heldSpec(
  spec: AlertScalerSpec,
  holdMinReplicas: readonly number[],
  currentReplicas: number,
): AlertScalerSpec {
  if (holdMinReplicas.length === 0) return spec;
  const floor = Math.max(spec.minReplicas, currentReplicas, ...holdMinReplicas);
  return { ...spec, minReplicas: Math.min(spec.maxReplicas, floor) };
}

/**
 * Whether a pass publishes the sale to the waiting room: from the pre-queue until it closes. Not while only
 * Scheduled: a published sale pauses admission until opensAt. Again every pass, so a waiting room whose
 * store was lost mid-sale has it back (the same sale again moves nobody).
 */
export const publishesSale = (phase: OnSalePhase | undefined): boolean =>
  phase === 'PreQueue' || phase === 'Open';
