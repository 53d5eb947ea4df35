// The scorecard and the calibration's choice, by table: pure functions over synthetic records.
import {
  choosePeak,
  FIRE_MARGIN,
  p90At,
  RECOVER_MARGIN,
  quantileBetween,
  routeBuckets,
  type CalibrationStep,
} from '../src/calibration.js';
import type { Sample, ScenarioRecord } from '../src/record.js';
import { activeIntervals, scorecard } from '../src/scorecard.js';

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

describe('scorecard: the edges of each window (capacity: alert 20-44, scale-ups 21 and 33, p90 under from 40)', () => {
  const up = (t: number) => ({ t, from: 1, to: 2, direction: 'Up' as const });
  const down = (t: number) => ({ t, from: 2, to: 1, direction: 'Down' as const });
  /** capacity's samples with `change` applied to each. */
  const changed = (change: (s: Sample) => Partial<Sample>) =>
    capacity.samples.map((s) => ({ ...s, ...change(s) }));
  const alertWhen = (active: (t: number) => boolean) => changed((s) => ({ alertActive: active(s.t) }));
  const p90When = (under: (t: number) => boolean, over = 0.45) =>
    changed((s) => ({ p90: under(s.t) ? 0.1 : over }));
  /** Sample labels that end the peak at `end` (the phase intervals still say 10-70). */
  const peakLabelUntil = (end: number) => (t: number) => (t < 10 ? 'base' : t < end ? 'peak' : 'calm');

  test.each<[string, Partial<ScenarioRecord>, Partial<ReturnType<typeof scorecard>>]>([
    // Recovery: RECOVERED_FOR_SAMPLES samples under the threshold, from the reference on, inside the peak.
    [
      'five samples under from the reference itself',
      { samples: p90When((t) => t >= 33 && t <= 37) },
      { recovered: true, recoverSeconds: 0 },
    ],
    [
      'four samples under are not a recovery',
      { samples: p90When((t) => t >= 33 && t <= 36) },
      { recovered: false, recoverSeconds: null },
    ],
    ['p90 at the threshold is not under it', { samples: p90When((t) => t < 34, 0.25) }, { recovered: false }],
    [
      'no p90 yet is not under the threshold',
      { samples: changed((s) => ({ p90: s.t < 34 ? 0.45 : null })) },
      { recovered: false },
    ],
    [
      "a scale-up at the peak's first second, recovered at once",
      { samples: p90When((t) => t >= 10 && t <= 14), scaleEvents: [up(10)] },
      { recovered: true, recoverSeconds: 0 },
    ],
    [
      "a run under the threshold ending at the peak's last second",
      { samples: p90When((t) => t >= 66 && t <= 70) },
      { recovered: true, recoverSeconds: 33 },
    ],
    // The alert of the peak: the first that starts inside it (any, without a peak phase).
    [
      "an alert before the peak is not the peak's",
      { samples: alertWhen((t) => (t >= 3 && t <= 5) || (t >= 20 && t < 45)) },
      { fired: true, detectSeconds: 10, firstScaleSeconds: 1 },
    ],
    [
      "an alert that starts after the peak is not the peak's",
      { samples: alertWhen((t) => t >= 80 && t <= 85) },
      { fired: false, detectSeconds: null },
    ],
    [
      "an alert starting at the peak's first second",
      { samples: alertWhen((t) => t >= 10 && t < 45) },
      { fired: true, detectSeconds: 0 },
    ],
    [
      "an alert starting at the peak's last second",
      { samples: alertWhen((t) => t >= 70 && t <= 75) },
      { fired: true, detectSeconds: 60 },
    ],
    [
      'without a peak phase the first alert counts, and nothing is measured against a peak',
      { phases: capacity.phases.filter((p) => p.name !== 'peak') },
      { fired: true, detectSeconds: null, firstScaleSeconds: 1, recovered: false, resolvedDuringPeak: false },
    ],
    // The first scale-up answering the alert.
    [
      'a scale-up before the alert is not its answer',
      { scaleEvents: [up(5), ...capacity.scaleEvents] },
      { firstScaleSeconds: 1, recoverSeconds: 7 },
    ],
    [
      "a scale-up at the alert's first second takes 0 s",
      { scaleEvents: [up(20), up(33)] },
      { firstScaleSeconds: 0 },
    ],
    // What recovery is measured from: the last scale-up inside the peak, or the drill's fix inside it.
    [
      'a scale-up after the peak is not the reference',
      { scaleEvents: [up(21), up(33), up(80)] },
      { recovered: true, recoverSeconds: 7 },
    ],
    [
      'a scale-up before the peak alone is no reference',
      { scaleEvents: [up(5)] },
      { recovered: false, recoverSeconds: null },
    ],
    [
      "a scale-up at the peak's last second is the reference",
      { scaleEvents: [up(21), up(33), up(70)] },
      { recovered: false },
    ],
    [
      'the last of three scale-ups in the peak is the reference',
      { scaleEvents: [up(21), up(33), up(40)] },
      { recovered: true, recoverSeconds: 0 },
    ],
    [
      'an action before the peak is not the fix',
      { actions: [{ t: 5, what: 'early' }] },
      { recovered: true, recoverSeconds: 7 },
    ],
    [
      "an action at the peak's first second is the fix",
      { actions: [{ t: 10, what: 'fix' }] },
      { recovered: true, recoverSeconds: 0 },
    ],
    [
      'an action after the peak is not the fix',
      { actions: [{ t: 80, what: 'late' }] },
      { recovered: true, recoverSeconds: 7 },
    ],
    [
      "an action at the peak's last second is the fix",
      { actions: [{ t: 70, what: 'fix' }] },
      { recovered: false },
    ],
    // Resolved during the peak: a sample inside the peak's interval, labelled peak, with the alert gone.
    [
      "a peak-labelled sample after the peak's end does not count",
      { samples: changed((s) => ({ phase: peakLabelUntil(72)(s.t), alertActive: s.t >= 20 && s.t < 71 })) },
      { resolvedDuringPeak: false },
    ],
    [
      "the sample at the peak's last second counts",
      { samples: changed((s) => ({ phase: peakLabelUntil(71)(s.t), alertActive: s.t >= 20 && s.t < 70 })) },
      { resolvedDuringPeak: true },
    ],
    [
      'a sample labelled another phase does not count',
      { samples: changed((s) => ({ phase: peakLabelUntil(65)(s.t), alertActive: s.t >= 20 && s.t < 66 })) },
      { resolvedDuringPeak: false },
    ],
    // Scale-downs wait the stabilization window (less the sampling tolerance) after the alert was last active.
    [
      'a scale-down with no alert before it',
      { scaleEvents: [down(5), ...capacity.scaleEvents] },
      { scaleDownAfterStabilization: true },
    ],
    [
      'the alert active again later does not count against an earlier scale-down',
      { samples: alertWhen((t) => (t >= 20 && t < 45) || (t >= 80 && t <= 85)) },
      { scaleDownAfterStabilization: true },
    ],
    [
      'the alert active at the very second of a scale-down counts',
      { samples: alertWhen((t) => (t >= 20 && t < 45) || t === 60), scaleEvents: [up(21), up(33), down(60)] },
      { scaleDownAfterStabilization: false },
    ],
    [
      'every scale-down must wait, not only one',
      { scaleEvents: [up(21), up(33), down(50), down(71)] },
      { scaleDownAfterStabilization: false },
    ],
    [
      'exactly the window less the tolerance (13 s) is enough',
      { scaleEvents: [up(21), up(33), down(57)] },
      { scaleDownAfterStabilization: true },
    ],
    [
      'an empty record',
      { samples: [], scaleEvents: [] },
      { fired: false, maxWorkers: 0, scaledBackToMin: false, scaleDownAfterStabilization: true, scaleUps: 0 },
    ],
  ])('%s', (_name, overrides, expected) => {
    expect(scorecard({ ...capacity, ...overrides })).toMatchObject(expected);
  });

  test('scale-ups while saturated: those inside a saturation interval, both ends included', () => {
    const incident = record({
      samples: samples(100, (t) => ({ saturationActive: t >= 16 && t <= 39 })),
      scaleEvents: [up(10), up(16), up(39), up(45)],
    });
    expect(scorecard(incident)).toMatchObject({ scaleUps: 4, scaleUpsWhileSaturated: 2 });
  });

  test('held for saturation needs the HeldForSaturation Event, not just any Event', () => {
    const held = record({
      samples: samples(100, (t) => ({ alertActive: t >= 18 && t < 48, scalerReason: 'Saturated' })),
      events: [{ t: 19, type: 'Normal', reason: 'HeldForSaturation', message: '...' }],
    });
    expect(scorecard(held).heldForSaturation).toBe(true);
    const other = { ...held, events: [{ t: 19, type: 'Normal', reason: 'ScaledUp', message: '...' }] };
    expect(scorecard(other).heldForSaturation).toBe(false);
  });

  test('activeIntervals: each run of active samples, from its first to its last', () => {
    const active = new Set([1, 2, 3, 6, 7]);
    const intervals = activeIntervals(
      samples(10, (t) => ({ alertActive: active.has(t) })),
      (s) => s.alertActive,
    );
    expect(intervals).toEqual([
      { start: 1, end: 3 },
      { start: 6, end: 7 },
    ]);
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
    expect(p90At(steep, 6)).toBeCloseTo(0.275); // halfway from 4 (0.18) to 8 (0.37)
    expect(p90At(steep, 1)).toBe(0.09);
    expect(p90At(steep, 16)).toBe(0.72); // the last step itself
    expect(p90At(steep, 20)).toBeUndefined();
  });

  test('the chosen peak, whatever order the steps were measured in', () => {
    const chosen = { ok: true, peakVus: 12, p90AtPeakSeconds: 0.43, p90PerWorkerAtMaxSeconds: 0.135 };
    expect(choosePeak(steep, 0.25, 4)).toEqual(chosen);
    expect(choosePeak([...steep].reverse(), 0.25, 4)).toEqual(chosen);
    expect(choosePeak([steep[3]!, steep[0]!, steep[4]!, steep[2]!, steep[1]!], 0.25, 4)).toEqual(chosen);
  });

  test('both margins are met at equality', () => {
    // 8 users fire exactly at FIRE_MARGIN x 0.25 s; over 4 workers each sees 2 users, exactly RECOVER_MARGIN x 0.25 s.
    const atMargins = [step(2, RECOVER_MARGIN * 0.25), step(8, FIRE_MARGIN * 0.25), step(16, 0.9)];
    expect(choosePeak(atMargins, 0.25, 4)).toEqual({
      ok: true,
      peakVus: 8,
      p90AtPeakSeconds: 0.375,
      p90PerWorkerAtMaxSeconds: 0.175,
    });
  });

  test.each([
    [
      'a flat curve',
      [step(2, 0.09), step(32, 0.2), step(64, 0.3)],
      "one worker's p90 stayed under 1.5 x 0.25s up to 64 virtual users (0.300s): the alert could not fire reliably",
    ],
    [
      'no steps at all',
      [],
      "one worker's p90 stayed under 1.5 x 0.25s up to 0 virtual users (-s): the alert could not fire reliably",
    ],
  ])('the reason the alert cannot fire: %s', (_name, steps, reason) => {
    expect(choosePeak(steps, 0.25, 4)).toEqual({ ok: false, reason });
  });

  test('the reason recovery cannot be shown', () => {
    expect(choosePeak(steep, 0.25, 2)).toEqual({
      ok: false,
      reason:
        "at 12 virtual users over 2 workers each worker would see 6, where one worker's p90 is about 0.275s " +
        '(over 0.7 x 0.25s): recovery could not be shown',
    });
  });

  test("routeBuckets: the route's request-duration buckets only, summed over other labels, in bound order", () => {
    const text = [
      '# HELP http_request_duration_seconds the duration',
      'http_request_duration_seconds_bucket{le="+Inf",method="GET",route="/r",status="200"} 12',
      'http_request_duration_seconds_bucket{le="0.5",method="GET",route="/r",status="200"} 9',
      'http_request_duration_seconds_bucket{le="0.1",method="GET",route="/r",status="200"} 4',
      'http_request_duration_seconds_bucket{le="0.1",method="GET",route="/r",status="500"} 1',
      'http_request_duration_seconds_bucket{le="0.1",method="GET",route="/other",status="200"} 99',
      'http_request_duration_seconds_bucket{method="GET",route="/r",status="200"} 77',
      'other_duration_seconds_bucket{le="0.1",route="/r"} 55',
      'http_request_duration_seconds_count{method="GET",route="/r",status="200"} 12',
    ].join('\n');
    expect([...routeBuckets(text, '/r')]).toEqual([
      [0.1, 5],
      [0.5, 9],
      [Infinity, 12],
    ]);
  });

  test("quantileBetween: a rank on a bucket's count is that bucket's bound; in +Inf, the highest finite bound", () => {
    const buckets = (entries: [number, number][]) => new Map(entries);
    const none = buckets([]);
    // 100 observations: 50 up to 0.1 s, none in (0.1, 0.25], 50 in (0.25, 0.5]: the median is 0.1 s.
    const split = buckets([
      [0.1, 50],
      [0.25, 50],
      [0.5, 100],
      [Infinity, 100],
    ]);
    expect(quantileBetween(0.5, none, split)).toBeCloseTo(0.1);
    // 110 observations, 100 of them over 0.5 s: the 90th falls in +Inf.
    const slow = buckets([
      [0.1, 10],
      [0.5, 10],
      [Infinity, 110],
    ]);
    expect(quantileBetween(0.9, none, slow)).toBe(0.5);
    expect(quantileBetween(0.9, none, none)).toBeNaN();
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
