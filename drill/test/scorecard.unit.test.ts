// The scorecard and the calibration's choice, by table: pure functions over synthetic records.
import {
  choosePeak,
  p90At,
  quantileBetween,
  routeBuckets,
  type CalibrationStep,
} from '../src/calibration.js';
import type { Sample, ScenarioRecord } from '../src/record.js';
import { scorecard } from '../src/scorecard.js';

const POLICY = {
  minReplicas: 1,
  maxReplicas: 4,
  upCooldownSeconds: 12,
  stabilizationSeconds: 15,
  downCooldownSeconds: 8,
};

/** One sample a second; `at(t)` gives the fields that differ from a quiet service with one worker. */
function samples(seconds: number, at: (t: number) => Partial<Sample>): Sample[] {
  return Array.from({ length: seconds }, (_, t) => ({
    t,
    phase: t < 10 ? 'base' : t < 70 ? 'peak' : 'calm',
    vus: 10,
    p90: 0.1,
    rate: 30,
    p90Rule: 'inactive',
    alertActive: false,
    saturationActive: false,
    poolWaiting: 0,
    cacheEnabled: false,
    desiredWorkers: 1,
    runningWorkers: 1,
    scalerReason: 'ReadyForNewScale',
    ...at(t),
  }));
}

function record(overrides: Partial<ScenarioRecord>): ScenarioRecord {
  return {
    name: 'capacity',
    startedAt: '2026-12-01T12:00:00.000Z',
    thresholdSeconds: 0.25,
    policy: POLICY,
    settings: {},
    phases: [
      { name: 'base', start: 0, end: 10, vus: 2 },
      { name: 'peak', start: 10, end: 70, vus: 12 },
      { name: 'calm', start: 70, end: 100, vus: 2 },
    ],
    actions: [],
    samples: [],
    scaleEvents: [],
    events: [],
    ...overrides,
  };
}

/**
 * Capacity done right: fires at 20, scales at 21 and 33 (ready 3 and 4 s later), p90 under from 40, resolves
 * at 45, back at 62 and 71.
 */
const capacity = record({
  samples: samples(100, (t) => ({
    p90: t >= 15 && t < 40 ? 0.45 : 0.1,
    alertActive: t >= 20 && t < 45,
    desiredWorkers: t < 21 ? 1 : t < 33 ? 2 : t < 62 ? 3 : t < 71 ? 2 : 1,
    runningWorkers: t < 24 ? 1 : t < 37 ? 2 : t < 62 ? 3 : t < 71 ? 2 : 1,
  })),
  scaleEvents: [
    { t: 21, from: 1, to: 2, direction: 'Up' },
    { t: 33, from: 2, to: 3, direction: 'Up' },
    { t: 62, from: 3, to: 2, direction: 'Down' },
    { t: 71, from: 2, to: 1, direction: 'Down' },
  ],
});

describe('scorecard', () => {
  test('capacity done right', () => {
    expect(scorecard(capacity)).toEqual({
      fired: true,
      detectSeconds: 10,
      firstScaleSeconds: 1,
      recovered: true,
      recoverSeconds: 7,
      resolvedDuringPeak: true,
      maxWorkers: 3,
      podsReadySeconds: 4,
      scaleDownAfterStabilization: true,
      scaledBackToMin: true,
      scaleUps: 2,
      scaleUpsWhileSaturated: 0,
      heldForSaturation: false,
    });
  });

  test.each([
    [
      'a scale-down sooner than the stabilization window after the alert was last active',
      {
        scaleEvents: [
          ...capacity.scaleEvents.slice(0, 2),
          { t: 50, from: 3, to: 2, direction: 'Down' as const },
        ],
      },
      { scaleDownAfterStabilization: false },
    ],
    [
      'p90 never under the threshold for 5 samples during the peak',
      {
        samples: capacity.samples.map((s) => ({
          ...s,
          p90: s.t % 4 === 0 ? 0.1 : s.phase === 'peak' ? 0.4 : 0.1,
        })),
      },
      { recovered: false, recoverSeconds: null },
    ],
    [
      'the alert still active at the end of the peak',
      { samples: capacity.samples.map((s) => ({ ...s, alertActive: s.t >= 20 && s.t < 75 })) },
      { resolvedDuringPeak: false },
    ],
    [
      'no alert at all',
      { samples: capacity.samples.map((s) => ({ ...s, alertActive: false })), scaleEvents: [] },
      { fired: false, detectSeconds: null, firstScaleSeconds: null, recovered: false },
    ],
    [
      'the second scale-up never ready',
      { samples: capacity.samples.map((s) => ({ ...s, runningWorkers: Math.min(s.runningWorkers, 2) })) },
      { podsReadySeconds: null },
    ],
    [
      'no scale-up',
      { scaleEvents: capacity.scaleEvents.filter((e) => e.direction === 'Down') },
      { podsReadySeconds: null },
    ],
    [
      'workers not back at the minimum at the end',
      { samples: capacity.samples.map((s) => ({ ...s, desiredWorkers: s.t < 21 ? 1 : 2 })) },
      { scaledBackToMin: false },
    ],
  ])('%s', (_name, overrides, expected) => {
    expect(scorecard({ ...capacity, ...overrides })).toMatchObject(expected);
  });

  const incident = record({
    name: 'incident',
    samples: samples(100, (t) => ({
      p90: t >= 15 && t < 45 ? 2 : 0.05,
      alertActive: t >= 18 && t < 48,
      saturationActive: t >= 16 && t < 40,
      scalerReason: t >= 19 && t < 55 ? 'Saturated' : 'ReadyForNewScale',
    })),
    actions: [{ t: 38, what: 'seat-map cache switched on' }],
    events: [{ t: 19, type: 'Normal', reason: 'HeldForSaturation', message: '...' }],
  });

  test('incident done right: held while saturated, recovered after the fix', () => {
    expect(scorecard(incident)).toMatchObject({
      fired: true,
      heldForSaturation: true,
      scaleUps: 0,
      scaleUpsWhileSaturated: 0,
      recovered: true,
      recoverSeconds: 7,
      resolvedDuringPeak: true,
      maxWorkers: 1,
    });
  });

  test('a scale-up while the saturation alert is active is counted', () => {
    const up = { t: 30, from: 1, to: 2, direction: 'Up' as const };
    expect(scorecard({ ...incident, scaleEvents: [up] })).toMatchObject({
      scaleUps: 1,
      scaleUpsWhileSaturated: 1,
    });
  });

  test('held for saturation needs both the status reason and the Event', () => {
    expect(scorecard({ ...incident, events: [] }).heldForSaturation).toBe(false);
    const noReason = incident.samples.map((s) => ({ ...s, scalerReason: 'UpCooldown' }));
    expect(scorecard({ ...incident, samples: noReason }).heldForSaturation).toBe(false);
  });
});

describe('calibration', () => {
  const step = (vus: number, p90: number): CalibrationStep => ({
    vus,
    requestsPerSecond: 30,
    serverP90Seconds: p90,
    clientP90Ms: p90 * 1000,
  });
  const steep = [step(2, 0.09), step(4, 0.18), step(8, 0.37), step(12, 0.43), step(16, 0.72)];

  test.each([
    ['the smallest load that fires, when its share per worker recovers', steep, 4, { ok: true, peakVus: 12 }],
    ['fewer workers: the share per worker is too high to recover', steep, 2, { ok: false }],
    ['a flat curve never fires', [step(2, 0.09), step(64, 0.3)], 4, { ok: false }],
    [
      'a high floor: the share per worker stays over the margin',
      [step(2, 0.2), step(8, 0.25), step(32, 0.5)],
      4,
      { ok: false },
    ],
  ])('%s', (_name, steps, maxWorkers, expected) => {
    expect(choosePeak(steps, 0.25, maxWorkers)).toMatchObject(expected);
  });

  test('interpolates p90 between measured steps, and holds the first step below it', () => {
    expect(p90At(steep, 3)).toBeCloseTo(0.135);
    expect(p90At(steep, 1)).toBe(0.09);
    expect(p90At(steep, 20)).toBeUndefined();
  });

  test('reads a route histogram from the metrics text and takes a quantile between two scrapes', () => {
    const text = (counts: number[]) =>
      ['0.1', '0.25', '0.5', '+Inf']
        .map(
          (le, i) =>
            `http_request_duration_seconds_bucket{le="${le}",method="GET",route="/r",status="200"} ${counts[i]}`,
        )
        .concat('http_request_duration_seconds_bucket{le="0.1",method="GET",route="/other",status="200"} 99')
        .join('\n');
    const before = routeBuckets(text([10, 10, 10, 10]), '/r');
    const after = routeBuckets(text([10, 60, 110, 110]), '/r');
    // 100 new observations: 50 in (0.1, 0.25], 50 in (0.25, 0.5]; the 90th is 80% into the second bucket.
    expect(quantileBetween(0.9, before, after)).toBeCloseTo(0.45);
    expect(quantileBetween(0.9, after, after)).toBeNaN();
  });
});
