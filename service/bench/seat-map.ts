/**
 * Benchmark (not a test): `npm run bench:seatmap`. On a catalog of 1M seats (100 concerts x
 * 20 timeslots x 500 seats, in database `bench_seat_map` of the scripts/services.sh Postgres,
 * generated once), one run measures side by side:
 *   (a) the seat map with no index on seats.timeslot_id and no cache: the incident's slow query
 *   (b) indexed, no cache
 *   (c) cached (in-process layer in front of Redis)
 *   (d) a bare Koa handler returning each timeslot's same bytes from memory: the ceiling
 * (c) and (d) once uncompressed and once with `Accept-Encoding: gzip` (the bare handler sending the bytes
 * the service's fill made, from memory too), and
 *   (e) the cached service behind a caching proxy (nginx, devkit/src/caching-proxy.ts) with
 *       --proxy-connections clients: requests/s the clients got, and how many reached the origin,
 *       counted by the service's own latency histogram
 * and prints requests/s, p50/p90/p99, bytes per response and the ratios. Each service runs in a child
 * process; autocannon drives it from this one. (c) and (d) alternate for --rounds rounds and the run with
 * the median throughput of each is reported, so a noisy moment on a shared machine does not land on one
 * side only. Every process it starts stops with it (devkit's harness).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { METRICS, numberFlag, parseOrExit } from '@concert-booking/lib';
import type { BenchRow } from './rows.js';

const command = {
  name: 'npm run bench:seatmap --',
  usage: '[--seconds 10] [--warm-up 8] [--connections 32] [--rounds 3] [--proxy-connections 1000]',
  options: {
    seconds: { type: 'string', default: '10' },
    /** Seconds of load before each measured run: V8's background compilation settles after about 7. */
    'warm-up': { type: 'string', default: '8' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    'proxy-connections': { type: 'string', default: '1000' },
  },
} as const;
const { SECONDS, WARM_UP_SECONDS, CONNECTIONS, ROUNDS, PROXY_CONNECTIONS } = parseOrExit(
  command,
  process.argv.slice(2),
  ({ values }) => ({
    SECONDS: numberFlag('seconds', values.seconds, { integer: true }),
    WARM_UP_SECONDS: numberFlag('warm-up', values['warm-up'], { integer: true }),
    CONNECTIONS: numberFlag('connections', values.connections, { integer: true }),
    ROUNDS: numberFlag('rounds', values.rounds, { integer: true }),
    PROXY_CONNECTIONS: numberFlag('proxy-connections', values['proxy-connections'], {
      integer: true,
      max: 5000,
    }),
  }),
);

// Imported once the command line is known good: --help and a bad flag answer at once.
const { localServices } = await import('@concert-booking/devkit/local-services');
const { ProcessGroup } = await import('@concert-booking/devkit/process');
const { ROOT, serviceProcess } = await import('@concert-booking/devkit/programs');
const { freePort } = await import('@concert-booking/devkit/wait');
const { cachingProxy } = await import('@concert-booking/devkit/caching-proxy');
const { fetchHistogramCount } = await import('@concert-booking/devkit/metrics-text');
const { compressedRepresentations } = await import('../src/http/representations.js');
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

const median = <Row extends BenchRow>(runs: Row[]): Row =>
  [...runs].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(runs.length / 2)]!;

type Coding = 'identity' | 'gzip';
/** What each request of a run sends as Accept-Encoding. */
const ACCEPT_ENCODING: Record<Coding, Record<string, string>> = {
  identity: {},
  gzip: { 'accept-encoding': 'gzip' },
};

/** USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every Linux we run. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** A row, and the CPU the server process spent per answered request: what a busy machine cannot skew. */
type MeasuredRow = BenchRow & { cpuMicrosPerRequest: number };

async function measure(
  name: string,
  server: { port: number; pid: number },
  headers: Record<string, string> = {},
  connections = CONNECTIONS,
): Promise<MeasuredRow> {
  let next = 0;
  const load = (duration: number) =>
    autocannon({
      url: `http://127.0.0.1:${server.port}`,
      connections,
      duration,
      headers,
      requests: [
        {
          setupRequest: (request) => ({
            ...request,
            path: `/v1/timeslots/${timeslots[next++ % timeslots.length]}/seats`,
          }),
        },
      ],
    });
  // Both sides warm up (JIT, first fills) before the measured run.
  console.error(`${name}: ${WARM_UP_SECONDS} s of warm-up, ${SECONDS} s of load...`);
  await load(WARM_UP_SECONDS);
  const cpuBefore = cpuSecondsOf(server.pid);
  const result = await load(SECONDS);
  const cpuMicrosPerRequest =
    ((cpuSecondsOf(server.pid) - cpuBefore) * 1e6) / Math.max(1, result.requests.total);
  // Only what was answered 2xx counts: a fast error must never pass for throughput.
  const row = {
    ...rowFromAutocannon(name, result),
    perSecond: result['2xx'] / result.duration,
    cpuMicrosPerRequest,
  };
  const bytes = result.requests.total > 0 ? Math.round(result.throughput.total / result.requests.total) : 0;
  console.log(
    `${name}: ${row.perSecond.toFixed(0)} req/s, p90 ${row.p90} ms, errors ${row.errors}, ` +
      `${bytes} bytes and ${cpuMicrosPerRequest.toFixed(0)} µs of server CPU per response`,
  );
  return row;
}

const serviceEnv = (port: number, extraEnv: Record<string, string>) =>
  serviceProcess({
    DATABASE_URL: databaseUrl,
    REDIS_URL: env.REDIS_URL!,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    MIGRATE_ON_START: 'false',
    QUEUE_TOKEN_SECRET: 'bench-secret-bench-secret-bench-secret',
    // autocannon keeps sending on a socket the service has answered with `Connection: close` (after
    // HTTP_MAX_REQUESTS_PER_SOCKET requests), and Node answers each such request 503; clients that honour the
    // header reconnect instead. The bare handler has no such limit either, so both sides keep their sockets.
    HTTP_MAX_REQUESTS_PER_SOCKET: '0',
    ...extraEnv,
  });

const processes = new ProcessGroup();
processes.interruptible();

async function withService(
  name: string,
  extraEnv: Record<string, string>,
  coding: Coding = 'identity',
): Promise<MeasuredRow> {
  const port = await freePort();
  const service = await processes.start(serviceEnv(port, extraEnv));
  try {
    return await measure(name, { port, pid: service.pid }, ACCEPT_ENCODING[coding]);
  } finally {
    await service.stop();
  }
}

const scratch = mkdtempSync(path.join(os.tmpdir(), 'seat-map-'));

/** The bytes of the service's own fills, every hot timeslot's: the same JSON, compressed by the same code. */
async function writeSeatMapFiles(): Promise<void> {
  const { findSeatMap } = await import('../src/catalog/queries.js');
  for (const id of timeslots) {
    const { identity, gzip } = await compressedRepresentations(
      Buffer.from(JSON.stringify(await findSeatMap(db, id))),
    );
    writeFileSync(path.join(scratch, `${id}.json`), identity.body);
    writeFileSync(path.join(scratch, `${id}.json.gz`), gzip!.body);
  }
}

async function withBareKoa(coding: Coding): Promise<MeasuredRow> {
  const port = await freePort();
  const bare = await processes.start({
    name: 'bare koa',
    command: process.execPath,
    args: ['--import', 'tsx', 'service/bench/bare-koa.ts'],
    cwd: ROOT,
    env: { PORT: String(port), SEAT_MAP_DIR: scratch },
    ready: { url: `http://127.0.0.1:${port}/v1/timeslots/${timeslots[0]}/seats` },
  });
  try {
    return await measure(
      `(d) bare Koa, bytes from memory, ${coding}`,
      { port, pid: bare.pid },
      ACCEPT_ENCODING[coding],
    );
  } finally {
    await bare.stop();
  }
}

/** Seat-map requests the service answered, read from its own /metrics on its admin port (every status). */
const seatMapRequests = (adminPort: number) =>
  fetchHistogramCount(`http://127.0.0.1:${adminPort}/metrics`, METRICS.httpRequestDuration, {
    route: '/v1/timeslots/:timeslotId/seats',
  });

/** (e): the cached service behind the caching proxy, browsers' Accept-Encoding. */
async function behindProxy(): Promise<{ row: MeasuredRow; originPerSecond: number }> {
  const [servicePort, adminPort, proxyPort] = await Promise.all([freePort(), freePort(), freePort()]);
  // Not under scratch: nginx's workers (nobody) must reach it.
  const proxyDir = mkdtempSync(path.join(os.tmpdir(), 'seat-map-proxy-'));
  const service = await processes.start(
    serviceEnv(servicePort, { SEATMAP_CACHE_ENABLED: 'true', ADMIN_PORT: String(adminPort) }),
  );
  const proxy = await processes.start(
    cachingProxy({ dir: proxyDir, port: proxyPort, upstreamPort: servicePort }),
  );
  try {
    const before = await seatMapRequests(adminPort);
    const started = performance.now();
    const row = await measure(
      `(e) index, cache, behind nginx, ${PROXY_CONNECTIONS} connections`,
      { port: proxyPort, pid: service.pid },
      { 'accept-encoding': 'gzip, deflate, br' },
      PROXY_CONNECTIONS,
    );
    const seconds = (performance.now() - started) / 1000;
    const originPerSecond = ((await seatMapRequests(adminPort)) - before) / seconds;
    console.log(`(e): ${originPerSecond.toFixed(1)} origin requests/s for ${timeslots.length} timeslots`);
    return { row, originPerSecond };
  } finally {
    await proxy.stop();
    await service.stop();
    rmSync(proxyDir, { recursive: true, force: true });
  }
}

try {
  await setIndex(false);
  const slow = await withService('(a) no index, no cache', { SEATMAP_CACHE_ENABLED: 'false' });
  await setIndex(true);
  const indexed = await withService('(b) index, no cache', { SEATMAP_CACHE_ENABLED: 'false' });
  await writeSeatMapFiles();
  const cached = {} as Record<Coding, MeasuredRow>;
  const ceiling = {} as Record<Coding, MeasuredRow>;
  // Each round runs (c) and (d) back to back, so a round's ratio compares the two under the same load from the
  // rest of the machine; the median of those ratios is the result (the medians of each side can come from
  // different rounds).
  const pairedRatios = {} as Record<Coding, number[]>;
  for (const coding of ['identity', 'gzip'] as const) {
    const cachedRuns: MeasuredRow[] = [];
    const ceilingRuns: MeasuredRow[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      cachedRuns.push(
        await withService(`(c) index, cache, ${coding}`, { SEATMAP_CACHE_ENABLED: 'true' }, coding),
      );
      ceilingRuns.push(await withBareKoa(coding));
    }
    cached[coding] = median(cachedRuns);
    ceiling[coding] = median(ceilingRuns);
    pairedRatios[coding] = cachedRuns
      .map((run, round) => run.perSecond / Math.max(1, ceilingRuns[round]!.perSecond))
      .sort((a, b) => a - b);
  }
  const proxied = await behindProxy();
  const rows = [slow, indexed, cached.identity, ceiling.identity, cached.gzip, ceiling.gzip, proxied.row];

  console.log(
    `\nSeat map: ${SECONDS} s per run, (c) and (d) the median of ${ROUNDS} alternating rounds, ` +
      `${CONNECTIONS} connections ((e): ${PROXY_CONNECTIONS}), ${HOT_TIMESLOTS} hot timeslots of 500 seats, ` +
      `1M seats in all; load average ${os
        .loadavg()
        .map((n) => n.toFixed(1))
        .join(' / ')} at the end\n`,
  );
  console.log(markdownTable('variant', rows));
  console.log('\n| variant | server CPU µs per response |\n| --- | ---: |');
  for (const row of rows) console.log(`| ${row.name} | ${row.cpuMicrosPerRequest.toFixed(0)} |`);
  const x = (a: number, b: number) => (b > 0 ? (a / b).toFixed(a / b >= 10 ? 0 : 2) : 'n/a');
  console.log('\n| ratio | value | target |');
  console.log('|---|---:|---:|');
  for (const coding of ['identity', 'gzip'] as const) {
    const ratios = pairedRatios[coding];
    console.log(
      `| throughput (c)/(d), cache vs ceiling, ${coding}: median of the rounds' ratios ` +
        `(${ratios.map((r) => r.toFixed(2)).join(', ')}) | ${ratios[Math.floor(ratios.length / 2)]!.toFixed(2)} | >= 0.9 |`,
    );
  }
  for (const coding of ['identity', 'gzip'] as const) {
    console.log(
      `| server CPU per response (d)/(c), ceiling vs cache, ${coding} | ${x(ceiling[coding].cpuMicrosPerRequest, cached[coding].cpuMicrosPerRequest)} | |`,
    );
  }
  console.log(
    `| throughput (c)/(a), cache vs slow query | ${x(cached.identity.perSecond, slow.perSecond)} | >= 100 |`,
  );
  console.log(`| throughput (b)/(a), index vs slow query | ${x(indexed.perSecond, slow.perSecond)} | |`);
  console.log(`| p90 (a)/(c), slow query vs cache | ${x(slow.p90, cached.identity.p90)} | |`);
  console.log(
    `| (e) origin requests/s behind the proxy, ${HOT_TIMESLOTS} timeslots | ${proxied.originPerSecond.toFixed(1)} | a handful |`,
  );
} finally {
  await processes.stopAll();
  await setIndex(true);
  await db.destroy();
  rmSync(scratch, { recursive: true, force: true });
}
