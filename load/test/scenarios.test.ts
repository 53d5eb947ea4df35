import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createScratchDatabase,
  sharedRedisUrl,
  type ScratchDatabase,
} from '@concert-booking/devkit/databases';
import { ProcessGroup, runProcess } from '@concert-booking/devkit/process';
import { seedProcess, serviceProcess } from '@concert-booking/devkit/programs';
import { TEST_ISSUER_DIR } from '@concert-booking/devkit/identity';
import { freePort } from '@concert-booking/devkit/wait';
import { LoadClient, type Answer, type RequestSpec } from '../src/client.js';
import { runStages } from '../src/engine.js';
import type { RunReport } from '../src/report.js';
import { main, parseLoadArgs, runLoad } from '../src/run.js';
import { SCENARIOS } from '../src/scenarios.js';

// Each scenario runs for a few seconds against the real service; the assertions are on outcomes
// (no failed requests, rows written, report files), never on timings.
// The service runs as `npm start` runs it, in processes of its own (load may use the service only that way).
const processes = new ProcessGroup();
let db: ScratchDatabase;
let service: { url: string };
let withRedis: { url: string };
const out = mkdtempSync(join(tmpdir(), 'load-reports-'));

async function startService(env: Record<string, string>): Promise<{ url: string }> {
  const port = await freePort();
  await processes.start(serviceProcess({ ...env, PORT: String(port), MIGRATE_ON_START: 'false' }));
  return { url: `http://127.0.0.1:${port}` };
}

beforeAll(async () => {
  db = await createScratchDatabase();
  await runProcess(seedProcess(db.url, { concerts: 2, timeslotsPerConcert: 2, seatsPerTimeslot: 100 }));
  const env = {
    DATABASE_URL: db.url,
    EXPERIMENTS_ENABLED: 'true',
    QUEUE_ADMIT_INTERVAL_MS: '100',
    QUEUE_TOKEN_SECRET: 'load-test-secret-load-test-secret!',
  };
  [service, withRedis] = await Promise.all([
    startService(env),
    // Only the redis counter strategy needs Redis: the seat maps stay in-process, apart from other suites'.
    startService({ ...env, REDIS_URL: sharedRedisUrl() }),
  ]);
});

afterAll(async () => {
  await processes.stopAll();
  await db?.drop();
  rmSync(out, { recursive: true, force: true });
});

const run = (url: string, args: string[], series?: string): Promise<RunReport> =>
  runLoad(
    parseLoadArgs([...args, '--base-url', url, '--issuer-dir', TEST_ISSUER_DIR, '--out', join(out, 'unused')])
      .settings,
    series,
  );

function expectAllSucceeded(report: RunReport): void {
  for (const stage of report.stages) {
    expect(stage.errors).toEqual({});
    expect(stage.dropped).toBe(0);
    expect(stage.requests).toBeGreaterThan(0);
    expect(stage.latencyMs.count).toBe(stage.requests);
    expect(stage.latencyMs.p50).toBeLessThanOrEqual(stage.latencyMs.p90);
    expect(stage.latencyMs.p90).toBeLessThanOrEqual(stage.latencyMs.p99);
  }
}

test('seat-map, closed then open model, through the command line: tables, JSON and chart written', async () => {
  const log = jest.spyOn(console, 'log').mockImplementation(() => {});
  const prefix = join(out, 'seat-map');
  try {
    const code = await main([
      'seat-map',
      '--stages',
      '2,8',
      '--stage-seconds',
      '2',
      '--base-url',
      service.url,
      '--out',
      prefix,
      // Thresholds are load/test/k6-scripts.test.ts's subject: a busy machine must not fail this one.
      '--p90-ms',
      '60000',
    ]);
    expect(code).toBe(0);
    expect(log.mock.calls.flat().join('\n')).toMatch(/2 VUs .*\n8 VUs /);
  } finally {
    log.mockRestore();
  }
  const [report] = JSON.parse(readFileSync(`${prefix}.json`, 'utf8')) as RunReport[];
  expect(report!.stages.map((s) => s.load)).toEqual([
    { model: 'closed', vus: 2 },
    { model: 'closed', vus: 8 },
  ]);
  expectAllSucceeded(report!);
  const svg = readFileSync(`${prefix}.svg`, 'utf8');
  expect(svg).toMatch(/^<svg/);
  expect(svg).toContain('virtual users');

  const open = await run(service.url, ['seat-map', '--rate', '50', '--duration', '2']);
  expectAllSucceeded(open);
  // About 50 arrivals per second for 2 s (the loop starts every arrival that is due).
  expect(open.stages[0]!.requests).toBeGreaterThanOrEqual(90);
  expect(open.stages[0]!.requests).toBeLessThanOrEqual(101);
});

/** The real client, keeping the path of every request it sends. */
class RecordingClient extends LoadClient {
  readonly paths: string[] = [];
  override request(spec: RequestSpec): Promise<Answer | undefined> {
    this.paths.push(spec.path);
    return super.request(spec);
  }
}

test('seat-map warm-up: every timeslot once before the first stage, none of it counted in the stages', async () => {
  const client = new RecordingClient(service.url, 10_000);
  try {
    const stages = await runStages(
      SCENARIOS['seat-map']!,
      client,
      [{ load: { model: 'closed', vus: 2 }, durationMs: 500 }],
      { strategy: 'atomic', thinkMs: 0, maxInFlight: 10, progressIntervalMs: 1000, warmUp: true },
    );
    const timeslots = (await db.query<{ id: string }>('select id from timeslots order by id')).map(
      (r) => r.id,
    );
    const seatMaps = client.paths.filter((path) => path.endsWith('/seats'));
    const warmUp = seatMaps.slice(0, timeslots.length);
    expect(warmUp.toSorted()).toEqual(timeslots.map((id) => `/v1/timeslots/${id}/seats`).toSorted());
    expect(stages[0]!.errors).toEqual({});
    expect(stages[0]!.requests).toBe(seatMaps.length - timeslots.length);
  } finally {
    client.close();
  }
});

test('lock-counter: every strategy answers, and the counter moved once per request', async () => {
  const counter = async () => {
    const [row] = await db.query<{ value: string }>(
      `select value from experiment_counters where name = 'incident'`,
    );
    return Number(row!.value);
  };
  const before = await counter();
  const pessimistic = await run(service.url, [
    'lock-counter',
    '--stages',
    '4',
    '--stage-seconds',
    '2',
    '--strategy',
    'pessimistic',
  ]);
  const atomic = await run(service.url, [
    'lock-counter',
    '--stages',
    '4',
    '--stage-seconds',
    '2',
    '--strategy',
    'atomic',
  ]);
  const redis = await run(withRedis.url, [
    'lock-counter',
    '--stages',
    '4',
    '--stage-seconds',
    '2',
    '--strategy',
    'redis',
  ]);
  for (const report of [pessimistic, atomic, redis]) expectAllSucceeded(report);
  expect((await counter()) - before).toBe(pessimistic.stages[0]!.requests + atomic.stages[0]!.requests);
});

test('booking-flow: buyers get through the waiting room, hold, charge and pay', async () => {
  const report = await run(service.url, [
    'booking-flow',
    '--stages',
    '4',
    '--stage-seconds',
    '3',
    '--think-ms',
    '20',
  ]);
  // 409 (the seat went to someone else) is an expected answer, not an error.
  expectAllSucceeded(report);
  const count = async (sql: string) => Number((await db.query<{ count: string }>(sql))[0]!.count);
  const payments = await count('select count(*) from payments');
  expect(payments).toBeGreaterThan(0);
  expect(await count(`select count(*) from reservations where status = 'CONFIRMED'`)).toBe(payments);
});
