// The local cluster mode as a process: workers capped like pods (a cgroup CPU quota each), run-time settings
// applied to every worker, the configuration errors that stop it, and keep-alive connections that end.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ProcessGroup, descendantsOf, spawnProcess } from '@concert-booking/devkit/process';
import { serviceProcess } from '@concert-booking/devkit/programs';
import { freePort, waitFor } from '@concert-booking/devkit/wait';
import { sharedRedisUrl } from '@concert-booking/devkit/databases';
import { createTestDatabase, type TestDatabase } from './support/database.js';

const TOKEN = 'admin-token-for-tests';
const CPU_ROOT = '/sys/fs/cgroup/cpu';
const group = new ProcessGroup();
let database: TestDatabase;
const dir = mkdtempSync(path.join(os.tmpdir(), 'booking-cluster-'));
writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`);

beforeAll(async () => {
  database = await createTestDatabase({ concerts: 1, timeslotsPerConcert: 1, seatsPerTimeslot: 10 });
});
afterAll(async () => {
  await group.stopAll();
  await database?.drop();
});

async function startCluster(env: Record<string, string>) {
  const [port, adminPort] = [await freePort(), await freePort()];
  const service = await group.start(
    serviceProcess({
      DATABASE_URL: database.url,
      REDIS_URL: sharedRedisUrl(),
      PORT: String(port),
      ADMIN_PORT: String(adminPort),
      ADMIN_TOKEN_FILE: path.join(dir, 'token'),
      MIGRATE_ON_START: 'false',
      ...env,
    }),
  );
  const admin = `http://127.0.0.1:${adminPort}`;
  const workers = async () =>
    (await (await fetch(`${admin}/workers`)).json()) as {
      desired: number;
      listening: number;
      cpuLimit: number;
    };
  const put = (route: string, body: unknown, token: string | null = TOKEN) =>
    fetch(`${admin}${route}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  return { service, url: `http://127.0.0.1:${port}`, admin, workers, put };
}

/** The cpu cgroup (v1) of a process, as /proc/<pid>/cgroup names it. */
const cpuGroupOf = (pid: number) =>
  readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((line) => /^\d+:cpu(,|:)/.test(line))
    ?.split(':')[2];

const cgroupV1 = existsSync(path.join(CPU_ROOT, 'cpu.cfs_quota_us'));

describe('workers capped like pods (WORKER_CPU_LIMIT)', () => {
  // This machine kind has the cgroup v1 CPU controller; elsewhere the suite says so rather than passing.
  test('the cgroup v1 CPU controller is there to test against', () => {
    expect({ cgroupV1, root: CPU_ROOT }).toEqual({ cgroupV1: true, root: CPU_ROOT });
  });

  test('puts each worker in a capped cgroup of its own, also one a resize adds, and removes them on stop', async () => {
    const cluster = await startCluster({ WORKERS: '2', WORKER_CPU_LIMIT: '0.25' });
    await waitFor(async () => (await cluster.workers()).listening === 2, 30_000, 'two workers');
    expect((await cluster.workers()).cpuLimit).toBe(0.25);
    const parent = path.join(CPU_ROOT, `concert-booking-${cluster.service.pid}`);
    const capped = () =>
      descendantsOf(cluster.service.pid).map((pid) => {
        const group = cpuGroupOf(pid)!;
        return { group, quota: readFileSync(path.join(CPU_ROOT, group, 'cpu.cfs_quota_us'), 'utf8').trim() };
      });
    // setpriv execs in place, so the primary is the process the harness started.
    expect(capped()).toEqual([
      { group: `/concert-booking-${cluster.service.pid}/worker-1`, quota: '25000' },
      { group: `/concert-booking-${cluster.service.pid}/worker-2`, quota: '25000' },
    ]);
    expect(readFileSync(path.join(parent, 'worker-1', 'cpu.cfs_period_us'), 'utf8').trim()).toBe('100000');

    expect((await cluster.put('/workers', { count: 3 })).status).toBe(200);
    await waitFor(async () => (await cluster.workers()).listening === 3, 30_000, 'three workers');
    expect(capped().map((c) => c.group)).toContain(`/concert-booking-${cluster.service.pid}/worker-3`);

    expect(await cluster.service.stop()).toEqual({ code: 0, signal: null });
    expect(existsSync(parent)).toBe(false);
  });

  test.each([
    [
      { WORKERS: '0', WORKER_CPU_LIMIT: '0.5' },
      'invalid configuration: WORKER_CPU_LIMIT: applies to the workers',
    ],
    [{ WORKERS: '1', WORKER_CPU_LIMIT: 'half' }, 'invalid configuration: WORKER_CPU_LIMIT'],
    [
      { WORKERS: '1', WORKER_CPU_LIMIT: '0.5', CGROUP_ROOT: dir },
      `invalid configuration: WORKER_CPU_LIMIT: no cgroup CPU controller under ${dir}`,
    ],
  ])('stops with exit code 78 rather than run uncapped workers: %j', async (env, message) => {
    const service = spawnProcess(
      serviceProcess({ DATABASE_URL: database.url, REDIS_URL: sharedRedisUrl(), PORT: '0', ...env }),
    );
    expect(await service.exited).toEqual({ code: 78, signal: null });
    expect(service.output()).toContain(message);
  });
});

describe('run-time settings of the cluster mode', () => {
  test('switches the seat-map cache on every worker, and on workers forked later, without a restart', async () => {
    const cluster = await startCluster({ WORKERS: '2', SEATMAP_CACHE_ENABLED: 'false' });
    await waitFor(async () => (await cluster.workers()).listening === 2, 30_000, 'two workers');
    const enabled = async () => {
      const text = await (await fetch(`${cluster.admin}/metrics`)).text();
      return /^booking_seatmap_cache_enabled (\d)/m.exec(text)?.[1];
    };
    const lookups = async () => {
      const text = await (await fetch(`${cluster.admin}/metrics`)).text();
      return [
        ...text.matchAll(/^booking_seatmap_cache_requests_total\{[^}]*layer="memory"[^}]*\} (\d+)/gm),
      ].reduce((sum, m) => sum + Number(m[1]), 0);
    };
    const seatMaps = async (n: number) => {
      for (let i = 0; i < n; i++)
        expect((await fetch(`${cluster.url}/v1/timeslots/1/seats`)).status).toBe(200);
    };
    expect(await (await fetch(`${cluster.admin}/seat-map-cache`)).json()).toEqual({ enabled: false });
    expect(await enabled()).toBe('0');
    await seatMaps(10);
    expect(await lookups()).toBe(0); // off: every seat map from Postgres, no cache lookup

    expect((await cluster.put('/seat-map-cache', { enabled: true }, null)).status).toBe(401);
    expect((await cluster.put('/seat-map-cache', { enabled: 'yes' })).status).toBe(400);
    expect((await cluster.put('/seat-map-cache', { enabled: true })).status).toBe(200);
    expect(await (await fetch(`${cluster.admin}/seat-map-cache`)).json()).toEqual({ enabled: true });
    await waitFor(async () => (await enabled()) === '1', 10_000, 'every worker to switch');
    await seatMaps(10);
    expect(await lookups()).toBe(10);

    // A worker forked after the switch starts with it too (the gauge is the minimum over the workers).
    expect((await cluster.put('/workers', { count: 3 })).status).toBe(200);
    await waitFor(async () => (await cluster.workers()).listening === 3, 30_000, 'three workers');
    expect(await enabled()).toBe('1');
  });
});

describe('keep-alive connections (HTTP_MAX_REQUESTS_PER_SOCKET)', () => {
  test('the service closes a keep-alive connection after that many requests, so clients reconnect', async () => {
    const port = await freePort();
    await group.start(
      serviceProcess({
        DATABASE_URL: database.url,
        PORT: String(port),
        MIGRATE_ON_START: 'false',
        QUEUE_TOKEN_SECRET: 'test-secret-test-secret-test-secret!',
        HTTP_MAX_REQUESTS_PER_SOCKET: '3',
      }),
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ connection: string | undefined; clientPort: number | undefined }>((resolve, reject) => {
        http
          .get({ port, host: '127.0.0.1', path: '/livez', agent }, (res) => {
            const clientPort = res.socket.localPort;
            res.resume();
            res.on('end', () => resolve({ connection: res.headers.connection, clientPort }));
          })
          .on('error', reject);
      });
    const answers = [await get(), await get(), await get(), await get()];
    agent.destroy();
    expect(answers.map((a) => a.connection)).toEqual(['keep-alive', 'keep-alive', 'close', 'keep-alive']);
    expect(answers.map((a) => a.clientPort === answers[0]!.clientPort)).toEqual([true, true, true, false]);
  });
});
