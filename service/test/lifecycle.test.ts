import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { sharedRedisUrl } from '@concert-booking/devkit/databases';
import { spawnProcess } from '@concert-booking/devkit/process';
import { serviceProcess } from '@concert-booking/devkit/programs';
import { PrivatePostgres } from '@concert-booking/devkit/servers';
import { freePort, waitFor } from '@concert-booking/devkit/wait';
import { loadConfig } from '../src/config.js';
import { createTestDatabase, sessionsWaitingOnLocks, type TestDatabase } from './support/database.js';
import { startTestService } from './support/service.js';

/** The service as `npm start` runs it, logging at info (the drain's messages), not yet ready. */
const spawnService = (env: Record<string, string | undefined>) =>
  spawnProcess(serviceProcess({ LOG_LEVEL: 'info', ...env }));

/** An issuer configuration (the values are only parsed here). */
const ISSUER = { AUTH_ISSUER: 'https://idp.example', AUTH_AUDIENCE: 'booking', AUTH_JWKS_FILE: '/keys.json' };

describe('configuration', () => {
  test.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x@y/z' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'not a url' }, 'REDIS_URL'],
    [{ DB_POOL_MAX: '0' }, 'DB_POOL_MAX'],
    [{ DB_POOL_MIN: '5', DB_POOL_MAX: '2' }, 'DB_POOL_MIN'],
    [{ SEATMAP_CACHE_ENABLED: 'yes please' }, 'SEATMAP_CACHE_ENABLED'],
    [{ SEATMAP_STALE_WHILE_REVALIDATE_SECONDS: '-1' }, 'SEATMAP_STALE_WHILE_REVALIDATE_SECONDS'],
    [{ SEATMAP_STALE_WHILE_REVALIDATE_SECONDS: '301' }, 'SEATMAP_STALE_WHILE_REVALIDATE_SECONDS'],
    [{ SALE_WARM_UP_SECONDS: '300' }, 'SALE_WARM_UP_SECONDS'],
    [{ WORKERS: '2' }, 'REDIS_URL'],
    [{ QUEUE_TOKEN_SECRET: 'short' }, 'QUEUE_TOKEN_SECRET'],
    [{ ADMIN_TOKEN_FILE: '/nonexistent/token' }, 'ADMIN_TOKEN_FILE'],
    // DATABASE_URL is set too: one of the two must go.
    [{ DATABASE_URL_FILE: '/nonexistent/url' }, 'DATABASE_URL_FILE'],
    [{ REDIS_URL_FILE: '/nonexistent/url' }, 'REDIS_URL_FILE'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ AUTH_ISSUER: undefined }, 'AUTH_ISSUER'],
    // The development issuer never runs outside the embedded default, even when asked for embedded Postgres.
    [{ AUTH_ISSUER: undefined, EMBEDDED_POSTGRES: 'true' }, 'AUTH_ISSUER'],
    [{ AUTH_AUDIENCE: undefined }, 'AUTH_AUDIENCE'],
    [{ AUTH_JWKS_FILE: undefined }, 'AUTH_JWKS_URL'],
    [{ AUTH_JWKS_URL: 'https://idp.example/jwks' }, 'AUTH_JWKS_URL'],
    [{ AUTH_JWKS_URL: 'ftp://idp.example/jwks', AUTH_JWKS_FILE: undefined }, 'AUTH_JWKS_URL'],
    [{ AUTH_CLOCK_SKEW_SECONDS: '3600' }, 'AUTH_CLOCK_SKEW_SECONDS'],
    [{ TOPUP_MAX_AMOUNT: '10', TOPUP_DAILY_MAX: '5' }, 'TOPUP_MAX_AMOUNT'],
    [{ QUEUE_ADMISSION: 'adaptive' }, 'QUEUE_ADMISSION'],
    [{ QUEUE_ADMISSION: 'capacity' }, 'QUEUE_ADMISSION_PROMETHEUS_URL'],
    [{ QUEUE_ADMISSION_PROMETHEUS_URL: 'file:///etc/passwd' }, 'QUEUE_ADMISSION_PROMETHEUS_URL'],
    [
      { QUEUE_ADMIT_MIN_PER_INTERVAL: '50', QUEUE_ADMIT_MAX_PER_INTERVAL: '10' },
      'QUEUE_ADMIT_MIN_PER_INTERVAL',
    ],
    [{ QUEUE_ADMISSION_P90_BUDGET_SECONDS: '0' }, 'QUEUE_ADMISSION_P90_BUDGET_SECONDS'],
  ])('%p is refused, naming %s', (env, variable) => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://a@b/c', ...ISSUER, ...env })).toThrow(
      new RegExp(`^invalid configuration: ${variable}: `),
    );
  });

  test('DATABASE_URL_FILE and REDIS_URL_FILE: the URLs read from files (mounted Secrets), trimmed', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'config-files-'));
    writeFileSync(path.join(dir, 'db'), 'postgres://u:p@db.example:5432/booking\n');
    writeFileSync(path.join(dir, 'redis'), 'rediss://:secret@cache.example:6380\n');
    const config = loadConfig({
      DATABASE_URL_FILE: path.join(dir, 'db'),
      REDIS_URL_FILE: path.join(dir, 'redis'),
      ...ISSUER,
    });
    expect(config.DATABASE_URL).toBe('postgres://u:p@db.example:5432/booking');
    expect(config.REDIS_URL).toBe('rediss://:secret@cache.example:6380');
    expect(() => loadConfig({ DATABASE_URL_FILE: path.join(dir, 'missing'), ...ISSUER })).toThrow(
      /^invalid configuration: DATABASE_URL_FILE: cannot read /,
    );
    // A file whose content is no URL is refused under the variable's own rule.
    writeFileSync(path.join(dir, 'db'), 'mysql://u@db/booking');
    expect(() => loadConfig({ DATABASE_URL_FILE: path.join(dir, 'db'), ...ISSUER })).toThrow(
      /^invalid configuration: DATABASE_URL: /,
    );
  });

  test('without DATABASE_URL it refuses to start unless the embedded PostgreSQL is asked for', () => {
    expect(() => loadConfig({})).toThrow(/^invalid configuration: DATABASE_URL: required/);
    const config = loadConfig({ EMBEDDED_POSTGRES: 'true' });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(config.SEED_DEMO_DATA).toBe(true);
    expect(config.HOST).toBe('127.0.0.1');
    // Decided here: main.ts sets DATABASE_URL once the embedded PostgreSQL runs, before the app is composed.
    expect(config.DEVELOPMENT_ISSUER).toBe(true);
    expect(loadConfig({ DATABASE_URL: 'postgres://a@b/c', ...ISSUER }).SEED_DEMO_DATA).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://a@b/c', ...ISSUER }).DEVELOPMENT_ISSUER).toBe(false);
  });

  test.each([
    [{ PORT: 'eighty', DATABASE_URL: 'postgres://a@b/c' }, 'PORT'],
    [{}, 'DATABASE_URL'],
    // Outside the embedded default, no issuer configuration is no start.
    [{ DATABASE_URL: 'postgres://a@b/c', AUTH_ISSUER: undefined }, 'AUTH_ISSUER'],
  ])('%p stops start-up with exit code 78 and a message naming %s', async (env, variable) => {
    const service = spawnService(env);
    const { code } = await service.exited;
    expect(code).toBe(78);
    expect(service.output()).toContain(`invalid configuration: ${variable}`);
  });
});

describe('readiness follows Postgres', () => {
  let postgres: PrivatePostgres;
  let database: TestDatabase;
  beforeAll(async () => {
    postgres = await PrivatePostgres.create();
    database = await createTestDatabase(
      { concerts: 1, timeslotsPerConcert: 1, seatsPerTimeslot: 10 },
      postgres.url,
    );
  });
  afterAll(async () => {
    await database?.drop().catch(() => undefined);
    await postgres?.destroy();
  });

  test('readyz fails while Postgres is down and recovers after it restarts, without restarting the service', async () => {
    const running = await startTestService({ DATABASE_URL: database.url, SEATMAP_CACHE_ENABLED: 'false' });
    try {
      const readyz = async () => {
        const response = await fetch(`${running.url}/readyz`);
        return {
          status: response.status,
          body: (await response.json()) as { checks: { postgres: { ok: boolean } } },
        };
      };
      expect((await readyz()).status).toBe(200);
      await postgres.stop();
      const down = await readyz();
      expect(down.status).toBe(503);
      expect(down.body.checks.postgres.ok).toBe(false);
      expect((await fetch(`${running.url}/livez`)).status).toBe(200);
      // A query is answered, not left hanging: a problem+json 5xx naming no internals.
      const query = await fetch(`${running.url}/v1/timeslots/1/seats`);
      expect(query.status).toBeGreaterThanOrEqual(500);
      expect(query.headers.get('content-type')).toBe('application/problem+json');
      expect(await query.json()).toMatchObject({
        status: query.status,
        type: expect.stringMatching(/^\/problems\//),
      });

      await postgres.start();
      await waitFor(async () => (await readyz()).status === 200, 20_000, 'readyz after the restart');
      expect((await fetch(`${running.url}/v1/timeslots/1/seats`)).status).toBe(200);
    } finally {
      await running.close();
    }
  });
});

describe('SIGTERM', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ concerts: 1, timeslotsPerConcert: 4, seatsPerTimeslot: 3_000 });
  });
  afterAll(async () => database?.drop());

  test('under load, every accepted request is answered before the process exits 0', async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    const service = spawnService({
      DATABASE_URL: database.url,
      PORT: String(port),
      ADMIN_PORT: String(adminPort),
      MIGRATE_ON_START: 'false',
      // Uncached seat maps over a 2-connection pool.
      SEATMAP_CACHE_ENABLED: 'false',
      DB_POOL_MAX: '2',
      DB_ACQUIRE_TIMEOUT_MS: '120000',
      DB_STATEMENT_TIMEOUT_MS: '0',
      SHUTDOWN_TIMEOUT_MS: '120000',
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/livez`)).ok, 30_000, 'the service to listen');

    // Hold the seat table locked so every request is still in flight when SIGTERM arrives, however
    // fast the machine: two block in Postgres, the rest wait for a pool connection.
    const lock = await database.db.transaction();
    await lock.raw('lock table seats in access exclusive mode');
    // Keep-alive connections, so the answer's Connection header is the service's choice.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 150 });
    const requests = Array.from(
      { length: 150 },
      (_, i) =>
        new Promise<{ status?: number; connection?: string; seats?: number }>((resolve, reject) => {
          http
            .get(`${base}/v1/timeslots/${(i % 4) + 1}/seats`, { agent }, (response) => {
              const chunks: Buffer[] = [];
              response.on('data', (chunk: Buffer) => chunks.push(chunk));
              response.on('end', () =>
                resolve({
                  status: response.statusCode,
                  connection: response.headers.connection,
                  seats: (JSON.parse(Buffer.concat(chunks).toString()) as { seats?: unknown[] }).seats
                    ?.length,
                }),
              );
            })
            .on('error', reject);
        }),
    );
    try {
      await waitFor(
        async () => {
          const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
          return Number(/^booking_db_pool_waiting (\d+)/m.exec(metrics)?.[1]) >= 140;
        },
        30_000,
        'requests queued in the service',
      );
      service.child.kill('SIGTERM');
      // The service is draining now: readiness fails, and the queued requests are still to be answered.
      await waitFor(async () => service.output().includes('"msg":"draining"'), 10_000, 'the drain to start');
    } finally {
      await lock.commit();
    }

    const results = await Promise.all(requests);
    agent.destroy();
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(results.every((r) => r.seats === 3_000)).toBe(true);
    // Answered during the drain: every keep-alive client is told to reconnect elsewhere.
    expect(new Set(results.map((r) => r.connection))).toEqual(new Set(['close']));
    const { code } = await service.exited;
    expect(code).toBe(0);
    expect(service.output()).toContain('"clean":true');
    // And it is really gone: new connections are refused.
    await expect(fetch(`${base}/livez`)).rejects.toThrow();
  });
});

describe('draining and a full pool', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ concerts: 1, timeslotsPerConcert: 1, seatsPerTimeslot: 10 });
  });
  afterAll(async () => database?.drop());

  test('while draining, /readyz is 503 "draining" and every answer asks the client to close', async () => {
    const running = await startTestService({ DATABASE_URL: database.url });
    try {
      const before = await fetch(`${running.url}/readyz`);
      expect(before.status).toBe(200);
      running.service.lifecycle.draining = true; // what drain() does first on SIGTERM
      const readyz = await new Promise<http.IncomingMessage & { body?: string }>((resolve, reject) => {
        http
          .get(`${running.url}/readyz`, (response) => {
            let body = '';
            response.on('data', (chunk: Buffer) => (body += chunk.toString()));
            response.on('end', () => resolve(Object.assign(response, { body })));
          })
          .on('error', reject);
      });
      expect(readyz.statusCode).toBe(503);
      expect(readyz.headers.connection).toBe('close');
      expect(JSON.parse(readyz.body!)).toMatchObject({
        status: 'draining',
        checks: { postgres: { ok: true } },
      });
    } finally {
      await running.close();
    }
  });

  test('a request that finds every pool connection busy past the acquire timeout is a 503 with Retry-After', async () => {
    const running = await startTestService({
      DATABASE_URL: database.url,
      SEATMAP_CACHE_ENABLED: 'false',
      DB_POOL_MAX: '1',
      DB_ACQUIRE_TIMEOUT_MS: '300',
    });
    const lock = await database.db.transaction();
    try {
      await lock.raw('lock table seats in access exclusive mode');
      // The pool's only connection waits on the lock with the first request...
      const first = fetch(`${running.url}/v1/timeslots/1/seats`);
      await waitFor(
        async () => (await sessionsWaitingOnLocks(database.db)) === 1,
        20_000,
        'the first request to hold the only connection',
      );
      // ...so the second gets none in time.
      const second = await fetch(`${running.url}/v1/timeslots/1/seats`);
      expect(second.status).toBe(503);
      expect(second.headers.get('retry-after')).toBe('1');
      expect(second.headers.get('content-type')).toBe('application/problem+json');
      expect(await second.json()).toMatchObject({ status: 503, type: '/problems/database-busy' });
      await lock.commit();
      expect((await first).status).toBe(200);
    } finally {
      await lock.rollback().catch(() => undefined);
      await running.close();
    }
  });
});

describe('local cluster mode', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ concerts: 1, timeslotsPerConcert: 1, seatsPerTimeslot: 10 });
  });
  afterAll(async () => database?.drop());

  test('runs N workers on one port and resizes through the authenticated admin endpoint', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'booking-admin-'));
    writeFileSync(path.join(dir, 'token'), 'admin-token-for-tests\n');
    const [port, adminPort] = [await freePort(), await freePort()];
    const service = spawnService({
      DATABASE_URL: database.url,
      REDIS_URL: sharedRedisUrl(),
      PORT: String(port),
      ADMIN_PORT: String(adminPort),
      ADMIN_TOKEN_FILE: path.join(dir, 'token'),
      WORKERS: '2',
      MIGRATE_ON_START: 'false',
    });
    const admin = `http://127.0.0.1:${adminPort}`;
    const workers = async () =>
      (await (await fetch(`${admin}/workers`)).json()) as {
        desired: number;
        running: number;
        listening: number;
      };
    try {
      await waitFor(async () => (await workers()).listening === 2, 30_000, 'two workers');
      await waitFor(
        async () => (await fetch(`http://127.0.0.1:${port}/livez`)).ok,
        30_000,
        'the workers to listen',
      );

      const put = (body: unknown, token?: string) =>
        fetch(`${admin}/workers`, {
          method: 'PUT',
          headers: {
            'content-type': 'application/json',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          body: JSON.stringify(body),
        });
      expect((await put({ count: 3 })).status).toBe(401);
      expect((await put({ count: 3 }, 'wrong-token-wrong-token')).status).toBe(401);
      expect((await put({ count: 0 }, 'admin-token-for-tests')).status).toBe(400);
      expect((await put({ count: 'many' }, 'admin-token-for-tests')).status).toBe(400);
      expect((await workers()).desired).toBe(2);

      // Requests served by workers that are later retired must stay counted: a sum that drops
      // looks like a counter reset to Prometheus, and rate() would invent a burst of traffic.
      const seatMapRequests = async () => {
        const text = await (await fetch(`${admin}/metrics`)).text();
        const series = [
          ...text.matchAll(
            /^http_request_duration_seconds_count\{[^}]*route="\/v1\/timeslots\/:timeslotId\/seats"[^}]*\} (\d+)/gm,
          ),
        ];
        return series.reduce((sum, match) => sum + Number(match[1]), 0);
      };
      const seatMaps = async (n: number) => {
        for (let i = 0; i < n; i++)
          expect((await fetch(`http://127.0.0.1:${port}/v1/timeslots/1/seats`)).status).toBe(200);
      };

      expect((await put({ count: 3 }, 'admin-token-for-tests')).status).toBe(200);
      await waitFor(async () => (await workers()).listening === 3, 30_000, 'three workers');
      await seatMaps(30);
      expect(await seatMapRequests()).toBe(30);

      expect((await put({ count: 1 }, 'admin-token-for-tests')).status).toBe(200);
      await waitFor(async () => (await workers()).listening === 1, 30_000, 'one worker');
      expect(await seatMapRequests()).toBe(30);
      await seatMaps(10);
      expect(await seatMapRequests()).toBe(40);
      const metrics = await (await fetch(`${admin}/metrics`)).text();
      expect(metrics).toMatch(/booking_workers\{state="running"\} 1/);
    } catch (error) {
      console.error(`service output:\n${service.output()}`);
      throw error;
    } finally {
      service.child.kill('SIGTERM');
      const { code } = await service.exited;
      expect(code).toBe(0);
    }
  });
});
