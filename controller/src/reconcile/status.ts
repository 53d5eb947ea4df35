import type { AlertScaler, AlertScalerStatus, Condition } from '../api/alertscaler.js';
import type { Decision } from '../policy.js';
import type { TargetOperation } from '../targets/scale-target.js';

/** What one reconcile found: the status and the conditions follow from it (pure). */
export type ReconcileOutcome =
  | { kind: 'invalidSpec'; problem: string }
  | { kind: 'targetError'; operation: TargetOperation; message: string }
  | { kind: 'decided'; decision: Decision; scaled: boolean };

type ConditionType = Condition['type'];
type Next = Pick<Condition, 'status' | 'reason' | 'message'>;

/** HPA-style conditions; a condition keeps its lastTransitionTime while its status stays the same. */
export function mergeConditions(
  previous: readonly Condition[],
  next: Record<ConditionType, Next>,
  now: Date,
): Condition[] {
  return (Object.entries(next) as [ConditionType, Next][]).map(([type, condition]) => {
    const before = previous.find((c) => c.type === type);
    const lastTransitionTime =
      before && before.status === condition.status ? before.lastTransitionTime : now.toISOString();
    return { type, ...condition, lastTransitionTime };
  });
}

/** The AbleToScale reason and the Warning Event's reason of a target error. */
export const TARGET_ERROR_REASONS: Record<TargetOperation, string> = {
  resolve: 'InvalidTarget',
  get: 'FailedGetScale',
  set: 'FailedUpdateScale',
};

const HOLD_REASONS = new Set(['Saturated', 'UpCooldown', 'DownCooldown', 'Stabilizing']);

function conditionsFor(outcome: ReconcileOutcome, firing: number): Record<ConditionType, Next> {
  // `firing` counts scaling alerts only; a firing saturation alert is reported by AbleToScale (Saturated).
  const alerts: Next =
    firing > 0
      ? { status: 'True', reason: 'AlertsFiring', message: `${firing} matching alert episode(s) firing` }
      : { status: 'True', reason: 'NoAlertsFiring', message: 'no matching alert is firing' };
  const withinRange: Next = {
    status: 'False',
    reason: 'DesiredWithinRange',
    message: 'the desired count is within range',
  };
  if (outcome.kind === 'invalidSpec') {
    const invalid: Next = { status: 'False', reason: 'InvalidSpec', message: outcome.problem };
    return { AbleToScale: invalid, ScalingActive: invalid, ScalingLimited: withinRange };
  }
  if (outcome.kind === 'targetError' && outcome.operation === 'resolve') {
    const invalid: Next = { status: 'False', reason: TARGET_ERROR_REASONS.resolve, message: outcome.message };
    return { AbleToScale: invalid, ScalingActive: invalid, ScalingLimited: withinRange };
  }
  if (outcome.kind === 'targetError') {
    return {
      AbleToScale: {
        status: 'False',
        reason: TARGET_ERROR_REASONS[outcome.operation],
        message: outcome.message,
      },
      ScalingActive: alerts,
      ScalingLimited: withinRange,
    };
  }
  const { decision, scaled } = outcome;
  const able: Next = scaled
    ? { status: 'True', reason: 'SucceededRescale', message: decision.message }
    : decision.dryRun
      ? { status: 'True', reason: 'DryRun', message: decision.message }
      : HOLD_REASONS.has(decision.reason)
        ? { status: 'True', reason: decision.reason, message: decision.message }
        : { status: 'True', reason: 'ReadyForNewScale', message: 'the next decision may scale' };
  const active: Next =
    decision.reason === 'Paused' || decision.reason === 'ScalingDisabled'
      ? { status: 'False', reason: decision.reason, message: decision.message }
      : alerts;
  const limited: Next = decision.limitedBy
    ? {
        status: 'True',
        reason: decision.limitedBy === 'maxReplicas' ? 'TooManyReplicas' : 'TooFewReplicas',
        message: `the desired count is clamped to ${decision.limitedBy} ${decision.desiredReplicas}`,
      }
    : withinRange;
  return { AbleToScale: able, ScalingActive: active, ScalingLimited: limited };
}

/** The status after a reconcile, applied to the freshest copy (its alert fields are kept as they are). */
export function statusAfter(scaler: AlertScaler, outcome: ReconcileOutcome, now: Date): AlertScalerStatus {
  const previous = scaler.status;
  const status: AlertScalerStatus = {
    ...previous,
    observedGeneration: scaler.generation,
    conditions: mergeConditions(
      previous.conditions,
      conditionsFor(outcome, previous.firingAlerts.filter((f) => f.role === 'scale').length),
      now,
    ),
  };
  if (outcome.kind !== 'decided') return status;
  const { decision, scaled } = outcome;
  return {
    ...status,
    currentReplicas: scaled ? decision.desiredReplicas : decision.currentReplicas,
    desiredReplicas: decision.desiredReplicas,
    ...(scaled && decision.direction
      ? { lastScaleTime: now.toISOString(), lastScaleDirection: decision.direction }
      : {}),
  };
}
