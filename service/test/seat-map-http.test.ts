import http from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { startTestService, type TestService } from './support/service.js';

let database: TestDatabase;
let running: TestService;

beforeAll(async () => {
  database = await createTestDatabase({ concerts: 1, timeslotsPerConcert: 2, seatsPerTimeslot: 120 });
  running = await startTestService({
    DATABASE_URL: database.url,
    MIGRATE_ON_START: 'false',
    SEATMAP_STALE_WHILE_REVALIDATE_SECONDS: '7',
  });
});

afterAll(async () => {
  await running?.close();
  await database?.drop();
});

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** The bytes as sent: fetch() would ask for and undo the compression on its own. */
function raw(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${running.url}${path}`, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks) }),
      );
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

const SEATS = '/v1/timeslots/1/seats';

describe('the seat map over HTTP', () => {
  test('gzip and brotli decompress to the identity bytes, each with Vary and an ETag of its own', async () => {
    const identity = await raw(SEATS);
    const gzip = await raw(SEATS, { 'Accept-Encoding': 'gzip' });
    const br = await raw(SEATS, { 'Accept-Encoding': 'gzip;q=0.5, br' });
    expect([identity.status, gzip.status, br.status]).toEqual([200, 200, 200]);
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(br.headers['content-encoding']).toBe('br');
    expect(JSON.parse(identity.body.toString()).seats).toHaveLength(120);
    expect(gunzipSync(gzip.body)).toEqual(identity.body);
    expect(brotliDecompressSync(br.body)).toEqual(identity.body);
    expect(Number(gzip.headers['content-length'])).toBe(gzip.body.length);
    expect(gzip.body.length).toBeLessThan(identity.body.length / 4);
    for (const response of [identity, gzip, br]) {
      expect(response.headers.vary).toBe('Accept-Encoding');
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(response.headers['cache-control']).toBe('public, max-age=1, stale-while-revalidate=7');
    }
    const etags = [identity, gzip, br].map((response) => response.headers.etag);
    expect(new Set(etags).size).toBe(3);
  });

  test('If-None-Match answers 304 only for the ETag of the representation it would send', async () => {
    const gzip = await raw(SEATS, { 'Accept-Encoding': 'gzip' });
    const etag = gzip.headers.etag!;
    const notModified = await raw(SEATS, { 'Accept-Encoding': 'gzip', 'If-None-Match': etag });
    expect(notModified.status).toBe(304);
    expect(notModified.body.length).toBe(0);
    expect(notModified.headers).toMatchObject({ etag, vary: 'Accept-Encoding' });
    expect(notModified.headers['cache-control']).toMatch(/^public, max-age=1/);
    const weak = await raw(SEATS, { 'Accept-Encoding': 'gzip', 'If-None-Match': `W/${etag}` });
    expect(weak.status).toBe(304);
    // The gzip tag names other bytes than the identity ones: a client without gzip gets the full body.
    const identity = await raw(SEATS, { 'If-None-Match': etag });
    expect(identity.status).toBe(200);
    expect(identity.headers['content-encoding']).toBeUndefined();
  });

  test('a seat change gives every coding a new ETag', async () => {
    const before = await raw('/v1/timeslots/2/seats', { 'Accept-Encoding': 'br' });
    await database.db('seats').where({ timeslot_id: 2, number: 3 }).update({ status: 'SOLD' });
    await running.service.seatMaps.invalidate(2);
    const after = await raw('/v1/timeslots/2/seats', { 'Accept-Encoding': 'br' });
    expect(after.headers.etag).not.toBe(before.headers.etag);
    const seats = JSON.parse(brotliDecompressSync(after.body).toString()).seats as { status: string }[];
    expect(seats[2]!.status).toBe('SOLD');
  });

  test('the hot route keeps the request id, problem+json and the latency histogram by route template', async () => {
    const echoed = await raw(SEATS, { 'X-Request-Id': 'client-chosen.id-1' });
    expect(echoed.headers['x-request-id']).toBe('client-chosen.id-1');
    const made = await raw(SEATS, { 'X-Request-Id': 'no spaces allowed' });
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    const invalid = await raw('/v1/timeslots/abc/seats', { 'X-Request-Id': 'bad-id-request' });
    expect(invalid.status).toBe(400);
    expect(invalid.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(invalid.body.toString())).toMatchObject({
      status: 400,
      instance: 'urn:request:bad-id-request',
    });
    const missing = await raw('/v1/timeslots/999999/seats');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body.toString())).toMatchObject({ type: '/problems/not-found' });

    // On the admin port: /metrics is never served on the API.
    expect((await raw('/metrics')).status).toBe(404);
    const metrics = await (await fetch(`${running.adminUrl}/metrics`)).text();
    const count = (status: number) =>
      Number(
        new RegExp(
          `http_request_duration_seconds_count\\{method="GET",route="/v1/timeslots/:timeslotId/seats",status="${status}"\\} (\\d+)`,
        ).exec(metrics)?.[1] ?? 0,
      );
    expect(count(200)).toBeGreaterThanOrEqual(2);
    expect(count(400)).toBeGreaterThanOrEqual(1);
    expect(count(404)).toBeGreaterThanOrEqual(1);
  });

  test('what the hot route does not match exactly is still served by the router', async () => {
    const encoded = await raw('/v1/timeslots/%31/seats');
    expect(encoded.status).toBe(200);
    expect(JSON.parse(encoded.body.toString()).timeslotId).toBe(1);
    const head = await raw(SEATS, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    const post = await raw(SEATS, {}, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});
