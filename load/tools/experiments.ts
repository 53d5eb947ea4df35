/**
 * `npm run experiments`: the incident document's experiments on this machine, one after another, each
 * against a fresh service process (the load runs in this process, the service in its own):
 *   1+2. seat map, slow query (SEATMAP_CACHE_ENABLED=false, no index on seats.timeslot_id) vs cache on,
 *        at rising virtual users: p90 and throughput ratios, and where errors or timeouts begin
 *   3.   POST /v1/experiments/counter?strategy=pessimistic|atomic|redis against virtual users
 *   4.   WORKERS=0 vs WORKERS=2 (node:cluster), seat map with the cache on
 * Every series starts with the scenario's unmeasured warm-up (each seat map requested once, for the cache-off
 * series too, so both read the same buffer cache), and every stage waits until the service has drained the
 * previous one.
 * Needs DATABASE_URL (a database of its own: the seats' (timeslot_id, number) constraint is DROPPED there)
 * and REDIS_URL. Writes reports/experiments/*.json (service logs: service.log) and the charts to docs/images/.
 * See docs/experiments.md.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { parseOrExit, type CommandLine } from '@concert-booking/lib';
import type { RunReport } from '../src/report.js';
import type { StageStats } from '../src/stats.js';

const COMMAND: CommandLine<Record<string, never>> = {
  name: 'npm run experiments',
  usage: `   (no flags; DATABASE_URL and REDIS_URL required, EXPERIMENT_STAGE_SECONDS=10, in the environment)
  The incident document's experiments, one after another (some ten minutes): see docs/experiments.md.`,
  options: {},
};
parseOrExit(COMMAND, process.argv.slice(2));
// Imported once the command line is known good: --help and a bad flag answer at once.
const { ProcessGroup } = await import('@concert-booking/devkit/process');
const { serviceProcess } = await import('@concert-booking/devkit/programs');
const { freePort } = await import('@concert-booking/devkit/wait');
const { default: pg } = await import('pg');
const { formatTable, writeReport } = await import('../src/report.js');
const { progressLine, runLoad } = await import('../src/run.js');
const { STRATEGIES } = await import('../src/scenarios.js');
const { firstFailingStage, loadLabel, peakThroughputStage, ratio } = await import('../src/stats.js');

const databaseUrl = process.env.DATABASE_URL;
const redisBase = process.env.REDIS_URL;
if (!databaseUrl || !redisBase) {
  console.error('DATABASE_URL and REDIS_URL are required: see docs/experiments.md');
  process.exit(2);
}
/** A Redis database of its own, flushed before each service: no seat map of another database leaks in. */
const redisUrl = Object.assign(new URL(redisBase), { pathname: '/9' }).toString();

// 100..1000 are the incident document's k6 steps (load/k6: STAGES); 600 is needed to see its 600 -> 800 shift.
const SEAT_MAP_VUS = [10, 50, 100, 200, 400, 600, 800, 1000];
const LOCK_VUS = [10, 50, 100, 200, 400];
const WORKER_VUS = [50, 200, 800];
const STAGE_SECONDS = Number(process.env.EXPERIMENT_STAGE_SECONDS ?? 10);
const TIMEOUT_MS = 10_000;
const DRAIN_LIMIT_MS = 60_000;
const QUICK_READY_MS = 50;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

mkdirSync('reports/experiments', { recursive: true });
/** The services it starts stop with it, however it ends. */
const processes = new ProcessGroup();
processes.interruptible();

async function flushRedis(): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
}

/** The service as `npm start` runs it, in its own process, ready. */
async function startService(env: Record<string, string>): Promise<{ url: string; stop(): Promise<unknown> }> {
  await flushRedis();
  const port = await freePort();
  const service = await processes.start({
    ...serviceProcess({
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      PORT: String(port),
      ADMIN_PORT: String(await freePort()),
      QUEUE_TOKEN_SECRET: 'experiments-secret-experiments-secret',
      EXPERIMENTS_ENABLED: 'true',
      ...env,
    }),
    // The service's own logs (pool timeouts under the slow query are expected) go to a file, not the tables.
    logFile: 'reports/experiments/service.log',
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => service.stop() };
}

/**
 * Before each stage, waits until the service has worked off the previous one. Requests the load generator
 * gave up on (timeouts) keep running in the service, queued for a pool connection or scanning until the
 * statement timeout; without this wait the next stage would start behind that backlog. /readyz runs
 * `select 1` through the same pool, so two quick answers in a row mean its queue is empty.
 */
async function drained(url: string): Promise<void> {
  const begin = performance.now();
  for (let quick = 0; quick < 2;) {
    if (performance.now() - begin > DRAIN_LIMIT_MS) {
      console.error(`   WARNING: service still busy ${DRAIN_LIMIT_MS / 1000} s after the stage; going on`);
      return;
    }
    const sent = performance.now();
    const ok = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) }).then(
      (r) => r.ok,
      () => false,
    );
    quick = ok && performance.now() - sent < QUICK_READY_MS ? quick + 1 : 0;
    if (quick < 2) await sleep(200);
  }
  const waited = performance.now() - begin;
  if (waited > 1000) console.error(`   drained in ${(waited / 1000).toFixed(1)} s`);
}

/** One scenario through closed-model stages of `vus`, against a fresh service started with `env`. */
async function measure(
  series: string,
  env: Record<string, string>,
  scenario: string,
  vus: number[],
  strategy = 'atomic',
): Promise<RunReport> {
  const service = await startService(env);
  try {
    const load = loadAverage();
    console.error(`-- ${series} (load average ${load}; warming up)`);
    const plans = vus.map((n) => ({
      load: { model: 'closed' as const, vus: n },
      durationMs: STAGE_SECONDS * 1000,
    }));
    const settings = {
      scenario,
      baseUrl: service.url,
      plans,
      timeoutMs: TIMEOUT_MS,
      maxInFlight: 10_000,
      strategy,
      thinkMs: 0,
      out: '',
      warmUp: true,
    };
    const measured = await runLoad(
      settings,
      series,
      (p) => process.stderr.write(`   ${progressLine(p)}\n`),
      () => drained(service.url),
    );
    const report = { ...measured, settings: { ...measured.settings, loadAverageAtStart: load } };
    console.log(`${formatTable(report)}\n(load average at the start: ${load})\n`);
    return report;
  } finally {
    await service.stop();
  }
}

async function save(name: string, reports: RunReport[], title: string): Promise<void> {
  const paths = await writeReport(`reports/experiments/${name}`, reports, title);
  mkdirSync('docs/images', { recursive: true });
  copyFileSync(paths.svg, `docs/images/${name}.svg`);
  console.log(`wrote ${paths.json}, docs/images/${name}.svg\n`);
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toFixed(v >= 10 ? 0 : 1) : '-');
const failed = (s: StageStats) => `${(s.errorRate * 100).toFixed(1)} % failed`;
const byLoad = (report: RunReport, stage: StageStats) =>
  report.stages.find((s) => loadLabel(s.load) === loadLabel(stage.load));

function ratioTable(slow: RunReport, fast: RunReport): string {
  const rows = slow.stages.map((s) => {
    const f = byLoad(fast, s)!;
    return `${loadLabel(s.load).padStart(8)}  p90 ${fmt(s.latencyMs.p90).padStart(6)} -> ${fmt(f.latencyMs.p90).padStart(5)} ms (x${fmt(ratio(f.latencyMs.p90, s.latencyMs.p90))})  req/s ${fmt(s.requestsPerSecond).padStart(5)} -> ${fmt(f.requestsPerSecond).padStart(5)} (x${fmt(ratio(s.requestsPerSecond, f.requestsPerSecond))})  ${failed(s)} -> ${failed(f)}`;
  });
  return [`${slow.series} -> ${fast.series}`, ...rows].join('\n');
}

function capacity(report: RunReport): string {
  const failing = firstFailingStage(report.stages);
  return `${report.series}: ${failing ? `errors or timeouts from ${loadLabel(failing.load)} (${(failing.errorRate * 100).toFixed(1)} %: ${JSON.stringify(failing.errors)})` : `no errors up to ${loadLabel(report.stages.at(-1)!.load)}`}`;
}

/** Drops the (timeslot_id, number) constraint: the seat-map query becomes the incident's full scan. */
async function withoutTimeslotIndex(): Promise<number> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query('alter table seats drop constraint if exists seats_timeslot_number_key');
    await db.query('analyze seats');
    const { rows } = await db.query<{ n: string; indexes: string }>(
      `select (select count(*) from seats) as n, (select string_agg(indexname, ', ') from pg_indexes where tablename = 'seats') as indexes`,
    );
    console.log(`seats: ${rows[0]!.n}, indexes on seats: ${rows[0]!.indexes}`);
    return Number(rows[0]!.n);
  } finally {
    await db.end();
  }
}

const started = Date.now();
console.log(
  `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${loadAverage()}`,
);
await withoutTimeslotIndex();

const cacheOff = await measure(
  'cache off (no index)',
  { SEATMAP_CACHE_ENABLED: 'false' },
  'seat-map',
  SEAT_MAP_VUS,
);
const cacheOn = await measure('cache on', { SEATMAP_CACHE_ENABLED: 'true' }, 'seat-map', SEAT_MAP_VUS);
await save(
  'experiment-1-seat-map-cache',
  [cacheOff, cacheOn],
  'Seat map: slow query vs cache (1M seats, no timeslot index)',
);
console.log(`${ratioTable(cacheOff, cacheOn)}\n`);
console.log(`capacity\n${capacity(cacheOff)}\n${capacity(cacheOn)}\n`);

const locks: RunReport[] = [];
for (const strategy of STRATEGIES)
  locks.push(await measure(strategy, {}, 'lock-counter', LOCK_VUS, strategy));
await save('experiment-3-lock-counter', locks, 'Lock experiment: one hot counter, three strategies');
for (const r of locks) {
  const peak = peakThroughputStage(r.stages)!;
  console.log(
    `${r.series}: peak ${fmt(peak.requestsPerSecond)} req/s at ${loadLabel(peak.load)}; ${capacity(r)}`,
  );
}

const one = await measure('1 process', { WORKERS: '0' }, 'seat-map', WORKER_VUS);
const two = await measure('2 workers', { WORKERS: '2' }, 'seat-map', WORKER_VUS);
await save('experiment-4-workers', [one, two], 'Seat map with the cache: one process vs two workers');
console.log(`\n${ratioTable(one, two)}\n${capacity(one)}\n${capacity(two)}`);
console.log(`\ndone in ${((Date.now() - started) / 60_000).toFixed(1)} min; load average ${loadAverage()}`);
