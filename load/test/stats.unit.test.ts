import {
  firstFailingStage,
  interpolatedPercentile,
  parseStepList,
  peakThroughputStage,
  percentile,
  ratio,
  stageStats,
  summarize,
  thresholdBreaches,
  type StageStats,
} from '../src/stats.js';

const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('percentile (nearest rank)', () => {
  test.each([
    [50, 500],
    [90, 900],
    [99, 990],
    [99.9, 999],
    [100, 1000],
    [0, 1],
  ])('p%s of 1..1000 is %s', (p, expected) => {
    expect(percentile(oneTo(1000), p)).toBe(expected);
  });

  test('a skewed distribution: 90 fast answers and 10 slow ones', () => {
    const values = [...Array<number>(90).fill(5), ...Array<number>(10).fill(5000)];
    expect(percentile(values, 90)).toBe(5);
    expect(percentile(values, 91)).toBe(5000);
  });

  test('no samples give NaN; p outside 0..100 is refused', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  test('sorts its input and reports mean, percentiles and max', () => {
    const shuffled = oneTo(100).sort((a, b) => ((a * 37) % 101) - ((b * 37) % 101));
    expect(summarize(shuffled)).toEqual({ count: 100, mean: 50.5, p50: 50, p90: 90, p99: 99, max: 100 });
  });

  test('an exponential distribution: percentiles near -ln(1 - p) x mean', () => {
    const n = 100_000;
    // Deterministic quantiles of Exp(mean 10): the i-th of n evenly spaced probabilities.
    const values = Array.from({ length: n }, (_, i) => -10 * Math.log(1 - (i + 0.5) / n));
    const s = summarize(values);
    expect(s.p50).toBeCloseTo(10 * Math.LN2, 2);
    expect(s.p90).toBeCloseTo(10 * Math.log(10), 2);
    expect(s.p99).toBeCloseTo(10 * Math.log(100), 1);
    expect(s.mean).toBeCloseTo(10, 1);
  });
});

describe('stageStats', () => {
  test('counts answered and unanswered requests, rates and timeouts', () => {
    const stats = stageStats({
      load: { model: 'closed', vus: 10 },
      elapsedMs: 2000,
      latenciesMs: oneTo(96),
      errors: { timeout: 3, connection: 1, 'http 503': 2, check: 1 },
      dropped: 0,
    });
    // 96 answered (3 of them failed: 503 x2, check) + 4 unanswered.
    expect(stats.requests).toBe(100);
    expect(stats.requestsPerSecond).toBe(50);
    expect(stats.errorCount).toBe(7);
    expect(stats.errorRate).toBeCloseTo(0.07);
    expect(stats.timeouts).toBe(3);
    expect(stats.latencyMs.p50).toBe(48);
  });

  test('the first failing stage is where errors reach the threshold or arrivals were dropped', () => {
    const at = (vus: number, errors: Record<string, number>, dropped = 0): StageStats =>
      stageStats({
        load: { model: 'closed', vus },
        elapsedMs: 1000,
        latenciesMs: oneTo(100),
        errors,
        dropped,
      });
    const stages = [at(10, {}), at(50, { timeout: 1 }), at(100, { timeout: 5 }), at(200, {}, 3)];
    expect(firstFailingStage(stages)?.load).toEqual({ model: 'closed', vus: 100 });
    expect(firstFailingStage(stages, 0.5)?.load).toEqual({ model: 'closed', vus: 200 });
    expect(firstFailingStage(stages.slice(0, 2))).toBeUndefined();
  });
});

test('parseStepList takes positive integers only', () => {
  expect(parseStepList('10, 50,100')).toEqual([10, 50, 100]);
  for (const bad of ['', '10,,20', '0', '-5', '1.5', 'ten'])
    expect(() => parseStepList(bad)).toThrow(/positive integers/);
});

test('ratio is b/a, NaN without a positive base', () => {
  expect(ratio(319, 5000)).toBeCloseTo(15.67, 2);
  expect(ratio(0, 5)).toBeNaN();
});

test('peakThroughputStage is the stage with the most requests per second', () => {
  const at = (vus: number, requests: number): StageStats =>
    stageStats({
      load: { model: 'closed', vus },
      elapsedMs: 1000,
      latenciesMs: oneTo(requests),
      errors: {},
      dropped: 0,
    });
  expect(peakThroughputStage([at(10, 100), at(50, 300), at(100, 280)])?.load).toEqual({
    model: 'closed',
    vus: 50,
  });
  expect(peakThroughputStage([])).toBeUndefined();
});

test("interpolatedPercentile is k6's: linear between the closest ranks, 0 for no values", () => {
  expect(interpolatedPercentile(oneTo(10), 90)).toBeCloseTo(9.1, 10);
  expect(interpolatedPercentile(oneTo(10), 50)).toBe(5.5);
  expect(interpolatedPercentile([7], 99)).toBe(7);
  expect(interpolatedPercentile([], 90)).toBe(0);
  expect(() => interpolatedPercentile([1], 101)).toThrow(RangeError);
});

test('thresholdBreaches names each stage at or above the p90 or failed-rate threshold', () => {
  const stage = (vus: number, latenciesMs: number[], errors: Record<string, number>) =>
    stageStats({ load: { model: 'closed', vus }, elapsedMs: 1000, latenciesMs, errors, dropped: 0 });
  const stages = [
    stage(10, oneTo(100), {}),
    stage(
      50,
      oneTo(100).map((v) => v * 10),
      { timeout: 2 },
    ),
  ];
  expect(thresholdBreaches(stages, { p90Ms: 500, maxFailedRate: 0.01 })).toEqual([
    'stage 2 (50 VUs): p90 900.0 ms, not below 500 ms',
    'stage 2 (50 VUs): 1.96% failed, not below 1%',
  ]);
  expect(thresholdBreaches(stages, { p90Ms: 901, maxFailedRate: 0.02 })).toEqual([]);
  // No answer at all: the failures speak, not a p90 of nothing.
  expect(thresholdBreaches([stage(1, [], { connection: 3 })], { p90Ms: 500, maxFailedRate: 0.01 })).toEqual([
    'stage 1 (1 VUs): 100.00% failed, not below 1%',
  ]);
});
