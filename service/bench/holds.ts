/**
 * Benchmark (not a test): `npm run bench:holds`. On the shared Postgres/Redis of
 * scripts/services.sh, in a database of its own:
 * (1) holds per second on distinct seats over HTTP (autocannon against the real service in a
 *     child process), next to the same SQL run straight against Postgres (pgbench with a
 *     custom script, or a raw pg loop when pgbench is missing) as the ceiling;
 * (2) the lock experiment's three counter strategies at 100 concurrent clients.
 * Every process it starts stops with it (devkit's harness), and its database is dropped.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type autocannonTypes from 'autocannon';
import { numberFlag, parseOrExit } from '@concert-booking/lib';
import type { BenchRow } from './rows.js';

const command = {
  name: 'npm run bench:holds --',
  usage: '[--seconds 10] [--connections 50] [--seats 400000]',
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    seats: { type: 'string', default: '400000' },
  },
} as const;
const { SECONDS, CONNECTIONS, SEATS } = parseOrExit(command, process.argv.slice(2), ({ values }) => ({
  SECONDS: numberFlag('seconds', values.seconds, { integer: true }),
  CONNECTIONS: numberFlag('connections', values.connections, { integer: true }),
  SEATS: numberFlag('seats', values.seats, { integer: true }),
}));

// Imported once the command line is known good: --help and a bad flag answer at once.
const { localServices } = await import('@concert-booking/devkit/local-services');
const { ProcessGroup, runProcess } = await import('@concert-booking/devkit/process');
const { serviceProcess } = await import('@concert-booking/devkit/programs');
const { freePort, waitFor } = await import('@concert-booking/devkit/wait');
const { bearer } = await import('@concert-booking/devkit/identity');
const { default: autocannon } = await import('autocannon');
const { default: pg } = await import('pg');
const { HOLD_SQL } = await import('../src/reservations/queries.js');
const { createTestDatabase } = await import('../test/support/database.js');
const { markdownTable, rowFromAutocannon } = await import('./rows.js');

const env = localServices();
const processes = new ProcessGroup();
const database = await createTestDatabase(
  { concerts: 1, timeslotsPerConcert: 1, seatsPerTimeslot: SEATS },
  env.DATABASE_URL,
);
processes.interruptible(() => database.drop());
const { db } = database;
const [{ min, max }] = (await db('seats').min({ min: 'id' }).max({ max: 'id' })) as [
  { min: string; max: string },
];
const firstSeat = Number(min);
const timeslotId = Number((await db('timeslots').first('id')).id);
if (Number(max) - firstSeat + 1 !== SEATS) throw new Error('seat ids are not contiguous');

const reset = () =>
  db.raw(
    `truncate reservations cascade; update seats set status = 'AVAILABLE', hold_expires_at = null where status <> 'AVAILABLE'`,
  );

const rows: BenchRow[] = [];

// ---- (1a) the ceiling: the hold's SQL straight against Postgres ------------------------------
const BARE_UPDATE = `update seats set status = 'HELD', hold_expires_at = now() + make_interval(secs => :ttl)
  where id = :seatId and timeslot_id = :timeslotId
    and (status = 'AVAILABLE' or (status = 'HELD' and hold_expires_at <= now()))`;

function pgbenchBinary(): string | undefined {
  const candidates = [
    '/usr/bin/pgbench',
    ...(env.BOOKING_PG_BINDIR ? [path.join(env.BOOKING_PG_BINDIR, 'pgbench')] : []),
  ];
  return candidates.find(existsSync);
}

/** Each client walks its own stride of seat ids, so every transaction hits a distinct free seat. */
function pgbenchScript(sql: string): string {
  return [
    '\\set n :n + 1',
    `\\set seatId ${firstSeat} + :client_id + (:n - 1) * ${CONNECTIONS}`,
    `${sql.replace(/\s+/g, ' ').trim()};`,
  ].join('\n');
}

async function pgbench(name: string, sql: string): Promise<void> {
  console.error(`${name}: ${SECONDS} s of pgbench...`);
  const binary = pgbenchBinary()!;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-holds-'));
  const script = path.join(dir, 'hold.sql');
  writeFileSync(script, pgbenchScript(sql));
  const url = new URL(database.url);
  const output = await runProcess(
    {
      name: 'pgbench',
      command: binary,
      args: [
        '-n',
        '-M',
        'prepared',
        '-c',
        String(CONNECTIONS),
        '-j',
        '2',
        '-T',
        String(SECONDS),
        '-r',
        '-f',
        script,
        '-D',
        'n=0',
        '-D',
        'ttl=300',
        '-D',
        `timeslotId=${timeslotId}`,
        '-D',
        'userId=1',
        '--log',
        `--log-prefix=${path.join(dir, 'log')}`,
        '-h',
        url.hostname,
        '-p',
        url.port,
        '-U',
        decodeURIComponent(url.username),
        url.pathname.slice(1),
      ],
      env: { PGPASSWORD: decodeURIComponent(url.password) },
      cwd: dir,
    },
    processes,
  );
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(output)?.[1]);
  const failed = Number(/number of failed transactions: (\d+)/.exec(output)?.[1] ?? 0);
  // The per-transaction logs (client, tx, latency µs, ...) give the percentiles.
  const latencies = readdirSync(dir)
    .filter((file) => file.startsWith('log.'))
    .flatMap((file) => readFileSync(path.join(dir, file), 'utf8').trim().split('\n'))
    .map((line) => Number(line.split(' ')[2]) / 1000);
  rows.push({ name, perSecond: tps, ...percentiles(latencies), errors: failed });
}

/** The fallback ceiling: CONNECTIONS pg clients in a loop, same SQL, same distinct seats. */
async function pgLoop(name: string, sql: string): Promise<void> {
  console.error(`${name}: ${SECONDS} s of queries...`);
  const text = sql.replace(
    /:(\w+)/g,
    (_, variable: string) => `$${['ttl', 'seatId', 'timeslotId', 'userId'].indexOf(variable) + 1}`,
  );
  let next = firstSeat;
  const latencies: number[] = [];
  const deadline = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      while (Date.now() < deadline) {
        const started = performance.now();
        await client.query({ name, text, values: [300, next++, timeslotId, 1] });
        latencies.push(performance.now() - started);
      }
      await client.end();
    }),
  );
  rows.push({ name, perSecond: latencies.length / SECONDS, ...percentiles(latencies), errors: 0 });
}

function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

// ---- the service, in a process of its own ------------------------------------------------------
async function startService(
  extra: Record<string, string>,
): Promise<{ url: string; stop(): Promise<unknown> }> {
  const port = await freePort();
  const service = await processes.start(
    serviceProcess({
      DATABASE_URL: database.url,
      REDIS_URL: `${env.REDIS_URL}/12`,
      PORT: String(port),
      MIGRATE_ON_START: 'false',
      QUEUE_TOKEN_SECRET: 'bench-secret-bench-secret-bench-secret',
      QUEUE_ADMIT_PER_INTERVAL: '100000',
      DB_POOL_MAX: '20',
      // Under full load the event loop lags, and ioredis then times commands out before it reads
      // their replies: the production 250 ms would measure that artefact, not the hold path.
      REDIS_COMMAND_TIMEOUT_MS: '2000',
      // The bench's 100 buyers hold thousands of seats each from one address: the abuse limits are not its subject.
      HOLD_MAX_PER_USER: '1000',
      RATE_LIMIT_USER_PER_MINUTE: '1000000',
      RATE_LIMIT_IP_PER_MINUTE: '10000000',
      ...extra,
    }),
  );
  return { url: `http://127.0.0.1:${port}`, stop: () => service.stop() };
}

/** Each buyer's headers: their bearer JWT (the test issuer's) and their ACTIVE queue token. */
async function activeTokens(url: string, count: number): Promise<Record<string, string>[]> {
  const tokens: Record<string, string>[] = [];
  for (let userId = 1; userId <= count; userId++) {
    const { Authorization: authorization } = await bearer(userId);
    const response = await fetch(`${url}/v1/queue/tokens`, { method: 'POST', headers: { authorization } });
    tokens.push({ authorization, 'queue-token': ((await response.json()) as { token: string }).token });
  }
  await waitFor(
    async () => {
      for (const token of tokens) {
        const status = await fetch(`${url}/v1/queue/tokens/current`, { headers: token });
        if (((await status.json()) as { state?: string }).state !== 'ACTIVE') return false;
      }
      return true;
    },
    30_000,
    'active tokens',
  );
  return tokens;
}

async function cannon(name: string, options: autocannonTypes.Options, expected: number): Promise<void> {
  console.error(`${name}: ${SECONDS} s of load...`);
  const result = await autocannon({ duration: SECONDS, ...options });
  rows.push(rowFromAutocannon(name, result));
  if (result['2xx'] === 0) throw new Error(`${name}: no ${expected} at all`);
}

// ---- run ----------------------------------------------------------------------------------------
const ceilingRunner = pgbenchBinary() ? pgbench : pgLoop;
const ceilingTool = pgbenchBinary() ? 'pgbench' : 'pg client loop';
const prefix = pgbenchBinary() ? `${ceilingTool}:` : `${ceilingTool}:`;
await ceilingRunner(`${prefix} conditional UPDATE alone`, BARE_UPDATE);
await reset();
await ceilingRunner(`${prefix} the hold statement (UPDATE + expire + INSERT)`, HOLD_SQL);
await reset();

const service = await startService({});
try {
  const tokens = await activeTokens(service.url, 100);
  let seat = firstSeat;
  let request = 0;
  await cannon(
    'HTTP POST /v1/reservations (token check + hold + seat-map invalidation)',
    {
      url: `${service.url}/v1/reservations`,
      connections: CONNECTIONS,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      setupClient: (client) => {
        client.setHeaders({ 'content-type': 'application/json', ...tokens[request++ % tokens.length]! });
      },
      requests: [
        {
          setupRequest: (req) => ({ ...req, body: JSON.stringify({ timeslotId, seatId: seat++ }) }),
        },
      ],
    },
    201,
  );
} finally {
  await service.stop();
}
const http = rows.at(-1)!;
const [bare, full] = rows;

const experiment = await startService({ EXPERIMENTS_ENABLED: 'true' });
const counterRows: BenchRow[] = [];
try {
  for (const strategy of ['pessimistic', 'atomic', 'redis']) {
    await cannon(
      `counter strategy=${strategy}`,
      {
        url: `${experiment.url}/v1/experiments/counter?strategy=${strategy}`,
        method: 'POST',
        connections: 100,
      },
      200,
    );
    counterRows.push(rows.pop()!);
  }
} finally {
  await experiment.stop();
}
await database.drop();

console.log(
  `\n${SECONDS} s per run, ${CONNECTIONS} connections for holds, 100 for counters; ${os.cpus().length} cores, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}\n`,
);
console.log(markdownTable('Holds on distinct seats', rows));
console.log(
  `\nHTTP / ceiling: ${(http.perSecond / bare!.perSecond).toFixed(2)} of the bare conditional UPDATE, ` +
    `${(http.perSecond / full!.perSecond).toFixed(2)} of the same hold statement (target >= 0.5)\n`,
);
console.log(markdownTable('Lock experiment, 100 clients', counterRows));
process.exit(0);
