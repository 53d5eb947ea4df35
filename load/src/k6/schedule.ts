/** When the executors change their VU counts (pure, so the k6 semantics are unit-tested). */
import type { ScenarioPlan, Stage } from './options.js';

export interface Step {
  atMs: number;
  vus: number;
}

/**
 * ramping-vus: k6 ramps linearly, so within a stage the count moves by one at evenly spaced times (0 -> 2
 * over 1 s: 1 VU at 0.5 s, 2 at 1 s); a 0 s stage jumps at once. The first step is startVUs at 0.
 */
export function rampingSteps(startVUs: number, stages: Stage[]): Step[] {
  const steps: Step[] = [{ atMs: 0, vus: startVUs }];
  let from = startVUs;
  let at = 0;
  for (const { durationMs, target } of stages) {
    const change = Math.abs(target - from);
    const direction = Math.sign(target - from);
    for (let i = 1; i <= change; i++) {
      steps.push({ atMs: at + (durationMs * i) / change, vus: from + direction * i });
    }
    at += durationMs;
    from = target;
  }
  return steps;
}

export const stagesMs = (stages: Stage[]): number => stages.reduce((sum, stage) => sum + stage.durationMs, 0);

/** The most VUs a scenario runs at once (its part of the pool). */
export function maxVUs(plan: ScenarioPlan): number {
  return plan.executor === 'per-vu-iterations'
    ? plan.vus
    : Math.max(plan.startVUs, ...plan.stages.map((stage) => stage.target));
}
