/**
 * The k6 scripts of load/k6, unchanged, run by `npm run load -- k6` (the compatibility layer, src/k6/) for a few
 * seconds against the real service in a process of its own. Each must pass every check, and the requests its
 * summary counts must be the ones the service counted itself (its /metrics). An unsupported k6 API in a script
 * makes the run exit 107 with the API's name, which fails these tests with the run's output.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createScratchDatabase,
  sharedRedisUrl,
  type ScratchDatabase,
} from '@concert-booking/devkit/databases';
import { ProcessGroup, runProcess } from '@concert-booking/devkit/process';
import { npmScriptProcess, seedProcess, serviceProcess } from '@concert-booking/devkit/programs';
import { freePort } from '@concert-booking/devkit/wait';
import { testIssuer } from '@concert-booking/devkit/identity';
import { TOPUP_SCOPE } from '@concert-booking/lib';
import { Redis } from 'ioredis';
import type { Summary } from '../src/k6/metrics.js';

const group = new ProcessGroup();
let db: ScratchDatabase;
let baseUrl: string;
/** The service's admin port: its /metrics. */
let adminUrl: string;
const dir = mkdtempSync(join(tmpdir(), 'k6-scripts-'));
/** Database 13 of the shared Redis, emptied: the seat maps this service caches stay its own. */
const REDIS_DB = 13;

beforeAll(async () => {
  db = await createScratchDatabase();
  await runProcess(seedProcess(db.url, { concerts: 3, timeslotsPerConcert: 2, seatsPerTimeslot: 100 }));
  const redisUrl = Object.assign(new URL(sharedRedisUrl()), { pathname: `/${REDIS_DB}` }).toString();
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
  const [port, adminPort] = [await freePort(), await freePort()];
  adminUrl = `http://127.0.0.1:${adminPort}`;
  await group.start(
    serviceProcess({
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      PORT: String(port),
      ADMIN_PORT: String(adminPort),
      MIGRATE_ON_START: 'false',
      EXPERIMENTS_ENABLED: 'true',
      QUEUE_ADMIT_INTERVAL_MS: '100',
      QUEUE_TOKEN_SECRET: 'k6-scripts-test-secret-k6-scripts-test',
    }),
  );
  baseUrl = `http://127.0.0.1:${port}`;
}, 120_000);

afterAll(async () => {
  await group.stopAll();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** `METHOD route` -> requests, from the service's own http_request_duration_seconds_count. */
async function requestsByRoute(): Promise<Map<string, number>> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const [, method, route, value] of text.matchAll(
    /^http_request_duration_seconds_count\{method="(\w+)",route="([^"]+)",status="\d+"\} (\d+)$/gm,
  )) {
    // Probes are this test's, not the script's (scrapes are on the admin port, not counted).
    if (route === '/readyz') continue;
    const key = `${method} ${route}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(value));
  }
  return counts;
}

interface ScriptRun {
  code: number | null;
  output: string;
  /** handleSummary's file: k6's end-of-test data. */
  summary: Summary;
  /** handleSummary's stdout line. */
  compact: { requests: number; checksRate: number; failedThresholds: string[] };
  /** What the service counted during the run, by `METHOD route`. */
  seen: Map<string, number>;
}

/**
 * Short stages (ramp to 2 VUs in 1 s, hold 2 s, ramp down in 1 s), and a p90 threshold a busy machine cannot
 * break: latency is not these tests' subject. MAX_FAILED_RATE stays the alerts' (the runner's default).
 */
const SHORT_STAGES = [
  '-e',
  'STAGES=2',
  '-e',
  'STAGE_SECONDS=2',
  '-e',
  'RAMP_SECONDS=1',
  '-e',
  'P90_MS=10000',
];

async function runScript(scenario: string, env: string[]): Promise<ScriptRun> {
  const before = await requestsByRoute();
  const run = group.spawn(
    npmScriptProcess('load', [
      'k6',
      `load/k6/${scenario}.ts`,
      '-e',
      `BASE_URL=${baseUrl}`,
      '-e',
      `SUMMARY_DIR=${dir}`,
      ...env,
    ]),
  );
  const { code } = await run.exited;
  const output = run.output();
  const after = await requestsByRoute();
  const seen = new Map(
    [...after].map(([key, n]) => [key, n - (before.get(key) ?? 0)]).filter(([, n]) => n !== 0) as [
      string,
      number,
    ][],
  );
  const line = output.split('\n').find((l) => l.startsWith(`{"scenario":"${scenario}"`));
  if (!line) throw new Error(`no summary line from ${scenario} (exit ${code}):\n${output}`);
  return {
    code,
    output,
    summary: JSON.parse(readFileSync(join(dir, `${scenario}-summary.json`), 'utf8')) as Summary,
    compact: JSON.parse(line),
    seen,
  };
}

const value = (run: ScriptRun, metric: string, key: string) => run.summary.metrics[metric]?.values[key];
const total = (seen: Map<string, number>) => [...seen.values()].reduce((a, b) => a + b, 0);

/** Every check passed, nothing failed, and every request the summary counts reached the service. */
function expectClean(run: ScriptRun): void {
  expect({ code: run.code, output: run.output }).toEqual({ code: 0, output: expect.any(String) });
  expect(value(run, 'checks', 'fails')).toBe(0);
  expect(value(run, 'checks', 'passes')).toBeGreaterThan(0);
  expect(value(run, 'http_req_failed', 'passes')).toBe(0);
  expect(run.compact.failedThresholds).toEqual([]);
  // The thresholds the script declared, all evaluated, with the alerts' failed-request budget (the default).
  const thresholds = Object.entries(run.summary.metrics).flatMap(([name, metric]) =>
    Object.entries(metric.thresholds ?? {}).map(([expression, { ok }]) => ({
      threshold: `${name}: ${expression}`,
      ok,
    })),
  );
  expect(thresholds.filter((t) => !t.ok)).toEqual([]);
  expect(thresholds.map((t) => t.threshold)).toEqual(
    expect.arrayContaining([
      'checks: rate>0.99',
      expect.stringMatching(/^http_req_failed(\{.*\})?: rate<0\.01$/),
    ]),
  );
  expect(run.compact.requests).toBe(value(run, 'http_reqs', 'count'));
  expect(total(run.seen)).toBe(value(run, 'http_reqs', 'count'));
}

test('seat-map: one seat map per iteration, after finding the timeslots like a client', async () => {
  const run = await runScript('seat-map', SHORT_STAGES);
  expectClean(run);
  const iterations = value(run, 'iterations', 'count')!;
  expect(iterations).toBeGreaterThan(0);
  expect(run.seen.get('GET /v1/timeslots/:timeslotId/seats')).toBe(iterations);
  // Two checks per iteration: status and seats.
  expect(value(run, 'checks', 'passes')).toBe(2 * iterations);
  // setup: the concert list once, then each of the 3 concerts' timeslots.
  expect(run.seen.get('GET /v1/concerts')).toBe(1);
  expect(run.seen.get('GET /v1/concerts/:concertId/timeslots')).toBe(3);
}, 90_000);

test('booking-flow: buyers get through the waiting room, hold, charge and pay', async () => {
  const payments = async () =>
    Number((await db.query<{ n: string }>('select count(*) as n from payments'))[0]!.n);
  const paidBefore = await payments();
  // A buyer per VU (2), signed by the test issuer the service trusts, as `npm run token -- --count` prints them.
  const users = await Promise.all(
    [1, 2].map(async (i) => [900_000 + i, await testIssuer().sign(900_000 + i, { scopes: [TOPUP_SCOPE] })]),
  );
  const run = await runScript('booking-flow', [
    ...SHORT_STAGES,
    '-e',
    'THINK_SECONDS=0.1',
    '-e',
    `USERS=${JSON.stringify(users)}`,
  ]);
  expectClean(run);
  const paid = run.seen.get('POST /v1/payments') ?? 0;
  expect(paid).toBeGreaterThan(0);
  expect((await payments()) - paidBefore).toBe(paid);
  expect(run.seen.get('POST /v1/queue/tokens')).toBe(value(run, 'iterations', 'count'));
}, 90_000);

test('lock-counter: the three strategies one after another, each with its own tagged thresholds', async () => {
  const counter = async () =>
    Number(
      (await db.query<{ value: string }>(`select value from experiment_counters where name = 'incident'`))[0]
        ?.value ?? 0,
    );
  const before = await counter();
  // 1 s per strategy at 2 VUs; the script leaves 5 s between strategies for the graceful ramp-down.
  const run = await runScript('lock-counter', [
    ...['-e', 'STAGES=2', '-e', 'STAGE_SECONDS=1', '-e', 'RAMP_SECONDS=0', '-e', 'P90_MS=10000'],
  ]);
  expectClean(run);
  const byStrategy = Object.fromEntries(
    ['pessimistic', 'atomic', 'redis'].map((s) => {
      const failed = run.summary.metrics[`http_req_failed{strategy:${s}}`]!.values;
      return [s, failed.passes! + failed.fails!];
    }),
  );
  for (const n of Object.values(byStrategy)) expect(n).toBeGreaterThan(0);
  expect(run.seen.get('POST /v1/experiments/counter')).toBe(value(run, 'http_reqs', 'count'));
  // The redis strategy counts in Redis; the other two move the row.
  expect((await counter()) - before).toBe(byStrategy.pessimistic! + byStrategy.atomic!);
  expect(run.summary.metrics['http_req_duration{strategy:atomic}']!.thresholds).toEqual({
    'p(90)<10000': { ok: true },
  });
}, 90_000);

test('a breached threshold makes the k6 run exit 99, like k6, after handleSummary named it', async () => {
  const run = await runScript('seat-map', [
    '-e',
    'STAGES=1',
    '-e',
    'STAGE_SECONDS=1',
    '-e',
    'RAMP_SECONDS=0',
    '-e',
    'P90_MS=0',
  ]);
  expect(run.code).toBe(99);
  expect(run.compact.failedThresholds).toEqual(['http_req_duration: p(90)<0']);
  expect(value(run, 'checks', 'fails')).toBe(0);
}, 90_000);

test('a breached threshold makes the native runner exit 99 too', async () => {
  const run = group.spawn(
    npmScriptProcess('load', [
      'seat-map',
      '--stages',
      '1',
      '--stage-seconds',
      '1',
      '--p90-ms',
      '0.001',
      '--base-url',
      baseUrl,
      '--out',
      join(dir, 'native'),
    ]),
  );
  expect((await run.exited).code).toBe(99);
  expect(run.output()).toMatch(/threshold failed: stage 1 \(1 VUs\): p90 [\d.]+ ms, not below 0\.001 ms/);
}, 90_000);
