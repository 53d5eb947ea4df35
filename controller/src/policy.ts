import type { AlertScalerSpec } from './api/alertscaler.js';

/**
 * Desired replicas from the current replicas, the firing episodes, the AlertScaler spec and the clock.
 * Pure: every input is an argument, so the table in controller/test/policy.test.ts covers it.
 *
 * Order of the rules (first match wins): paused; target at 0 (scaling disabled, as in the HPA); outside
 * [min, max] (clamped at once, no cooldown: the bounds are the user's safety limits); alerts firing
 * (scale up by one step, unless a saturation alert fires, or at max, or in the scale-up cooldown); no alert
 * firing (scale down by one step once the stabilization window since the last firing alert and the
 * scale-down cooldown have passed).
 *
 * The saturation guard: while an alert of `spec.saturation.alerts` fires (the database pool is exhausted),
 * latency comes from a shared dependency that more replicas would only load further (more connections,
 * more concurrent slow queries), so the scaler holds instead of scaling up, and goes on holding for
 * `saturation.holdSeconds` after it ended (the latency alert lags: it averages over its rate window). It
 * never blocks a scale-down.
 * Dry-run computes the same decision and marks it not to be applied.
 */
export type Direction = 'Up' | 'Down';

export type Reason =
  | 'Paused'
  | 'ScalingDisabled'
  | 'BelowMin'
  | 'AboveMax'
  | 'ScaleUp'
  | 'Saturated'
  | 'AtMax'
  | 'UpCooldown'
  | 'ScaleDown'
  | 'AtMin'
  | 'Stabilizing'
  | 'DownCooldown';

export interface PolicyInput {
  spec: AlertScalerSpec;
  currentReplicas: number;
  /** Firing episodes matching the spec's alerts. */
  firing: number;
  /** Names of the firing alerts that match the spec's saturation alerts. */
  saturatedBy: readonly string[];
  /** The last time a saturation alert was known to be firing. */
  lastSaturatedTime?: Date;
  lastScale?: { time: Date; direction: Direction };
  /** The last time a matching alert was known to be firing (start of the stabilization window). */
  lastFiringTime?: Date;
  now: Date;
}

export interface Decision {
  currentReplicas: number;
  /** Equal to currentReplicas when nothing is to change. */
  desiredReplicas: number;
  direction?: Direction;
  reason: Reason;
  message: string;
  /** True when the target's replicas must be written (a change, not paused, not dry-run). */
  apply: boolean;
  /** The decision is a change that dry-run keeps from being applied. */
  dryRun: boolean;
  /** The bound that cut the step short, or keeps it from scaling (HPA's ScalingLimited). */
  limitedBy?: 'maxReplicas' | 'minReplicas';
  /** When a cooldown or the stabilization window ends: reconcile again then. */
  recheckAfterSeconds?: number;
}

function stepSize(
  step: AlertScalerSpec['scaleUp']['step'],
  current: number,
  round: (n: number) => number,
): number {
  return step.type === 'Pods' ? step.value : Math.max(1, round((current * step.value) / 100));
}

const secondsSince = (then: Date, now: Date) => (now.getTime() - then.getTime()) / 1000;

function hold(input: PolicyInput, reason: Reason, message: string, extra: Partial<Decision> = {}): Decision {
  const current = input.currentReplicas;
  return {
    currentReplicas: current,
    desiredReplicas: current,
    reason,
    message,
    apply: false,
    dryRun: false,
    ...extra,
  };
}

function change(
  input: PolicyInput,
  desired: number,
  reason: Reason,
  message: string,
  extra: Partial<Decision> = {},
) {
  const direction: Direction = desired > input.currentReplicas ? 'Up' : 'Down';
  const dryRun = input.spec.dryRun;
  return {
    currentReplicas: input.currentReplicas,
    desiredReplicas: desired,
    direction,
    reason,
    message: dryRun
      ? `dry run: would scale from ${input.currentReplicas} to ${desired}: ${message}`
      : message,
    apply: !dryRun,
    dryRun,
    ...extra,
  } satisfies Decision;
}

/** Seconds left of a window of `length` seconds that started at `since`, or undefined when it is over. */
function remaining(since: Date | undefined, length: number, now: Date): number | undefined {
  if (!since) return undefined;
  const left = length - secondsSince(since, now);
  return left > 0 ? Math.ceil(left) : undefined;
}

function scaleUp(input: PolicyInput): Decision {
  const { spec, currentReplicas: current, now, lastScale } = input;
  const alerts = `${input.firing} alert(s) firing`;
  if (input.saturatedBy.length > 0) {
    const names = [...new Set(input.saturatedBy)].join(', ');
    return hold(
      input,
      'Saturated',
      `${alerts}, but ${names} also fires: a saturated dependency gets more load, not more capacity, from more replicas`,
    );
  }
  const holding = remaining(input.lastSaturatedTime, spec.saturation.holdSeconds, now);
  if (holding !== undefined) {
    // No countdown in the message: it stays the same for one hold, so its Event is recorded once.
    const until = new Date(input.lastSaturatedTime!.getTime() + spec.saturation.holdSeconds * 1000);
    return hold(
      input,
      'Saturated',
      `${alerts}, but a saturation alert ended less than ${spec.saturation.holdSeconds}s ago: holding until ${until.toISOString()}, while the latency alert still averages over the saturated period`,
      { recheckAfterSeconds: holding },
    );
  }
  if (current >= spec.maxReplicas) {
    return hold(input, 'AtMax', `${alerts}, already at maxReplicas ${spec.maxReplicas}`, {
      limitedBy: 'maxReplicas',
    });
  }
  const cooldown =
    lastScale?.direction === 'Up' ? remaining(lastScale.time, spec.scaleUp.cooldownSeconds, now) : undefined;
  if (cooldown !== undefined) {
    return hold(input, 'UpCooldown', `${alerts}, scale-up cooldown: ${cooldown}s left`, {
      recheckAfterSeconds: cooldown,
    });
  }
  const wanted = current + stepSize(spec.scaleUp.step, current, Math.ceil);
  const desired = Math.min(wanted, spec.maxReplicas);
  return change(input, desired, 'ScaleUp', `${alerts}: scale up from ${current} to ${desired}`, {
    ...(wanted > desired ? { limitedBy: 'maxReplicas' as const } : {}),
  });
}

function scaleDown(input: PolicyInput): Decision {
  const { spec, currentReplicas: current, now, lastScale } = input;
  if (current <= spec.minReplicas)
    return hold(input, 'AtMin', `no alert firing, at minReplicas ${spec.minReplicas}`);
  const stabilizing = remaining(input.lastFiringTime, spec.scaleDown.stabilizationWindowSeconds, now);
  if (stabilizing !== undefined) {
    return hold(input, 'Stabilizing', `no alert firing, stabilization window: ${stabilizing}s left`, {
      recheckAfterSeconds: stabilizing,
    });
  }
  const cooldown = remaining(lastScale?.time, spec.scaleDown.cooldownSeconds, now);
  if (cooldown !== undefined) {
    return hold(input, 'DownCooldown', `no alert firing, scale-down cooldown: ${cooldown}s left`, {
      recheckAfterSeconds: cooldown,
    });
  }
  const wanted = current - stepSize(spec.scaleDown.step, current, Math.floor);
  const desired = Math.max(wanted, spec.minReplicas);
  return change(input, desired, 'ScaleDown', `no alert firing: scale down from ${current} to ${desired}`, {
    ...(wanted < desired ? { limitedBy: 'minReplicas' as const } : {}),
  });
}

export function decide(input: PolicyInput): Decision {
  const { spec, currentReplicas: current } = input;
  if (spec.paused) return hold(input, 'Paused', 'spec.paused is true: replicas are left as they are');
  if (current === 0) return hold(input, 'ScalingDisabled', 'the target has 0 replicas: scaling is disabled');
  if (current < spec.minReplicas) {
    return change(
      input,
      spec.minReplicas,
      'BelowMin',
      `${current} is below minReplicas ${spec.minReplicas}`,
      {
        limitedBy: 'minReplicas',
      },
    );
  }
  if (current > spec.maxReplicas) {
    return change(
      input,
      spec.maxReplicas,
      'AboveMax',
      `${current} is above maxReplicas ${spec.maxReplicas}`,
      {
        limitedBy: 'maxReplicas',
      },
    );
  }
  return input.firing > 0 ? scaleUp(input) : scaleDown(input);
}
