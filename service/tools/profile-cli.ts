/**
 * `npm run profile -- seat-map --cache off [--seconds 10] [--index off] [--connections 32] [--accept-encoding gzip]`:
 * starts the service locally against the shared Postgres and Redis (scripts/services.sh),
 * drives seat-map load with autocannon, records a CPU profile through `POST /admin/profile`
 * meanwhile, and writes the profile and its flamegraph into reports/profiles/.
 *
 * The database `profile_seat_map` is created and seeded once (`npm run seed`: 1M seats);
 * `--index off` (the default) drops `seats_timeslot_number_key`, the index behind the seat-map
 * query, which reproduces the incident's slow query.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import type { CpuProfile } from '../src/diagnostics/profiler.js';
import { choiceFlag, numberFlag, parseOrExit, UsageError, type CommandLine } from '@concert-booking/lib';

const DATABASE = 'profile_seat_map';
/** Its own Redis database number, so profile runs never leave seat maps where the tests look. */
const REDIS_DB = 15;

const COMMAND: CommandLine<{
  cache: { type: 'string'; default: string };
  index: { type: 'string'; default: string };
  seconds: { type: 'string'; default: string };
  connections: { type: 'string'; default: string };
  timeslots: { type: 'string'; default: string };
  'accept-encoding': { type: 'string'; default: string };
}> = {
  name: 'npm run profile --',
  usage: `seat-map [--cache on|off] [--index on|off] [--seconds 10] [--connections 32] [--timeslots 10] [--accept-encoding identity|gzip|br]
  Seat-map load with autocannon against a local service while it records a CPU profile; writes the profile and
  its flamegraph to reports/profiles/. --index off (the default) drops the seat-map index (the incident's query);
  --seconds up to 60, --connections up to 1000, --timeslots (requests spread over them) up to 10000;
  --accept-encoding: what the requests accept (identity: no Accept-Encoding header).`,
  options: {
    cache: { type: 'string', default: 'on' },
    index: { type: 'string', default: 'off' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    /** Requests spread over this many timeslots: one popular concert's dates. */
    timeslots: { type: 'string', default: '10' },
    'accept-encoding': { type: 'string', default: 'identity' },
  },
  allowPositionals: true,
};

const { cache, index, seconds, connections, hotTimeslots, acceptEncoding } = parseOrExit(
  COMMAND,
  process.argv.slice(2),
  ({ values, positionals }) => {
    if (positionals[0] !== 'seat-map' || positionals.length !== 1)
      throw new UsageError('the only scenario is seat-map');
    return {
      cache: choiceFlag('cache', values.cache, ['on', 'off']) === 'on',
      index: choiceFlag('index', values.index, ['on', 'off']) === 'on',
      seconds: numberFlag('seconds', values.seconds, { integer: true, max: 60 }),
      connections: numberFlag('connections', values.connections, { integer: true, max: 1000 }),
      hotTimeslots: numberFlag('timeslots', values.timeslots, { integer: true, max: 10_000 }),
      acceptEncoding: choiceFlag('accept-encoding', values['accept-encoding'], ['identity', 'gzip', 'br']),
    };
  },
);

// Imported once the command line is known good: --help and a bad flag answer at once.
const { default: autocannon } = await import('autocannon');
const { default: knexFactory } = await import('knex');
const { createDatabase } = await import('../src/db/knex.js');
const { localServices } = await import('@concert-booking/devkit/local-services');
const { ProcessGroup, runProcess } = await import('@concert-booking/devkit/process');
const { seedProcess, serviceProcess } = await import('@concert-booking/devkit/programs');
const { freePort } = await import('@concert-booking/devkit/wait');
const { writeFlamegraph } = await import('./flamegraph.js');

/** Whatever this command starts (the seed, the service) stops with it, however it ends. */
const processes = new ProcessGroup();
processes.interruptible();

/** Starts the shared servers if needed and reads their URLs. */
function sharedServices(): { databaseUrl: string; redisUrl: string } {
  const env = localServices();
  return { databaseUrl: env.DATABASE_URL, redisUrl: env.REDIS_URL };
}

/** The profile database, created and seeded on first use, with or without the seat-map index. */
async function prepareDatabase(sharedUrl: string): Promise<{ url: string; timeslotIds: number[] }> {
  const admin = knexFactory({ client: 'pg', connection: sharedUrl, pool: { min: 0, max: 1 } });
  try {
    const { rows } = await admin.raw<{ rows: unknown[] }>('select 1 from pg_database where datname = ?', [
      DATABASE,
    ]);
    if (rows.length === 0) await admin.raw(`create database ${DATABASE}`);
  } finally {
    await admin.destroy();
  }
  const url = Object.assign(new URL(sharedUrl), { pathname: `/${DATABASE}` }).toString();
  const db = createDatabase({ url, poolMin: 0, poolMax: 1, acquireTimeoutMs: 10_000, statementTimeoutMs: 0 });
  try {
    await db.migrate.latest();
    const [{ concerts }] = (await db('concerts').count({ concerts: '*' })) as [{ concerts: string }];
    if (Number(concerts) === 0) {
      console.log('seeding the profile database (once)...');
      await runProcess(seedProcess(url), processes);
    }
    await setSeatMapIndex(db, index);
    const timeslotIds = (await db('timeslots').orderBy('id').limit(hotTimeslots).pluck('id')).map(Number);
    return { url, timeslotIds };
  } finally {
    await db.destroy();
  }
}

async function setSeatMapIndex(db: Knex, wanted: boolean): Promise<void> {
  const { rows } = await db.raw<{ rows: unknown[] }>(
    `select 1 from pg_constraint where conname = 'seats_timeslot_number_key'`,
  );
  if (wanted && rows.length === 0) {
    await db.raw('alter table seats add constraint seats_timeslot_number_key unique (timeslot_id, number)');
  } else if (!wanted && rows.length > 0) {
    await db.raw('alter table seats drop constraint seats_timeslot_number_key');
  }
  await db.raw('analyze seats');
}

/** The service on a free port, through the harness: stopped by `processes.stopAll()`. */
async function startService(env: Record<string, string>): Promise<{ url: string; adminUrl: string }> {
  const [port, adminPort] = [await freePort(), await freePort()];
  await processes.start(
    serviceProcess({ ...env, PORT: String(port), ADMIN_PORT: String(adminPort), WORKERS: '0' }),
  );
  return { url: `http://127.0.0.1:${port}`, adminUrl: `http://127.0.0.1:${adminPort}` };
}

const { databaseUrl, redisUrl } = sharedServices();
const { url: profileDatabaseUrl, timeslotIds } = await prepareDatabase(databaseUrl);
const secrets = await mkdtemp(path.join(os.tmpdir(), 'profile-'));
const token = randomBytes(24).toString('hex');
await writeFile(path.join(secrets, 'admin-token'), token, { mode: 0o600 });
const service = await startService({
  DATABASE_URL: profileDatabaseUrl,
  REDIS_URL: Object.assign(new URL(redisUrl), { pathname: `/${REDIS_DB}` }).toString(),
  SEATMAP_CACHE_ENABLED: String(cache),
  ADMIN_TOKEN_FILE: path.join(secrets, 'admin-token'),
  MIGRATE_ON_START: 'false',
  SEED_DEMO_DATA: 'false',
});

try {
  const warmupSeconds = 2;
  const load = autocannon({
    url: service.url,
    connections,
    duration: warmupSeconds + seconds + 1,
    headers: acceptEncoding === 'identity' ? {} : { 'accept-encoding': acceptEncoding },
    requests: [
      {
        setupRequest: (request) => ({
          ...request,
          path: `/v1/timeslots/${timeslotIds[Math.floor(Math.random() * timeslotIds.length)]}/seats`,
        }),
      },
    ],
  });
  await new Promise((resolve) => setTimeout(resolve, warmupSeconds * 1000));
  const response = await fetch(`${service.adminUrl}/admin/profile?seconds=${seconds}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok)
    throw new Error(`POST /admin/profile answered ${response.status}: ${await response.text()}`);
  const profile = (await response.json()) as CpuProfile;
  const result = await load;

  const coding = acceptEncoding === 'identity' ? '' : `-${acceptEncoding}`;
  const name = `seat-map-cache-${cache ? 'on' : 'off'}-index-${index ? 'on' : 'off'}${coding}`;
  const folder = path.join('reports', 'profiles');
  await mkdir(folder, { recursive: true });
  const profilePath = path.join(folder, `${name}.cpuprofile`);
  await writeFile(profilePath, JSON.stringify(profile));
  const { latency, requests } = result;
  const failed = result.non2xx + result.errors; // errors include timeouts
  const load_ = `${connections} connections: ${Math.round(requests.average)} req/s, p50 ${latency.p50} ms, p90 ${latency.p90} ms, p99 ${latency.p99} ms, ${failed} failed`;
  const report = await writeFlamegraph(profile, path.join(folder, `${name}.svg`), {
    title: `Seat map under load: cache ${cache ? 'on' : 'off'}, seat-map index ${index ? 'on' : 'off'}, ${acceptEncoding}`,
    subtitle: load_,
  });
  console.log(
    [`profile: ${profilePath}`, report, `load over the whole run (${result.duration} s): ${load_}`].join(
      '\n',
    ),
  );
} finally {
  await processes.stopAll();
  await rm(secrets, { recursive: true, force: true });
}
