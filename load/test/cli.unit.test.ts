import { chartRows, chartSpec, formatTable, renderSvg, type RunReport } from '../src/report.js';
import { UsageError } from '@concert-booking/lib';
import { k6Environment, parseK6Args, parseLoadArgs, progressLine } from '../src/run.js';
import { stageStats } from '../src/stats.js';

describe('parseLoadArgs', () => {
  const now = new Date('2026-01-02T03:04:05.678Z');

  test('closed model: one stage per VU count', () => {
    const { settings: s, thresholds } = parseLoadArgs(
      ['seat-map', '--stages', '10,50', '--stage-seconds', '5', '--base-url', 'http://h:1'],
      now,
    );
    expect(s.plans).toEqual([
      { load: { model: 'closed', vus: 10 }, durationMs: 5000 },
      { load: { model: 'closed', vus: 50 }, durationMs: 5000 },
    ]);
    expect(s.baseUrl).toBe('http://h:1');
    expect(s.out).toBe('reports/seat-map-2026-01-02T03-04-05-678Z');
    // The alerts' values: BookingHighP90Latency's 0.5 s and the 99% availability objective.
    expect(thresholds).toEqual({ p90Ms: 500, maxFailedRate: 0.01 });
  });

  test('open model: a constant arrival rate', () => {
    const { settings: s, thresholds } = parseLoadArgs(
      [
        'lock-counter',
        '--rate',
        '200',
        '--duration',
        '30',
        '--strategy',
        'redis',
        '--out',
        'x/y',
        '--p90-ms',
        '250',
      ],
      now,
    );
    expect(s.plans).toEqual([{ load: { model: 'open', rate: 200 }, durationMs: 30_000 }]);
    expect(s.strategy).toBe('redis');
    expect(s.out).toBe('x/y');
    expect(thresholds.p90Ms).toBe(250);
  });

  test('bad input names the problem', () => {
    expect(() => parseLoadArgs(['nope'])).toThrow('unknown scenario "nope"');
    expect(() => parseLoadArgs(['seat-map', '--bogus'])).toThrow(UsageError);
    expect(() => parseLoadArgs(['seat-map', '--stages', '10,x'])).toThrow(
      /--stages: expected comma-separated/,
    );
    expect(() => parseLoadArgs(['seat-map', '--max-failed-rate', '2'])).toThrow(/--max-failed-rate must be/);
    expect(() => parseLoadArgs(['seat-map', '--stages', '10', '--rate', '5'])).toThrow(/exclude each other/);
    expect(() => parseLoadArgs(['seat-map', '--stage-seconds', '0'])).toThrow(
      '--stage-seconds must be a number above 0, got "0"',
    );
    expect(() => parseLoadArgs(['booking-flow', '--think-ms=-1'])).toThrow(
      '--think-ms must be a number at least 0, got "-1"',
    );
  });
});

describe('npm run load -- k6', () => {
  test('the script and its -e variables', () => {
    expect(
      parseK6Args(['load/k6/seat-map.ts', '-e', 'STAGES=1,2', '--env', 'EMPTY=', '-e', 'URL=http://h/?a=b']),
    ).toEqual({
      script: 'load/k6/seat-map.ts',
      env: { STAGES: '1,2', EMPTY: '', URL: 'http://h/?a=b' },
    });
    expect(() => parseK6Args([])).toThrow('a script is needed');
    expect(() => parseK6Args(['load/k6/nope.ts'])).toThrow('no such script "load/k6/nope.ts"');
    expect(() => parseK6Args(['load/k6/seat-map.ts', '-e', 'NOEQUALS'])).toThrow(
      '-e must be NAME=VALUE, got "NOEQUALS"',
    );
    expect(() => parseK6Args(['load/k6/seat-map.ts', '--stages', '1'])).toThrow(UsageError);
  });

  test("__ENV: the alerts' thresholds unless the environment or -e says otherwise", () => {
    // BookingHighP90Latency's 0.5 s and the 99% availability objective (monitoring/src/rules.ts).
    expect(k6Environment({ HOME: '/h', UNSET: undefined }, {})).toEqual({
      P90_MS: '500',
      MAX_FAILED_RATE: '0.01',
      HOME: '/h',
    });
    expect(k6Environment({ P90_MS: '800' }, { MAX_FAILED_RATE: '0.05' })).toMatchObject({
      P90_MS: '800',
      MAX_FAILED_RATE: '0.05',
    });
    expect(k6Environment({ P90_MS: '800' }, { P90_MS: '900' }).P90_MS).toBe('900');
  });
});

const report: RunReport = {
  series: 'cache on',
  scenario: 'seat-map',
  baseUrl: 'http://127.0.0.1:8080',
  startedAt: '2026-01-01T00:00:00.000Z',
  settings: {},
  stages: [
    stageStats({
      load: { model: 'closed', vus: 10 },
      elapsedMs: 1000,
      latenciesMs: [1, 2, 3, 4],
      errors: {},
      dropped: 0,
    }),
    stageStats({
      load: { model: 'closed', vus: 50 },
      elapsedMs: 1000,
      latenciesMs: [10, 20],
      errors: { timeout: 2 },
      dropped: 0,
    }),
  ],
};

test('the table has a row per stage with rate, percentiles, timeouts and errors by kind', () => {
  const lines = formatTable(report).split('\n');
  expect(lines[0]).toBe('cache on (seat-map)');
  expect(lines[1]).toMatch(
    /load\s+req\/s\s+requests\s+p50 ms\s+p90 ms\s+p99 ms\s+max ms\s+timeouts\s+errors/,
  );
  expect(lines[2]).toMatch(/^10 VUs\s+4\s+4\s+2\.0\s+4\.0\s+4\.0\s+4\.0\s+0\s+0$/);
  expect(lines[3]).toMatch(/^50 VUs\s+4\s+4\s+10\.0\s+20\.0\s+20\.0\s+20\.0\s+2\s+timeout: 2$/);
});

test('the progress line shows stage, elapsed, rate and p90', () => {
  const line = progressLine({
    stageIndex: 1,
    stageCount: 3,
    load: { model: 'open', rate: 200 },
    elapsedMs: 4200,
    durationMs: 10_000,
    requestsPerSecond: 198,
    p90Ms: 12.34,
    errors: 0,
  });
  expect(line).toBe('[stage 2/3 200/s] 4/10 s  198 req/s  p90 12.3 ms  errors 0');
});

test('the chart plots p50/p90/p99 and throughput against load, and renders to SVG', async () => {
  const rows = chartRows([report]);
  expect(rows).toHaveLength(8);
  expect(rows).toContainEqual({ series: 'cache on', load: 50, panel: 'latency', measure: 'p90', value: 20 });
  expect(rows).toContainEqual({
    series: 'cache on',
    load: 10,
    panel: 'throughput',
    measure: 'req/s',
    value: 4,
  });
  const svg = await renderSvg(chartSpec([report], 'a title'));
  expect(svg).toMatch(/^<svg/);
  for (const text of ['a title', 'virtual users', 'requests per second', 'cache on'])
    expect(svg).toContain(text);
});
