import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import autocannon from 'autocannon';
import { cachingProxy } from '@concert-booking/devkit/caching-proxy';
import { fetchHistogramCount } from '@concert-booking/devkit/metrics-text';
import { ProcessGroup } from '@concert-booking/devkit/process';
import { serviceProcess } from '@concert-booking/devkit/programs';
import { freePort } from '@concert-booking/devkit/wait';
import { METRICS } from '@concert-booking/lib';
import { createTestDatabase, type TestDatabase } from './support/database.js';

const SEAT_MAP_ROUTE = '/v1/timeslots/:timeslotId/seats';
const TIMESLOTS = [1, 2];
const CODINGS = ['', 'gzip', 'gzip, deflate, br'];

let database: TestDatabase;
let originUrl: string;
/** The origin's admin port, where its /metrics is (never on the public port). */
let originAdminUrl: string;
let proxyUrl: string;
let proxyDir: string;
const processes = new ProcessGroup();

beforeAll(async () => {
  database = await createTestDatabase({ concerts: 1, timeslotsPerConcert: 2, seatsPerTimeslot: 500 });
  // A process of its own, as in production: the 1,000 clients of this test must not starve it.
  const [originPort, adminPort] = await Promise.all([freePort(), freePort()]);
  await processes.start(
    serviceProcess({
      DATABASE_URL: database.url,
      PORT: String(originPort),
      ADMIN_PORT: String(adminPort),
      MIGRATE_ON_START: 'false',
      QUEUE_TOKEN_SECRET: 'edge-cache-test-secret-edge-cache-test',
    }),
  );
  originUrl = `http://127.0.0.1:${originPort}`;
  originAdminUrl = `http://127.0.0.1:${adminPort}`;
  proxyDir = mkdtempSync(path.join(os.tmpdir(), 'caching-proxy-'));
  const port = await freePort();
  await processes.start(cachingProxy({ dir: proxyDir, port, upstreamPort: originPort }));
  proxyUrl = `http://127.0.0.1:${port}`;
}, 120_000);

afterAll(async () => {
  await processes.stopAll();
  if (proxyDir) rmSync(proxyDir, { recursive: true, force: true });
  await database?.drop();
});

/** Seat-map requests the origin answered, by its own latency histogram (every status). */
const originRequests = () =>
  fetchHistogramCount(`${originAdminUrl}/metrics`, METRICS.httpRequestDuration, { route: SEAT_MAP_ROUTE });

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
    const direct = await rawGet(`${originUrl}/v1/timeslots/1/seats`, {});
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
      // The claim is about the origin: a slow answer on a busy machine is no failure of it.
      timeout: 60,
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
      `behind the proxy: ${result['2xx']} answers in ${seconds.toFixed(1)} s ` +
        `(${Math.round(result['2xx'] / seconds)}/s), ${fromOrigin} reached the origin ` +
        `(${(fromOrigin / seconds).toFixed(1)}/s for ${variants} cached variants)`,
    );
    expect(result.non2xx).toBe(0);
    // The first test already read two of the variants, so each of those expires within its max-age and is
    // refreshed (in the background) at least once in 5 s; the others are fetched at least once.
    expect(fromOrigin).toBeGreaterThanOrEqual(variants);
    // Each variant goes to the origin at most once per second of max-age: never more, however busy the machine.
    expect(fromOrigin).toBeLessThanOrEqual(variants * (Math.ceil(seconds) + 1));
    expect(result['2xx']).toBeGreaterThan(10 * Math.max(1, fromOrigin));
  }, 120_000);
});
