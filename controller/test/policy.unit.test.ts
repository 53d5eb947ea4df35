import { alertScalerSpecSchema, type AlertScalerSpecInput } from '../src/api/alertscaler.js';
import { decide, type Decision, type PolicyInput } from '../src/policy.js';

const NOW = new Date('2025-06-01T12:00:00Z');
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000);

const BASE: AlertScalerSpecInput = {
  scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'booking-service' },
  alerts: [{ alertName: 'BookingHighP90Latency' }],
  minReplicas: 2,
  maxReplicas: 10,
  scaleUp: { step: { type: 'Pods', value: 2 }, cooldownSeconds: 120 },
  scaleDown: { step: { type: 'Pods', value: 1 }, stabilizationWindowSeconds: 300, cooldownSeconds: 60 },
};

interface Case {
  name: string;
  spec?: Partial<AlertScalerSpecInput>;
  current: number;
  firing: number;
  saturatedBy?: string[];
  lastSaturatedTime?: Date;
  lastScale?: PolicyInput['lastScale'];
  lastFiringTime?: Date;
  expect: Partial<Decision>;
}

const cases: Case[] = [
  // scale up
  {
    name: 'firing: up by a pods step',
    current: 2,
    firing: 1,
    expect: {
      desiredReplicas: 4,
      direction: 'Up',
      reason: 'ScaleUp',
      apply: true,
      message: '1 alert(s) firing: scale up from 2 to 4',
    },
  },
  {
    name: 'firing: step clamped to max',
    current: 9,
    firing: 1,
    expect: { desiredReplicas: 10, reason: 'ScaleUp', limitedBy: 'maxReplicas' },
  },
  {
    name: 'firing at max: refused',
    current: 10,
    firing: 2,
    expect: {
      desiredReplicas: 10,
      reason: 'AtMax',
      apply: false,
      limitedBy: 'maxReplicas',
      message: '2 alert(s) firing, already at maxReplicas 10',
    },
  },
  {
    name: 'percent step rounds up (50% of 3 = 2)',
    spec: { scaleUp: { step: { type: 'Percent', value: 50 }, cooldownSeconds: 0 } },
    current: 3,
    firing: 1,
    expect: { desiredReplicas: 5 },
  },
  {
    name: 'percent step is at least one pod',
    spec: { scaleUp: { step: { type: 'Percent', value: 10 }, cooldownSeconds: 0 } },
    current: 2,
    firing: 1,
    expect: { desiredReplicas: 3 },
  },
  {
    name: 'scale-up cooldown after a scale-up',
    current: 4,
    firing: 1,
    lastScale: { time: ago(30), direction: 'Up' },
    expect: {
      desiredReplicas: 4,
      reason: 'UpCooldown',
      apply: false,
      recheckAfterSeconds: 90,
      message: '1 alert(s) firing, scale-up cooldown: 90s left',
    },
  },
  {
    name: 'scale-up cooldown over',
    current: 4,
    firing: 1,
    lastScale: { time: ago(121), direction: 'Up' },
    expect: { desiredReplicas: 6, reason: 'ScaleUp' },
  },
  {
    name: 'the scale-up cooldown ends exactly at its length',
    current: 4,
    firing: 1,
    lastScale: { time: ago(120), direction: 'Up' },
    expect: { desiredReplicas: 6, reason: 'ScaleUp' },
  },
  {
    name: 'a step that lands exactly on max is not limited',
    current: 9,
    firing: 1,
    spec: { scaleUp: { step: { type: 'Pods', value: 1 }, cooldownSeconds: 0 } },
    expect: { desiredReplicas: 10, reason: 'ScaleUp' },
  },
  {
    name: 'a recent scale-down does not delay a scale-up',
    current: 4,
    firing: 1,
    lastScale: { time: ago(5), direction: 'Down' },
    expect: { desiredReplicas: 6, reason: 'ScaleUp' },
  },
  // scale down
  {
    name: 'calm at min: nothing',
    current: 2,
    firing: 0,
    expect: {
      desiredReplicas: 2,
      reason: 'AtMin',
      apply: false,
      message: 'no alert firing, at minReplicas 2',
    },
  },
  {
    name: 'calm, window not over: stabilizing',
    current: 6,
    firing: 0,
    lastFiringTime: ago(100),
    expect: {
      desiredReplicas: 6,
      reason: 'Stabilizing',
      apply: false,
      recheckAfterSeconds: 200,
      message: 'no alert firing, stabilization window: 200s left',
    },
  },
  {
    name: 'calm, window over: down one step',
    current: 6,
    firing: 0,
    lastFiringTime: ago(301),
    lastScale: { time: ago(400), direction: 'Up' },
    expect: {
      desiredReplicas: 5,
      direction: 'Down',
      reason: 'ScaleDown',
      apply: true,
      message: 'no alert firing: scale down from 6 to 5',
    },
  },
  {
    name: 'calm, window over, scale-down cooldown since the last scale',
    current: 6,
    firing: 0,
    lastFiringTime: ago(600),
    lastScale: { time: ago(20), direction: 'Down' },
    expect: {
      desiredReplicas: 6,
      reason: 'DownCooldown',
      recheckAfterSeconds: 40,
      message: 'no alert firing, scale-down cooldown: 40s left',
    },
  },
  {
    name: 'percent scale-down (70% of 3 rounds down to 2) clamped to min',
    spec: {
      scaleDown: { step: { type: 'Percent', value: 70 }, stabilizationWindowSeconds: 0, cooldownSeconds: 0 },
    },
    current: 3,
    firing: 0,
    expect: { desiredReplicas: 2, reason: 'ScaleDown', limitedBy: 'minReplicas' },
  },
  {
    name: 'percent scale-down rounds down (50% of 5 is 2.5: down 2, to 3)',
    spec: {
      minReplicas: 1,
      scaleDown: { step: { type: 'Percent', value: 50 }, stabilizationWindowSeconds: 0, cooldownSeconds: 0 },
    },
    current: 5,
    firing: 0,
    expect: { desiredReplicas: 3, reason: 'ScaleDown' },
  },
  {
    name: 'percent scale-down is at least one pod (10% of 4)',
    spec: {
      minReplicas: 1,
      scaleDown: { step: { type: 'Percent', value: 10 }, stabilizationWindowSeconds: 0, cooldownSeconds: 0 },
    },
    current: 4,
    firing: 0,
    expect: { desiredReplicas: 3, direction: 'Down', reason: 'ScaleDown', apply: true },
  },
  {
    name: 'the scale-down cooldown also follows a scale-up',
    current: 6,
    firing: 0,
    lastFiringTime: ago(400),
    lastScale: { time: ago(20), direction: 'Up' },
    expect: { desiredReplicas: 6, reason: 'DownCooldown', apply: false, recheckAfterSeconds: 40 },
  },
  {
    name: 'scale-down cooldown over',
    current: 6,
    firing: 0,
    lastFiringTime: ago(400),
    lastScale: { time: ago(61), direction: 'Down' },
    expect: { desiredReplicas: 5, reason: 'ScaleDown' },
  },
  {
    name: 'the stabilization window ends exactly at its length',
    current: 6,
    firing: 0,
    lastFiringTime: ago(300),
    expect: { desiredReplicas: 5, reason: 'ScaleDown' },
  },
  {
    name: 'a part of a second left of the window is waited as a whole second',
    current: 6,
    firing: 0,
    lastFiringTime: ago(299.5),
    expect: { reason: 'Stabilizing', recheckAfterSeconds: 1 },
  },
  {
    name: 'the stabilization window comes before the scale-down cooldown',
    current: 6,
    firing: 0,
    lastFiringTime: ago(10),
    lastScale: { time: ago(5), direction: 'Down' },
    expect: { reason: 'Stabilizing', recheckAfterSeconds: 290 },
  },
  {
    name: 'calm one above min: down to min, not limited',
    current: 3,
    firing: 0,
    expect: { desiredReplicas: 2, reason: 'ScaleDown' },
  },
  {
    name: 'never fired, above min: down (no window to wait for)',
    current: 4,
    firing: 0,
    expect: { desiredReplicas: 3 },
  },
  // bounds, pause, dry-run
  {
    name: 'below min: up to min at once',
    current: 1,
    firing: 0,
    lastScale: { time: ago(1), direction: 'Down' },
    expect: {
      desiredReplicas: 2,
      direction: 'Up',
      reason: 'BelowMin',
      apply: true,
      limitedBy: 'minReplicas',
      message: '1 is below minReplicas 2',
    },
  },
  {
    name: 'above max: down to max at once',
    current: 14,
    firing: 1,
    expect: {
      desiredReplicas: 10,
      reason: 'AboveMax',
      direction: 'Down',
      limitedBy: 'maxReplicas',
      message: '14 is above maxReplicas 10',
    },
  },
  {
    name: 'target at 0: scaling disabled',
    current: 0,
    firing: 3,
    expect: {
      desiredReplicas: 0,
      reason: 'ScalingDisabled',
      apply: false,
      message: 'the target has 0 replicas: scaling is disabled',
    },
  },
  {
    name: 'paused: nothing, even below min',
    spec: { paused: true },
    current: 1,
    firing: 3,
    expect: {
      desiredReplicas: 1,
      reason: 'Paused',
      apply: false,
      message: 'spec.paused is true: replicas are left as they are',
    },
  },
  // the saturation guard
  {
    name: 'firing while saturated: holds (more replicas would load the saturated database)',
    current: 2,
    firing: 1,
    saturatedBy: ['BookingDbPoolWaiting'],
    expect: { desiredReplicas: 2, reason: 'Saturated', apply: false },
  },
  {
    name: 'saturated: the guard names each firing saturation alert once',
    current: 2,
    firing: 1,
    saturatedBy: ['BookingDbPoolWaiting', 'BookingDbPoolWaiting', 'PostgresCpuHigh'],
    expect: {
      reason: 'Saturated',
      message:
        '1 alert(s) firing, but BookingDbPoolWaiting, PostgresCpuHigh also fires: a saturated dependency gets more load, not more capacity, from more replicas',
    },
  },
  {
    name: 'saturated at max: the saturation is the reason given',
    current: 10,
    firing: 1,
    saturatedBy: ['BookingDbPoolWaiting'],
    expect: { reason: 'Saturated', apply: false },
  },
  {
    name: 'saturated without a scaling alert: scales down as usual',
    current: 4,
    firing: 0,
    saturatedBy: ['BookingDbPoolWaiting'],
    lastFiringTime: ago(301),
    expect: { desiredReplicas: 3, reason: 'ScaleDown', direction: 'Down', apply: true },
  },
  {
    name: 'saturation ended 10 s ago: holds the rest of saturation.holdSeconds, and says when to look again',
    current: 2,
    firing: 1,
    lastSaturatedTime: ago(10),
    expect: {
      desiredReplicas: 2,
      reason: 'Saturated',
      apply: false,
      recheckAfterSeconds: 290,
      // The end of the hold: the saturation's end plus holdSeconds (300), not NOW plus what is left.
      message:
        '1 alert(s) firing, but a saturation alert ended less than 300s ago: holding until 2025-06-01T12:04:50.000Z, while the latency alert still averages over the saturated period',
    },
  },
  {
    name: 'saturation ended longer ago than saturation.holdSeconds: scales up',
    current: 2,
    firing: 1,
    lastSaturatedTime: ago(301),
    expect: { desiredReplicas: 4, reason: 'ScaleUp', apply: true },
  },
  {
    name: 'a zero saturation hold: scales up as soon as the saturation alert is gone',
    spec: { saturation: { alerts: [], holdSeconds: 0 } },
    current: 2,
    firing: 1,
    lastSaturatedTime: ago(0),
    expect: { desiredReplicas: 4, reason: 'ScaleUp' },
  },
  {
    name: 'saturated below min: the bounds come first',
    current: 1,
    firing: 1,
    saturatedBy: ['BookingDbPoolWaiting'],
    expect: { desiredReplicas: 2, reason: 'BelowMin', apply: true, limitedBy: 'minReplicas' },
  },
  {
    name: 'dry-run: decides but does not apply',
    spec: { dryRun: true },
    current: 2,
    firing: 1,
    expect: {
      desiredReplicas: 4,
      reason: 'ScaleUp',
      apply: false,
      dryRun: true,
      message: 'dry run: would scale from 2 to 4: 1 alert(s) firing: scale up from 2 to 4',
    },
  },
  {
    name: 'dry-run at max: a refusal, not a dry-run change',
    spec: { dryRun: true },
    current: 10,
    firing: 1,
    expect: { reason: 'AtMax', dryRun: false, limitedBy: 'maxReplicas' },
  },
];

describe('decide (the scaling policy)', () => {
  test.each(cases)('$name', (row) => {
    const { spec, current, firing, saturatedBy = [], lastSaturatedTime, lastScale, lastFiringTime } = row;
    const decision = decide({
      spec: alertScalerSpecSchema.parse({ ...BASE, ...spec }),
      currentReplicas: current,
      firing,
      saturatedBy,
      lastSaturatedTime,
      lastScale,
      lastFiringTime,
      now: NOW,
    });
    expect(decision).toMatchObject({ currentReplicas: current, ...row.expect });
    if (!('limitedBy' in row.expect)) expect(decision.limitedBy).toBeUndefined();
    if (!decision.apply) expect(decision.desiredReplicas === current || decision.dryRun).toBe(true);
  });
});

describe('the spec schema (the CRD is derived from it)', () => {
  test.each([
    ['min > max', { minReplicas: 5, maxReplicas: 3 }, 'maxReplicas'],
    ['zero step', { scaleUp: { step: { type: 'Pods', value: 0 } } }, 'scaleUp.step.value'],
    ['no alerts', { alerts: [] }, 'alerts'],
    [
      'bad regex',
      { alerts: [{ alertName: 'A', matchers: [{ name: 'x', op: '=~', value: '(' }] }] },
      'alerts.0.matchers.0.value',
    ],
    ['unknown field', { minReplica: 1 }, ''],
  ])('rejects %s', (_name, override, path) => {
    const result = alertScalerSpecSchema.safeParse({ ...BASE, ...override });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(path);
  });

  test('fills in defaults', () => {
    const spec = alertScalerSpecSchema.parse({ ...BASE, scaleUp: undefined, scaleDown: undefined });
    expect(spec).toMatchObject({
      paused: false,
      dryRun: false,
      scaleUp: { step: { type: 'Pods', value: 1 }, cooldownSeconds: 120 },
      scaleDown: { stabilizationWindowSeconds: 300 },
    });
  });
});
