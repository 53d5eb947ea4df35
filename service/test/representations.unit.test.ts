import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import {
  acceptedCodings,
  chooseRepresentation,
  compressedRepresentations,
  identityOnly,
} from '../src/http/representations.js';
import { seatMapCacheControl } from '../src/catalog/routes.js';

test.each([
  [undefined, ['identity']],
  ['', ['identity']],
  ['gzip', ['gzip', 'identity']],
  ['br', ['br', 'identity']],
  ['gzip, deflate, br', ['br', 'gzip', 'identity']],
  ['gzip;q=1, br;q=0.999', ['gzip', 'br', 'identity']],
  ['br;q=1.0, gzip;q=0.8, *;q=0.1', ['br', 'gzip', 'identity']],
  ['gzip;q=0.5, br;q=0.9', ['br', 'gzip', 'identity']],
  ['gzip;q=0, br', ['br', 'identity']],
  ['*', ['br', 'gzip', 'identity']],
  ['identity', ['identity']],
  ['gzip, identity;q=0', ['gzip']],
  ['*;q=0', []],
  ['GZIP', ['gzip', 'identity']],
  ['compress, deflate', ['identity']],
  ['gzip;q=abc', ['identity']],
])('Accept-Encoding %p accepts %p, most preferred first', (header, codings) => {
  expect(acceptedCodings(header)).toEqual(codings);
});

const body = Buffer.from(JSON.stringify({ seats: Array.from({ length: 200 }, (_, id) => ({ id })) }));

test.each([
  [undefined, 'identity'],
  ['gzip, br', 'br'],
  ['gzip, br;q=0.5', 'gzip'],
  ['deflate', 'identity'],
  ['*;q=0', 'identity'],
  ['gzip, identity;q=0', 'gzip'],
])('with every coding prepared, Accept-Encoding %p gets %p', async (header, coding) => {
  const representations = await compressedRepresentations(body);
  expect(chooseRepresentation(representations, header).coding).toBe(coding);
});

test('without compressed codings prepared, every request gets identity', () => {
  expect(chooseRepresentation(identityOnly(body), 'br, gzip')).toEqual({
    coding: 'identity',
    representation: identityOnly(body).identity,
  });
});

test('each coding decompresses to the same bytes and has an ETag of its own', async () => {
  const { identity, gzip, br } = await compressedRepresentations(body);
  expect(gunzipSync(gzip!.body)).toEqual(body);
  expect(brotliDecompressSync(br!.body)).toEqual(body);
  expect(gzip!.body.length).toBeLessThan(body.length / 4);
  expect(new Set([identity.etag, gzip!.etag, br!.etag]).size).toBe(3);
  expect(identity.etag).toBe(identityOnly(body).identity.etag);
  const changed = await compressedRepresentations(Buffer.concat([body, Buffer.from(' ')]));
  expect(changed.gzip!.etag).not.toBe(gzip!.etag);
  expect(changed.br!.etag).not.toBe(br!.etag);
});

test.each([
  [5, 'public, max-age=1, stale-while-revalidate=5'],
  [0, 'public, max-age=1'],
])('the seat map with stale-while-revalidate %p is sent with Cache-Control %p', (seconds, header) => {
  expect(seatMapCacheControl(seconds)).toBe(header);
});
