/**
 * Benchmark (not a test): `npm run bench:seatmap`. On a catalog of 1M seats (100 concerts x
 * 20 timeslots x 500 seats, in database `bench_seat_map` of the scripts/services.sh Postgres,
 * generated once), one run measures side by side:
 *   (a) the seat map with no index on seats.timeslot_id and no cache: the incident's slow query
 *   (b) indexed, no cache
 *   (c) cached (in-process layer in front of Redis)
 *   (d) a bare Koa handler returning the same bytes from memory: the ceiling
 * and prints requests/s, p50/p90/p99 and the ratios. Each service runs in a child process;
 * autocannon drives it from this one. (c) and (d) alternate for BENCH_ROUNDS rounds (default 3)
 * and the run with the median throughput of each is reported, so a noisy moment on a shared
 * machine does not land on one side only. Every process it starts stops with it (devkit's harness).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { numberFlag, parseOrExit } from '@concert-booking/lib';
import type { BenchRow } from './rows.js';

const command = {
  name: 'npm run bench:seatmap --',
  usage: '[--seconds 10] [--connections 32] [--rounds 3]',
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
  },
} as const;
const { SECONDS, CONNECTIONS, ROUNDS } = parseOrExit(command, process.argv.slice(2), ({ values }) => ({
  SECONDS: numberFlag('seconds', values.seconds, { integer: true }),
  CONNECTIONS: numberFlag('connections', values.connections, { integer: true }),
  ROUNDS: numberFlag('rounds', values.rounds, { integer: true }),
}));

// Imported once the command line is known good: --help and a bad flag answer at once.
const { localServices } = await import('@concert-booking/devkit/local-services');
const { ProcessGroup } = await import('@concert-booking/devkit/process');
const { ROOT, serviceProcess } = await import('@concert-booking/devkit/programs');
const { freePort } = await import('@concert-booking/devkit/wait');
const { default: autocannon } = await import('autocannon');
const { default: knexFactory } = await import('knex');
const { generateCatalog } = await import('../src/db/generate.js');
const { createDatabase } = await import('../src/db/knex.js');
const { markdownTable, rowFromAutocannon } = await import('./rows.js');
const HOT_TIMESLOTS = 10;
const VOLUME = { concerts: 100, timeslotsPerConcert: 20, seatsPerTimeslot: 500 };
const DATABASE = 'bench_seat_map';

const env = localServices();
const databaseUrl = Object.assign(new URL(env.DATABASE_URL!), { pathname: `/${DATABASE}` }).toString();

async function prepareCatalog() {
  const admin = knexFactory({ client: 'pg', connection: env.DATABASE_URL, pool: { min: 0, max: 1 } });
  const exists = await admin('pg_database').where({ datname: DATABASE }).first();
  if (!exists) await admin.raw(`create database ${DATABASE}`);
  await admin.destroy();
  const db = createDatabase({
    url: databaseUrl,
    poolMin: 0,
    poolMax: 2,
    acquireTimeoutMs: 60_000,
    statementTimeoutMs: 0,
  });
  await db.migrate.latest();
  const [{ count }] = (await db('seats').count({ count: '*' })) as [{ count: string }];
  const expected = VOLUME.concerts * VOLUME.timeslotsPerConcert * VOLUME.seatsPerTimeslot;
  if (Number(count) !== expected) {
    console.error(`generating ${expected.toLocaleString()} seats (once)...`);
    await db.raw('truncate concerts cascade');
    await generateCatalog(db, VOLUME, (seats, total) =>
      console.error(`  ${seats.toLocaleString()} of ${total.toLocaleString()} seats`),
    );
    await db.raw('analyze');
  }
  return db;
}

const db = await prepareCatalog();
const timeslots = (await db('timeslots').orderBy('id').limit(HOT_TIMESLOTS).select('id')).map((row) =>
  Number(row.id),
);
const setIndex = async (present: boolean) => {
  await db.raw('alter table seats drop constraint if exists seats_timeslot_number_key');
  if (present)
    await db.raw('alter table seats add constraint seats_timeslot_number_key unique (timeslot_id, number)');
  await db.raw('analyze seats');
};

const median = (runs: BenchRow[]) =>
  [...runs].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(runs.length / 2)]!;

async function measure(name: string, port: number): Promise<BenchRow> {
  console.error(`${name}: ${SECONDS} s of load...`);
  let next = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          path: `/v1/timeslots/${timeslots[next++ % timeslots.length]}/seats`,
        }),
      },
    ],
  });
  const row = rowFromAutocannon(name, result);
  console.log(`${name}: ${row.perSecond.toFixed(0)} req/s, p90 ${row.p90} ms, errors ${row.errors}`);
  return row;
}

const processes = new ProcessGroup();
processes.interruptible();

async function withService(name: string, extraEnv: Record<string, string>): Promise<BenchRow> {
  const port = await freePort();
  const service = await processes.start(
    serviceProcess({
      DATABASE_URL: databaseUrl,
      REDIS_URL: env.REDIS_URL!,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      MIGRATE_ON_START: 'false',
      QUEUE_TOKEN_SECRET: 'bench-secret-bench-secret-bench-secret',
      ...extraEnv,
    }),
  );
  try {
    return await measure(name, port);
  } finally {
    await service.stop();
  }
}

async function withBareKoa(): Promise<BenchRow> {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'seat-map-')), 'seat-map.json');
  const { findSeatMap } = await import('../src/catalog/queries.js');
  writeFileSync(file, JSON.stringify(await findSeatMap(db, timeslots[0]!)));
  const port = await freePort();
  const bare = await processes.start({
    name: 'bare koa',
    command: process.execPath,
    args: ['--import', 'tsx', 'service/bench/bare-koa.ts'],
    cwd: ROOT,
    env: { PORT: String(port), SEAT_MAP_FILE: file },
    ready: { url: `http://127.0.0.1:${port}/` },
  });
  try {
    return await measure('(d) bare Koa, bytes from memory', port);
  } finally {
    await bare.stop();
  }
}

try {
  await setIndex(false);
  const slow = await withService('(a) no index, no cache', { SEATMAP_CACHE_ENABLED: 'false' });
  await setIndex(true);
  const indexed = await withService('(b) index, no cache', { SEATMAP_CACHE_ENABLED: 'false' });
  const cachedRuns: BenchRow[] = [];
  const ceilingRuns: BenchRow[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    cachedRuns.push(await withService('(c) index, cache', { SEATMAP_CACHE_ENABLED: 'true' }));
    ceilingRuns.push(await withBareKoa());
  }
  const cached = median(cachedRuns);
  const ceiling = median(ceilingRuns);
  const rows = [slow, indexed, cached, ceiling];

  console.log(
    `\nSeat map: ${SECONDS} s per run, (c) and (d) the median of ${ROUNDS} alternating rounds, ` +
      `${CONNECTIONS} connections, ${HOT_TIMESLOTS} hot timeslots of 500 seats, 1M seats in all\n`,
  );
  console.log(markdownTable('variant', rows));
  const x = (a: number, b: number) => (b > 0 ? (a / b).toFixed(a / b >= 10 ? 0 : 2) : 'n/a');
  console.log('\n| ratio | value | target |');
  console.log('|---|---:|---:|');
  console.log(
    `| throughput (c)/(d), cache vs ceiling | ${x(cached.perSecond, ceiling.perSecond)} | >= 0.9 |`,
  );
  console.log(
    `| throughput (c)/(a), cache vs slow query | ${x(cached.perSecond, slow.perSecond)} | >= 100 |`,
  );
  console.log(`| throughput (b)/(a), index vs slow query | ${x(indexed.perSecond, slow.perSecond)} | |`);
  console.log(`| p90 (a)/(c), slow query vs cache | ${x(slow.p90, cached.p90)} | |`);
} finally {
  await processes.stopAll();
  await setIndex(true);
  await db.destroy();
}
