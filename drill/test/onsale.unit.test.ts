// The onsale scenario's pure parts by table: the per-worker admission from the calibration, the rank correlation
// that says whether the pre-queue was shuffled, and the scorecard over a synthetic run.
import type { CalibrationStep } from '../src/calibration.js';
import {
  admitPerReplica,
  onSaleScorecard,
  ranks,
  spearman,
  type OnSaleRecord,
  type SaleSample,
} from '../src/onsale.js';
import type { Sample } from '../src/record.js';

const step = (vus: number, requestsPerSecond: number, serverP90Seconds: number): CalibrationStep => ({
  vus,
  requestsPerSecond,
  serverP90Seconds,
  clientP90Ms: serverP90Seconds * 1000,
});
const RAMP = [step(2, 20, 0.05), step(4, 36, 0.1), step(8, 40, 0.2), step(16, 41, 0.45)];

test.each([
  // threshold 0.25: steps up to 0.175 s count; the best is 36 req/s -> 3 users of 10 reads a second.
  [RAMP, 0.25, 10, 1000, { ok: true, perReplica: 3, requestsPerSecond: 36, vus: 4, p90Seconds: 0.1 }],
  // a looser threshold takes the 40 req/s step; a 2 s round admits twice as many
  [RAMP, 0.5, 10, 2000, { ok: true, perReplica: 8, requestsPerSecond: 40, vus: 8, p90Seconds: 0.2 }],
  [RAMP, 0.05, 10, 1000, { ok: false }],
  [[step(2, 5, 0.05)], 0.25, 10, 1000, { ok: false }],
] as const)('admitPerReplica(%#)', (steps, threshold, reads, roundMs, expected) => {
  expect(admitPerReplica(steps, threshold, reads, roundMs)).toMatchObject(expected);
});

test.each([
  [[1, 2, 3, 4], [1, 2, 3, 4], 1],
  [[1, 2, 3, 4], [4, 3, 2, 1], -1],
  [[1, 2, 3, 4, 5], [4, 1, 3, 5, 2], 0],
])('spearman(%j, %j) = %d', (a, b, rho) => {
  expect(spearman(a, b)).toBeCloseTo(rho, 5);
});

test('ranks: 1-based, smallest first', () => {
  expect(ranks([30, 10, 20])).toEqual([3, 1, 2]);
});

function sample(t: number, fields: Partial<Sample>): Sample {
  return {
    t,
    phase: 'open',
    vus: 0,
    p90: 0.1,
    rate: 10,
    p90Rule: 'inactive',
    alertActive: false,
    saturationActive: false,
    poolWaiting: 0,
    cacheEnabled: false,
    desiredWorkers: 4,
    runningWorkers: 4,
    scalerReason: null,
    ...fields,
  };
}

function run(overrides: { sale?: SaleSample[]; samples?: Sample[] } = {}): OnSaleRecord {
  const sale: SaleSample[] = overrides.sale ?? [
    { t: 40, admittedTotal: 0, waiting: 3, admissionRate: 1, listeningWorkers: 4, salePhase: 'PreQueue' },
    { t: 60, admittedTotal: 0, waiting: 3, admissionRate: 4, listeningWorkers: 4, salePhase: 'Open' },
    { t: 61, admittedTotal: 3, waiting: 0, admissionRate: 4, listeningWorkers: 4, salePhase: 'Open' },
  ];
  return {
    scenario: {
      name: 'onsale',
      startedAt: '2026-12-01T18:00:00.000Z',
      thresholdSeconds: 0.25,
      policy: {
        minReplicas: 4,
        maxReplicas: 4,
        upCooldownSeconds: 1,
        stabilizationSeconds: 1,
        downCooldownSeconds: 1,
      },
      settings: {},
      phases: [],
      actions: [],
      // Before opensAt p90 does not count.
      samples: overrides.samples ?? [
        sample(50, { p90: 0.9 }),
        sample(60, { p90: 0.12 }),
        sample(61, { p90: 0.2 }),
      ],
      scaleEvents: [],
      events: [],
    },
    opensAtSeconds: 60,
    perReplica: { ok: true, perReplica: 3, requestsPerSecond: 36, vus: 4, p90Seconds: 0.1 },
    sale,
    users: [
      { id: 1, joinedAt: 20, preQueued: true, firstPosition: 2, promisedAt: 1, admittedAt: 2 },
      { id: 2, joinedAt: 21, preQueued: true, firstPosition: 3, promisedAt: 1, admittedAt: 2 },
      { id: 3, joinedAt: 22, preQueued: true, firstPosition: 1, promisedAt: 1, admittedAt: 2 },
      { id: 4, joinedAt: 62, preQueued: false, failure: 'still waiting when the drill ended' },
    ],
    etaErrorBuckets: [
      [0.5, 2],
      [1, 3],
      [Infinity, 3],
    ],
  };
}

test('the scorecard of a sale that pre-scaled and kept p90 under the threshold', () => {
  expect(onSaleScorecard(run(), 4)).toEqual({
    perReplica: 3,
    minWorkers: 4,
    preScaledSecondsBeforeOpen: 20,
    preScaledBeforeOpen: true,
    maxP90Seconds: 0.2,
    p90UnderThreshold: true,
    p90AlertFired: false,
    users: 4,
    admitted: 3,
    failures: 1,
    peakWaiting: 3,
    maxAdmittedPerSecond: 3,
    etaErrorP50Seconds: 0.38,
    etaErrorP90Seconds: 0.85,
    shuffleRankCorrelation: -0.5,
  });
});

test('late workers, a p90 over the threshold and the alert are seen', () => {
  const card = onSaleScorecard(
    run({
      sale: [
        { t: 40, admittedTotal: 0, waiting: 3, admissionRate: 1, listeningWorkers: 2, salePhase: 'PreQueue' },
        { t: 65, admittedTotal: 1, waiting: 2, admissionRate: 1, listeningWorkers: 4, salePhase: 'Open' },
      ],
      samples: [sample(60, { p90: 0.3, alertActive: true })],
    }),
    4,
  );
  expect(card).toMatchObject({
    preScaledBeforeOpen: false,
    preScaledSecondsBeforeOpen: null,
    maxP90Seconds: 0.3,
    p90UnderThreshold: false,
    p90AlertFired: true,
  });
});
