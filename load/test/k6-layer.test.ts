/**
 * The k6 compatibility layer (src/k6/): its pure parts against k6's documented semantics, then small scripts
 * run through it against the real service: what it supports behaves like k6, and whatever it does not
 * support fails the run with its name.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScratchDatabase, type ScratchDatabase } from '@concert-booking/devkit/databases';
import { ProcessGroup } from '@concert-booking/devkit/process';
import { serviceProcess } from '@concert-booking/devkit/programs';
import { freePort } from '@concert-booking/devkit/wait';
import { parseDuration } from '../src/k6/duration.js';
import { selectJson } from '../src/k6/json-selector.js';
import { MetricStore, summarize } from '../src/k6/metrics.js';
import { planFromOptions } from '../src/k6/options.js';
import { K6_EXIT, runK6Script, type K6RunResult } from '../src/k6/runner.js';
import { rampingSteps } from '../src/k6/schedule.js';
import { parseThresholds } from '../src/k6/thresholds.js';

describe('options', () => {
  test('durations as k6 writes them, numbers as milliseconds', () => {
    expect(parseDuration('1m30s', 'x')).toBe(90_000);
    expect(parseDuration('1.5s', 'x')).toBe(1500);
    expect(parseDuration('250ms', 'x')).toBe(250);
    expect(parseDuration(0, 'x')).toBe(0);
    expect(() => parseDuration('10', 'stage')).toThrow('stage: "10" is not a duration');
    expect(() => parseDuration('5sec', 'stage')).toThrow(/is not a duration/);
  });

  test("no options: k6's one VU for one iteration; k6's defaults for what a scenario leaves out", () => {
    expect(planFromOptions(undefined).scenarios).toEqual([
      expect.objectContaining({
        name: 'default',
        executor: 'per-vu-iterations',
        vus: 1,
        iterations: 1,
        exec: 'default',
      }),
    ]);
    const [ramping] = planFromOptions({
      scenarios: { s: { executor: 'ramping-vus', stages: [{ duration: '1s', target: 2 }] } },
    }).scenarios;
    expect(ramping).toMatchObject({
      startVUs: 1,
      gracefulRampDownMs: 30_000,
      gracefulStopMs: 30_000,
      startTimeMs: 0,
    });
    expect(planFromOptions({ stages: [{ duration: '2s', target: 3 }], vus: 0 }).scenarios[0]).toMatchObject({
      name: 'default',
      executor: 'ramping-vus',
      startVUs: 0,
      stages: [{ durationMs: 2000, target: 3 }],
    });
  });

  test.each([
    [{ discardResponseBodies: true }, 'options.discardResponseBodies'],
    [{ vus: 10 }, 'options.vus without options.stages'],
    [
      { scenarios: { s: { executor: 'constant-arrival-rate', rate: 1 } } },
      'the executor "constant-arrival-rate"',
    ],
    [{ scenarios: { s: { executor: 'per-vu-iterations', maxVUs: 3 } } }, 'options.scenarios.s.maxVUs'],
    [{ stages: [{ duration: '1s', target: 1, extra: 1 }] }, 'options.scenarios.default.stages[0].extra'],
    [{ thresholds: { data_received: ['count<1'] } }, 'thresholds on the metric "data_received"'],
    [
      { thresholds: { checks: [{ threshold: 'rate>0.9', abortOnFail: true }] } },
      'thresholds written as objects',
    ],
    [{ thresholds: { checks: ['p(90)<1'] } }, 'the aggregation "p(90)" on checks (a rate)'],
  ])('unsupported: %j names %s', (options, name) => {
    expect(() => planFromOptions(options)).toThrow(`the k6 compatibility layer does not support ${name}`);
  });
});

describe('thresholds and the summary', () => {
  test('trends use k6 percentiles (linear between ranks), rates count non-zero samples, tag filters select', () => {
    const store = new MetricStore();
    for (let ms = 1; ms <= 10; ms++) store.add('http_req_duration', ms, { strategy: ms <= 5 ? 'a' : 'b' });
    for (const ok of [1, 1, 1, 0]) store.add('checks', ok, {});
    const thresholds = parseThresholds({
      http_req_duration: ['p(90)<9.2', 'max<10'],
      'http_req_duration{strategy:b}': ['min>=6'],
      checks: ['rate>0.9'],
    });
    const { summary, failed } = summarize(store, thresholds, 2000);
    expect(summary.metrics.http_req_duration!.values).toMatchObject({
      'p(90)': 9.1,
      med: 5.5,
      avg: 5.5,
      min: 1,
      max: 10,
    });
    expect(summary.metrics.http_req_duration!.thresholds).toEqual({
      'p(90)<9.2': { ok: true },
      'max<10': { ok: false },
    });
    expect(summary.metrics['http_req_duration{strategy:b}']!.values.min).toBe(6);
    expect(summary.metrics.checks!.values).toEqual({ rate: 0.75, passes: 3, fails: 1 });
    expect(failed.map((t) => `${t.metricKey}: ${t.expression}`)).toEqual([
      'http_req_duration: max<10',
      'checks: rate>0.9',
    ]);
    expect(summary.state.testRunDurationMs).toBe(2000);
  });

  test("a threshold on a filter no sample matches sees k6's empty values (0)", () => {
    const { summary } = summarize(
      new MetricStore(),
      parseThresholds({ 'http_reqs{name:none}': ['count>0'] }),
      1000,
    );
    expect(summary.metrics['http_reqs{name:none}']).toEqual({
      type: 'counter',
      contains: 'default',
      values: { count: 0, rate: 0 },
      thresholds: { 'count>0': { ok: false } },
    });
  });
});

test('ramping-vus steps: the VU count moves by one at evenly spaced times, a 0 s stage jumps', () => {
  expect(
    rampingSteps(0, [
      { durationMs: 1000, target: 2 },
      { durationMs: 2000, target: 2 },
      { durationMs: 0, target: 4 },
      { durationMs: 1000, target: 0 },
    ]),
  ).toEqual([
    { atMs: 0, vus: 0 },
    { atMs: 500, vus: 1 },
    { atMs: 1000, vus: 2 },
    { atMs: 3000, vus: 3 },
    { atMs: 3000, vus: 4 },
    { atMs: 3250, vus: 3 },
    { atMs: 3500, vus: 2 },
    { atMs: 3750, vus: 1 },
    { atMs: 4000, vus: 0 },
  ]);
});

test('JSON selectors: the GJSON paths scripts use, others refused by name', () => {
  const body = { items: [{ id: 1 }, { id: 2 }, { name: 'x' }], status: { state: 'ACTIVE' } };
  expect(selectJson(body, 'items.#.id')).toEqual([1, 2]);
  expect(selectJson(body, 'items.#')).toBe(3);
  expect(selectJson(body, 'items.1.id')).toBe(2);
  expect(selectJson(body, 'status.state')).toBe('ACTIVE');
  expect(selectJson(body, 'status.missing')).toBeUndefined();
  expect(() => selectJson(body, 'items.#(id>1)')).toThrow(
    'does not support the JSON selector "items.#(id>1)"',
  );
  expect(() => selectJson(body, 'items.@reverse')).toThrow(/JSON selector/);
});

describe('scripts run through the layer', () => {
  // The service runs as `npm start` runs it, in a process of its own (load may use the service only that way).
  const processes = new ProcessGroup();
  let db: ScratchDatabase;
  const service = { url: '' };
  const dir = mkdtempSync(join(tmpdir(), 'k6-layer-'));
  let scripts = 0;

  beforeAll(async () => {
    db = await createScratchDatabase();
    const port = await freePort();
    await processes.start(
      serviceProcess({
        DATABASE_URL: db.url,
        PORT: String(port),
        QUEUE_TOKEN_SECRET: 'k6-layer-test-secret-k6-layer-test!',
      }),
    );
    service.url = `http://127.0.0.1:${port}`;
  }, 120_000);

  afterAll(async () => {
    await processes.stopAll();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(
    source: string,
    env: Record<string, string> = {},
  ): Promise<K6RunResult & { log: string[] }> {
    const script = join(dir, `script-${++scripts}.ts`);
    writeFileSync(script, source);
    const log: string[] = [];
    const result = await runK6Script({
      script,
      env: { BASE_URL: service.url, ...env },
      log: (line) => log.push(line),
      stdout: (text) => log.push(text),
      progressIntervalMs: 60_000,
    });
    return { ...result, log };
  }

  const once = `export const options = { scenarios: { once: { executor: 'per-vu-iterations', vus: 1, iterations: 1 } } };`;

  test.each([
    [
      'a k6 module it lacks',
      `import ws from 'k6/ws';\nexport default function () { ws.connect('x', () => {}); }`,
      'the k6 module "k6/ws"',
    ],
    [
      'an export it lacks',
      `import { randomSeed } from 'k6';\nexport default function () { randomSeed(1); }`,
      '"randomSeed"',
    ],
    [
      'a member of a namespace import',
      `import * as k6 from 'k6';\nexport default function () { k6.randomSeed(1); }`,
      '"randomSeed"',
    ],
    [
      'a remote module',
      `import { textSummary } from 'https://jslib.k6.io/k6-summary/0.0.2/index.js';\nexport default function () { textSummary({}); }`,
      'the module "https://jslib.k6.io/k6-summary/0.0.2/index.js"',
    ],
    [
      'a Node module',
      `import { readFileSync } from 'node:fs';\nexport default function () { readFileSync('x'); }`,
      'the module "node:fs"',
    ],
    [
      'a function of http',
      `import http from 'k6/http';\n${once}\nexport default function () { http.batch([]); }`,
      'http.batch',
    ],
    [
      'a request parameter',
      `import http from 'k6/http';\n${once}\nexport default function () { http.get(__ENV.BASE_URL + '/livez', { redirects: 0 }); }`,
      'http params.redirects',
    ],
    [
      'a response field',
      `import http from 'k6/http';\n${once}\nexport default function () { http.get(__ENV.BASE_URL + '/livez').timings.duration; }`,
      'Response.timings',
    ],
    [
      'an execution field',
      `import exec from 'k6/execution';\n${once}\nexport default function () { exec.test.abort(); }`,
      'exec.test',
    ],
    [
      'an option',
      `export const options = { noConnectionReuse: true };\nexport default function () {}`,
      'options.noConnectionReuse',
    ],
    [
      'a summary field',
      `${once}\nexport default function () {}\nexport function handleSummary(data) { return { stdout: data.root_group.name }; }`,
      'handleSummary data.root_group',
    ],
  ])('%s fails the run with its name', async (_what, source, name) => {
    const result = await run(source);
    expect(result.exitCode).not.toBe(0);
    expect(result.error).toContain(name);
    expect(result.log.join('\n')).toContain(name);
  });

  test('per-vu-iterations: each VU its iterations; __VU, __ITER, exec counters, setup data and scenario env', async () => {
    const result = await run(
      `
      import http from 'k6/http';
      import { check, group } from 'k6';
      import exec from 'k6/execution';
      export const options = {
        scenarios: { each: { executor: 'per-vu-iterations', vus: 2, iterations: 3, env: { WHO: 'scenario' }, tags: { kind: 'probe' } } },
        thresholds: { 'checks{kind:probe}': ['rate==1'], 'http_reqs{group:::probe}': ['count==6'] },
      };
      export function setup() { return { token: 'from-setup' }; }
      export default function (data) {
        group('probe', () => check(http.get(__ENV.BASE_URL + '/livez'), { live: (r) => r.status === 200 }));
        console.log(['it', __VU, __ITER, exec.vu.iterationInScenario, exec.scenario.iterationInTest, exec.scenario.name, data.token, __ENV.WHO, __ENV.BASE].join(' '));
      }
    `,
      { WHO: 'test', BASE: 'kept' },
    );
    expect(result).toMatchObject({ exitCode: 0, failedThresholds: [], iterationErrors: 0 });
    const lines = result.log.filter((l) => l.startsWith('it ')).map((l) => l.split(' '));
    expect(lines).toHaveLength(6);
    for (const vu of ['1', '2']) {
      const own = lines.filter((l) => l[1] === vu);
      expect(own.map((l) => l[2])).toEqual(['0', '1', '2']);
      expect(own.map((l) => l[3])).toEqual(['0', '1', '2']);
    }
    expect(lines.map((l) => Number(l[4])).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    for (const line of lines) expect(line.slice(5)).toEqual(['each', 'from-setup', 'scenario', 'kept']);
    expect(result.summary!.metrics.iterations!.values.count).toBe(6);
  });

  test('ramping-vus: an iteration still running at the end is interrupted after gracefulStop, not awaited', async () => {
    const started = performance.now();
    const result = await run(`
      import http from 'k6/http';
      import { sleep } from 'k6';
      export const options = {
        scenarios: { ramp: { executor: 'ramping-vus', startVUs: 2, stages: [{ duration: '500ms', target: 2 }], gracefulStop: '0s' } },
      };
      export default function () { http.get(__ENV.BASE_URL + '/livez'); sleep(30); }
    `);
    expect(performance.now() - started).toBeLessThan(20_000);
    expect(result.exitCode).toBe(0);
    expect(result.summary!.metrics.http_reqs!.values.count).toBe(2);
    // Interrupted iterations are not completed ones.
    expect(result.summary!.metrics.iterations).toBeUndefined();
  });

  test('an exception in an iteration is logged and counted, and the run goes on; in setup it ends the run', async () => {
    const iteration = await run(`
      import { fail } from 'k6';
      export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 1, iterations: 3 } } };
      export default function () { fail('no luck'); }
    `);
    expect(iteration).toMatchObject({ exitCode: 0, iterationErrors: 3 });
    expect(iteration.log.filter((l) => l.includes('no luck'))).toHaveLength(3);

    const setup = await run(`
      import { fail } from 'k6';
      export function setup() { fail('no timeslots'); }
      export default function () {}
    `);
    expect(setup).toMatchObject({
      exitCode: K6_EXIT.scriptException,
      error: expect.stringContaining('setup: no timeslots'),
    });
  });

  test("Node's globals are not there, as in k6", async () => {
    const result = await run(`
      ${once}
      export default function () { console.log(['globals', typeof process, typeof Buffer, typeof fetch, typeof setImmediate].join(' ')); }
    `);
    expect(result.exitCode).toBe(0);
    expect(result.log).toContain('globals undefined undefined undefined undefined');
  });

  test('a VU that dies (an uncaught error in a timer) ends the run with 107, naming the error', async () => {
    const result = await run(`
      import { sleep } from 'k6';
      export const options = { scenarios: { s: { executor: 'per-vu-iterations', vus: 1, iterations: 100 } } };
      export default function () { setTimeout(() => { throw new Error('boom in a timer'); }, 0); sleep(0.01); }
    `);
    expect(result).toMatchObject({
      exitCode: K6_EXIT.scriptException,
      error: expect.stringContaining('boom in a timer'),
    });
  });

  test('requests in the init context are refused, as k6 refuses them', async () => {
    const result = await run(`
      import http from 'k6/http';
      http.get(__ENV.BASE_URL + '/livez');
      export default function () {}
    `);
    expect(result).toMatchObject({
      exitCode: K6_EXIT.scriptException,
      error: expect.stringContaining('init context'),
    });
  });

  test('http: expected statuses decide http_req_failed; no answer is status 0; headers are canonical', async () => {
    const result = await run(`
      import http from 'k6/http';
      import { check } from 'k6';
      export const options = { scenarios: { once: { executor: 'per-vu-iterations', vus: 1, iterations: 1 } } };
      export default function () {
        const missing = http.get(__ENV.BASE_URL + '/nowhere', { tags: { name: 'missing' } });
        const expected = http.get(__ENV.BASE_URL + '/nowhere', { tags: { name: 'expected' }, responseCallback: http.expectedStatuses(404) });
        const closed = http.get('http://127.0.0.1:1/', { tags: { name: 'closed' }, timeout: '2s' });
        check(missing, { 'a 404': (r) => r.status === 404 && r.headers['Content-Type'] === 'application/problem+json' && r.headers['X-Request-Id'] !== undefined });
        check(closed, { 'no answer': (r) => r.status === 0 && r.body === null });
      }
    `);
    expect(result.exitCode).toBe(0);
    expect(result.summary!.metrics.http_req_failed!.values).toEqual({ rate: 2 / 3, passes: 2, fails: 1 });
    expect(result.summary!.metrics.checks!.values.fails).toBe(0);
    expect(result.log.join('\n')).toMatch(/WARN request failed: GET http:\/\/127\.0\.0\.1:1\//);
  });
});
