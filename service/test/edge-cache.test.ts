import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { cachingProxy } from '@concert-booking/devkit/caching-proxy';
import { ProcessGroup } from '@concert-booking/devkit/process';
import { freePort } from '@concert-booking/devkit/wait';
import { METRICS } from '@concert-booking/lib';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startTestService, type TestService } from './support/service.js';

const SEAT_MAP_ROUTE = '/v1/timeslots/:timeslotId/seats';
const TIMESLOTS = [1, 2];
const CODINGS = ['', 'gzip', 'gzip, deflate, br'];

let database: TestDatabase;
let origin: TestService;
let proxyUrl: string;
let proxyDir: string;
const processes = new ProcessGroup();

beforeAll(async () => {
  database = await createTestDatabase({ concerts: 1, timeslotsPerConcert: 2, seatsPerTimeslot: 500 });
  origin = await startTestService({ DATABASE_URL: database.url, MIGRATE_ON_START: 'false' });
  proxyDir = mkdtempSync(path.join(os.tmpdir(), 'caching-proxy-'));
  const port = await freePort();
  await processes.start(
    cachingProxy({ dir: proxyDir, port, upstreamPort: Number(new URL(origin.url).port) }),
  );
  proxyUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await processes.stopAll();
  if (proxyDir) rmSync(proxyDir, { recursive: true, force: true });
  await origin?.close();
  await database?.drop();
});

/** Seat-map requests the origin answered, by its own latency histogram (every status). */
async function originRequests(): Promise<number> {
  const { values } = await origin.service.registry.getSingleMetric(METRICS.httpRequestDuration)!.get();
  return values
    .filter(
      (value) =>
        (value as { metricName?: string }).metricName?.endsWith('_count') &&
        value.labels.route === SEAT_MAP_ROUTE,
    )
    .reduce((sum, value) => sum + value.value, 0);
}

function rawGet(url: string, headers: Record<string, string>) {
  return new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    http
      .get(url, { headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ headers: response.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

describe('the seat map behind a caching proxy (nginx)', () => {
  test('the proxy keeps one entry per coding, with its Vary and ETag, and serves it from cache', async () => {
    const direct = await rawGet(`${origin.url}/v1/timeslots/1/seats`, {});
    const first = await rawGet(`${proxyUrl}/v1/timeslots/1/seats`, { 'Accept-Encoding': 'gzip' });
    const second = await rawGet(`${proxyUrl}/v1/timeslots/1/seats`, { 'Accept-Encoding': 'gzip' });
    expect(second.headers['x-cache-status']).toBe('HIT');
    expect(second.headers).toMatchObject({
      'content-encoding': 'gzip',
      vary: 'Accept-Encoding',
      etag: first.headers.etag,
    });
    expect(gunzipSync(second.body)).toEqual(direct.body);
    const identity = await rawGet(`${proxyUrl}/v1/timeslots/1/seats`, {});
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(identity.body).toEqual(direct.body);
  });

  test('1,000 concurrent clients cause only a handful of origin requests per second', async () => {
    const before = await originRequests();
    const started = performance.now();
    let next = 0;
    const result = await autocannon({
      url: proxyUrl,
      connections: 1000,
      duration: 5,
      requests: [
        {
          setupRequest: (request) => {
            const n = next++;
            const coding = CODINGS[n % CODINGS.length]!;
            return {
              ...request,
              path: `/v1/timeslots/${TIMESLOTS[Math.floor(n / CODINGS.length) % TIMESLOTS.length]}/seats`,
              headers: { ...request.headers, ...(coding ? { 'accept-encoding': coding } : {}) },
            };
          },
        },
      ],
    });
    const seconds = (performance.now() - started) / 1000;
    const fromOrigin = (await originRequests()) - before;
    const variants = TIMESLOTS.length * CODINGS.length;
    console.log(
      `behind the proxy: ${result.requests.total} client requests in ${seconds.toFixed(1)} s ` +
        `(${Math.round(result.requests.total / seconds)}/s), ${fromOrigin} reached the origin ` +
        `(${(fromOrigin / seconds).toFixed(1)}/s for ${variants} cached variants)`,
    );
    expect(result.errors + result.timeouts + result.non2xx).toBe(0);
    // Each variant goes to the origin at most once per second of max-age: never more, however busy the machine.
    expect(fromOrigin).toBeLessThanOrEqual(variants * (Math.ceil(seconds) + 1));
    expect(fromOrigin).toBeGreaterThan(0);
    expect(result.requests.total).toBeGreaterThan(20 * fromOrigin);
  }, 60_000);
});
