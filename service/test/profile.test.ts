import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { runProcess } from '@concert-booking/devkit/process';
import { ROOT } from '@concert-booking/devkit/programs';
import { waitFor } from '@concert-booking/devkit/wait';
import { startTestService, type TestService } from './support/service.js';
import { Diagnostics, DiagnosticsBusyError, type CpuProfile } from '../src/diagnostics/profiler.js';
import { foldStacks } from '../tools/flamegraph.js';

const TOKEN = 'profile-test-token-0123456789';
const SEAT_MAP_FRAME = 'findSeatMap service/src/catalog/queries.ts';

let database: TestDatabase;
let secrets: string;
let running: TestService;

beforeAll(async () => {
  database = await createTestDatabase({ concerts: 1, timeslotsPerConcert: 2, seatsPerTimeslot: 1000 });
  secrets = await mkdtemp(path.join(os.tmpdir(), 'profile-test-'));
  await writeFile(path.join(secrets, 'admin-token'), `${TOKEN}\n`);
  running = await startTestService({
    DATABASE_URL: database.url,
    MIGRATE_ON_START: 'false',
    // Every seat-map request runs the query, so the profile has the service's own frames in it.
    SEATMAP_CACHE_ENABLED: 'false',
    ADMIN_TOKEN_FILE: path.join(secrets, 'admin-token'),
  });
});

afterAll(async () => {
  await running?.close();
  await database?.drop();
  if (secrets) await rm(secrets, { recursive: true, force: true });
});

/** `authorization: null` sends no Authorization header. */
const post = (pathAndQuery: string, authorization: string | null = `Bearer ${TOKEN}`) =>
  fetch(`${running.adminUrl}${pathAndQuery}`, {
    method: 'POST',
    headers: authorization ? { authorization } : {},
  });

/** Seat-map requests back to back on `connections` connections until `until` settles. */
async function seatMapLoad(until: Promise<unknown>, connections = 4): Promise<number> {
  let done = false;
  void until.finally(() => (done = true));
  let served = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (!done) {
        const response = await fetch(`${running.url}/v1/timeslots/1/seats`);
        await response.arrayBuffer();
        if (response.ok) served += 1;
      }
    }),
  );
  return served;
}

describe('POST /admin/profile', () => {
  test('is not there (404) when no admin token is configured', async () => {
    const off = await startTestService({ DATABASE_URL: database.url, MIGRATE_ON_START: 'false' });
    try {
      const response = await fetch(`${off.adminUrl}/admin/profile?seconds=1`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(response.status).toBe(404);
      const openapi = (await (await fetch(`${off.adminUrl}/openapi.json`)).json()) as {
        paths: Record<string, unknown>;
      };
      expect(openapi.paths['/admin/profile']).toBeUndefined();
    } finally {
      await off.close();
    }
  });

  test('is declared in the OpenAPI document when configured', async () => {
    const openapi = (await (await fetch(`${running.adminUrl}/openapi.json`)).json()) as {
      paths: Record<string, { post?: { operationId: string; parameters: { name: string }[] } }>;
    };
    expect(openapi.paths['/admin/profile']?.post?.operationId).toBe('recordCpuProfile');
    expect(openapi.paths['/admin/profile']?.post?.parameters.map((p) => p.name)).toEqual(['seconds']);
    expect(openapi.paths['/admin/heap-snapshot']?.post?.operationId).toBe('takeHeapSnapshot');
  });

  test.each([
    ['no authorization header', null],
    ['another scheme', `Basic ${TOKEN}`],
    ['a wrong token of the same length', `Bearer ${TOKEN.slice(0, -1)}x`],
    ['the token with a suffix', `Bearer ${TOKEN}0`],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, 5)}`],
  ])('refuses %s with 401', async (_, authorization) => {
    const response = await post('/admin/profile?seconds=1', authorization);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await response.json()).toMatchObject({ status: 401, type: '/problems/admin-token' });
  });

  test.each(['0', '61', '1.5', 'abc', ''])('refuses seconds=%s with 400', async (seconds) => {
    const response = await post(`/admin/profile?seconds=${seconds}`);
    expect(response.status).toBe(400);
  });

  test('returns a profile with samples from the service code under load', async () => {
    const profiled = post('/admin/profile?seconds=2');
    const served = await seatMapLoad(profiled);
    const response = await profiled;
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(
      new RegExp(`^attachment; filename="[^"]+-${process.pid}-[^"]+\\.cpuprofile"$`),
    );
    const profile = (await response.json()) as CpuProfile;
    expect(served).toBeGreaterThan(0);
    expect(profile.nodes.length).toBeGreaterThan(1);
    expect(profile.samples?.length).toBeGreaterThan(0);
    expect(profile.timeDeltas).toHaveLength(profile.samples!.length);
    expect(profile.endTime).toBeGreaterThan(profile.startTime);

    const stacks = foldStacks(profile, process.cwd());
    const samplesIn = (frame: string) =>
      [...stacks].filter(([stack]) => stack.split(';').includes(frame)).reduce((sum, [, n]) => sum + n, 0);
    expect(samplesIn(SEAT_MAP_FRAME)).toBeGreaterThan(0);

    // The flamegraph command draws those frames.
    const folder = await mkdtemp(path.join(os.tmpdir(), 'flamegraph-test-'));
    try {
      const input = path.join(folder, 'seat-map.cpuprofile');
      await writeFile(input, JSON.stringify(profile));
      const stdout = await runProcess({
        name: 'flamegraph',
        command: process.execPath,
        args: ['--import', 'tsx', 'service/tools/flamegraph-cli.ts', input],
        cwd: ROOT,
      });
      expect(stdout).toContain(`flamegraph: ${path.join(folder, 'seat-map.svg')}`);
      const svg = await readFile(path.join(folder, 'seat-map.svg'), 'utf8');
      expect(svg).toMatch(/^<svg /);
      expect(svg).toContain(`aria-label="${SEAT_MAP_FRAME}: `);
      const folded = await readFile(path.join(folder, 'seat-map.folded'), 'utf8');
      expect(folded).toContain(SEAT_MAP_FRAME);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  test('refuses a second profile while one runs (409), then accepts again', async () => {
    const first = post('/admin/profile?seconds=3');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await waitFor(async () => (await post('/admin/profile?seconds=1')).status === 409, 2_500, 'a 409');
    const snapshot = await post('/admin/heap-snapshot');
    expect(snapshot.status).toBe(409);
    expect(await snapshot.json()).toMatchObject({ status: 409, type: '/problems/diagnosis-running' });
    expect((await first).status).toBe(200);
    expect((await post('/admin/profile?seconds=1')).status).toBe(200);
  });
});

describe('POST /admin/heap-snapshot', () => {
  test('refuses without the token', async () => {
    expect((await post('/admin/heap-snapshot', null)).status).toBe(401);
  });

  test('returns a heap snapshot that parses', async () => {
    const response = await post('/admin/heap-snapshot');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(/\.heapsnapshot"$/);
    const snapshot = (await response.json()) as {
      snapshot: { meta: { node_fields: string[] }; node_count: number };
    };
    expect(snapshot.snapshot.meta.node_fields).toContain('name');
    expect(snapshot.snapshot.node_count).toBeGreaterThan(1000);
    // A snapshot of the whole jest worker: on a busy 2-core machine it takes more than the default minute.
  }, 180_000);
});

describe('Diagnostics', () => {
  test('runs one diagnosis at a time and bounds the duration', async () => {
    const diagnostics = new Diagnostics();
    const first = diagnostics.cpuProfile(1);
    expect(diagnostics.running).toBe('CPU profile');
    await expect(diagnostics.cpuProfile(1)).rejects.toBeInstanceOf(DiagnosticsBusyError);
    await expect(diagnostics.heapSnapshot(() => undefined)).rejects.toBeInstanceOf(DiagnosticsBusyError);
    expect((await first).samples?.length).toBeGreaterThan(0);
    expect(diagnostics.running).toBeUndefined();
    await expect(diagnostics.cpuProfile(0)).rejects.toBeInstanceOf(RangeError);
    await expect(diagnostics.cpuProfile(61)).rejects.toBeInstanceOf(RangeError);
  });
});
