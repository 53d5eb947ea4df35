import type { AlertScaler, AlertScalerSpec } from '../api/alertscaler.js';
import type { Logger } from '@concert-booking/lib';
import type { ControllerMetrics } from '../metrics.js';
import { decide, type Decision } from '../policy.js';
import {
  ConflictError,
  InvalidTargetError,
  TargetError,
  type ScaleTarget,
  type TargetOperation,
} from '../targets/scale-target.js';
import { heldSpec } from '../onsale/schedule.js';
import type { EventRecorder } from './events.js';
import { statusAfter, TARGET_ERROR_REASONS, type ReconcileOutcome } from './status.js';
import type { ScalerStore } from './store.js';

/** Re-reads and re-decides at most this often when someone else keeps changing the target. */
const MAX_CONFLICTS = 5;

export interface ReconcilerDeps {
  store: ScalerStore;
  targetFor: (namespace: string, spec: AlertScalerSpec) => ScaleTarget;
  events: EventRecorder;
  metrics: ControllerMetrics;
  clock: () => Date;
  logger: Logger;
  /** The minReplicas of the OnSales holding this AlertScaler now (onsale/reconciler.ts); none: the spec alone. */
  saleFloors?: (namespace: string, name: string) => readonly number[];
}

/** Refusals worth an Event, once each time they start (not on every resync). */
const REFUSALS: Partial<Record<Decision['reason'], string>> = {
  Saturated: 'HeldForSaturation',
  AtMax: 'AtMaxReplicas',
  Paused: 'Paused',
  ScalingDisabled: 'ScalingDisabled',
};

const date = (text: string | undefined) => (text ? new Date(text) : undefined);

/** Whatever a target threw, as a TargetError naming the operation (a bug or a network error included). */
function asTargetError(error: unknown, operation: TargetOperation, description: string): TargetError {
  if (error instanceof TargetError) return error;
  return new TargetError(operation, description, error instanceof Error ? error.message : String(error));
}

/** Any failure of the target's get or set comes out as a TargetError; conflicts stay conflicts. */
function guarded(target: ScaleTarget): ScaleTarget {
  const guard = async <T>(operation: TargetOperation, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      if (error instanceof ConflictError) throw error;
      throw asTargetError(error, operation, target.description);
    }
  };
  return {
    description: target.description,
    get: () => guard('get', () => target.get()),
    set: (replicas, resourceVersion) => guard('set', () => target.set(replicas, resourceVersion)),
  };
}

/**
 * One level-triggered pass over an AlertScaler: read it and its target, decide, write `/scale` at the
 * version read (on 409: read again and decide again), then status, Events and metrics.
 */
export class Reconciler {
  /** The last refusal/dry-run/error Event per AlertScaler, so a steady state does not repeat it. */
  private readonly lastNotice = new Map<string, string>();
  /** The generation whose target was invalid, per AlertScaler: not tried again until the spec changes. */
  private readonly invalidTarget = new Map<string, number>();

  constructor(private readonly deps: ReconcilerDeps) {}

  /**
   * Resolves with the seconds after which a cooldown or window ends (reconcile again then). Rejects with a
   * TargetError when the target failed (the loop retries with a bounded backoff); an invalid target resolves:
   * it is recorded and left alone until the spec changes.
   */
  async reconcile(namespace: string, name: string): Promise<number | undefined> {
    const { store, metrics } = this.deps;
    const scaler = await store.get(namespace, name);
    const labels = { alertscaler: name, namespace };
    const key = `${namespace}/${name}`;
    if (!scaler) {
      metrics.forget(labels);
      this.lastNotice.delete(key);
      this.invalidTarget.delete(key);
      return undefined;
    }
    if (this.invalidTarget.get(key) === scaler.generation) return undefined;
    this.invalidTarget.delete(key);
    if (!scaler.spec.valid) {
      await this.finish(scaler, { kind: 'invalidSpec', problem: scaler.spec.problem });
      await this.notice(scaler, 'Warning', 'InvalidSpec', scaler.spec.problem);
      return undefined;
    }
    const spec = scaler.spec.value;
    metrics.minReplicas.set(labels, spec.minReplicas);
    metrics.maxReplicas.set(labels, spec.maxReplicas);
    let outcome: ReconcileOutcome;
    try {
      outcome = await this.decideAndScale(scaler, spec, this.resolveTarget(scaler.namespace, spec));
    } catch (error) {
      if (!(error instanceof TargetError)) throw error;
      await this.finish(scaler, { kind: 'targetError', operation: error.operation, message: error.message });
      await this.notice(scaler, 'Warning', TARGET_ERROR_REASONS[error.operation], error.message);
      if (error instanceof InvalidTargetError) {
        this.invalidTarget.set(key, scaler.generation);
        return undefined;
      }
      throw error;
    }
    if (outcome.kind === 'decided') {
      metrics.currentReplicas.set(
        labels,
        outcome.scaled ? outcome.decision.desiredReplicas : outcome.decision.currentReplicas,
      );
      metrics.desiredReplicas.set(labels, outcome.decision.desiredReplicas);
    }
    await this.finish(scaler, outcome);
    return outcome.kind === 'decided' ? outcome.decision.recheckAfterSeconds : undefined;
  }

  /** The spec's target; whatever stops it from being made is an invalid target (the same spec fails again). */
  private resolveTarget(namespace: string, spec: AlertScalerSpec): ScaleTarget {
    const ref = spec.scaleTargetRef;
    try {
      return guarded(this.deps.targetFor(namespace, spec));
    } catch (error) {
      if (error instanceof InvalidTargetError) throw error;
      const detail = error instanceof Error ? error.message : String(error);
      throw new InvalidTargetError(`${ref.kind}/${ref.name}`, detail);
    }
  }

  private async decideAndScale(
    scaler: AlertScaler,
    spec: AlertScalerSpec,
    target: ScaleTarget,
  ): Promise<ReconcileOutcome> {
    const { metrics, logger, clock } = this.deps;
    const { status } = scaler;
    for (let attempt = 1; ; attempt++) {
      const current = await target.get();
      const floors = this.deps.saleFloors?.(scaler.namespace, scaler.name) ?? [];
      const decision = decide({
        spec: heldSpec(spec, floors, current.replicas),
        currentReplicas: current.replicas,
        firing: status.firingAlerts.filter((f) => f.role === 'scale').length,
        saturatedBy: status.firingAlerts.filter((f) => f.role === 'saturation').map((f) => f.alertName),
        lastScale:
          status.lastScaleTime && status.lastScaleDirection
            ? { time: new Date(status.lastScaleTime), direction: status.lastScaleDirection }
            : undefined,
        lastFiringTime: date(status.lastFiringTime),
        lastSaturatedTime: date(status.lastSaturatedTime),
        now: clock(),
      });
      // Only a scale, a dry run (both with a direction) or a refused scale-up (AtMax, Saturated) is counted.
      const direction = (decision.direction ?? 'Up').toLowerCase();
      if (!decision.apply) {
        if (decision.dryRun) metrics.scaleOperations.inc({ direction, result: 'dry_run' });
        if (decision.reason === 'AtMax') metrics.scaleOperations.inc({ direction, result: 'refused' });
        if (decision.reason === 'Saturated') metrics.scaleOperations.inc({ direction, result: 'saturated' });
        return { kind: 'decided', decision, scaled: false };
      }
      try {
        await target.set(decision.desiredReplicas, current.resourceVersion);
        metrics.scaleOperations.inc({ direction, result: 'success' });
        logger.info({ scaler: scaler.name, decision }, decision.message);
        return { kind: 'decided', decision, scaled: true };
      } catch (error) {
        if (!(error instanceof ConflictError)) {
          metrics.scaleOperations.inc({ direction, result: 'error' });
          throw error;
        }
        metrics.scaleOperations.inc({ direction, result: 'conflict' });
        logger.info(
          { scaler: scaler.name, attempt },
          `${error.message}: reading it again and deciding again`,
        );
        if (attempt >= MAX_CONFLICTS)
          throw new TargetError('set', target.description, `still conflicting after ${attempt} attempts`);
      }
    }
  }

  private async finish(scaler: AlertScaler, outcome: ReconcileOutcome): Promise<void> {
    const now = this.deps.clock();
    await this.deps.store.updateStatus(scaler.namespace, scaler.name, (fresh) =>
      statusAfter(fresh, outcome, now),
    );
    if (outcome.kind !== 'decided') return;
    const { decision, scaled } = outcome;
    if (scaled) {
      this.lastNotice.delete(`${scaler.namespace}/${scaler.name}`);
      await this.deps.events.record(
        scaler,
        'Normal',
        decision.direction === 'Up' ? 'ScaledUp' : 'ScaledDown',
        decision.message,
      );
    } else if (decision.dryRun) {
      await this.notice(scaler, 'Normal', 'DryRun', decision.message);
    } else if (REFUSALS[decision.reason]) {
      await this.notice(scaler, 'Normal', REFUSALS[decision.reason]!, decision.message);
    } else {
      this.lastNotice.delete(`${scaler.namespace}/${scaler.name}`);
    }
  }

  /** Records an Event unless the same one was the last recorded for this AlertScaler. */
  private async notice(scaler: AlertScaler, type: 'Normal' | 'Warning', reason: string, message: string) {
    const key = `${scaler.namespace}/${scaler.name}`;
    const notice = `${reason}: ${message}`;
    if (this.lastNotice.get(key) === notice) return;
    this.lastNotice.set(key, notice);
    await this.deps.events.record(scaler, type, reason, message);
  }
}
