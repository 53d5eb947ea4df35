import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Context } from 'koa';
import Negotiator from 'negotiator';
import { ifNoneMatchHits } from './conditional.js';

export type ContentCoding = 'br' | 'gzip' | 'identity';

/** One representation of a resource (RFC 9110 §3.2): its bytes and the entity tag that names exactly them. */
export interface Representation {
  body: Buffer;
  etag: string;
}

/** A body as sent uncompressed and, when prepared, compressed: each its own representation and ETag. */
export interface Representations {
  identity: Representation;
  gzip?: Representation;
  br?: Representation;
}

const gzip = promisify(zlib.gzip);
const brotli = promisify(zlib.brotliCompress);
/**
 * Brotli 6 is within 15% of quality 11's size on a seat map at about 1/100 of its CPU (1 ms against 130 ms
 * for 37 KB of JSON): a fill happens every second per hot timeslot and replica.
 */
const BROTLI_OPTIONS = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 6 } };

const hashOf = (body: Buffer) => createHash('sha1').update(body).digest('base64url');

export const identityOnly = (body: Buffer): Representations => ({
  identity: { body, etag: `"${hashOf(body)}"` },
});

/** Compresses once (on the thread pool, off the event loop), for every request that the result serves. */
export async function compressedRepresentations(body: Buffer): Promise<Representations> {
  const [gzipped, brotlied] = await Promise.all([gzip(body), brotli(body, BROTLI_OPTIONS)]);
  // Every coding's ETag shares the identity body's hash: a change of content changes them all.
  const hash = hashOf(body);
  return {
    identity: { body, etag: `"${hash}"` },
    gzip: { body: gzipped, etag: `"${hash}-gzip"` },
    br: { body: brotlied, etag: `"${hash}-br"` },
  };
}

/** Ours, in our order of preference when the client's q-values tie: the smallest first. */
const CODINGS: ContentCoding[] = ['br', 'gzip', 'identity'];
/** Clients send a handful of distinct Accept-Encoding values; a bound keeps made-up ones from growing it. */
const MAX_REMEMBERED = 256;
const remembered = new Map<string, readonly ContentCoding[]>();

/**
 * Our codings that an `Accept-Encoding` header accepts, most preferred first (RFC 9110 §12.5.3: q-values
 * honoured, ties broken by our order, `identity` acceptable unless excluded). Memoized per header value: the seat map's hot path asks
 * on every request.
 */
export function acceptedCodings(header: string | undefined): readonly ContentCoding[] {
  const key = header ?? '';
  let accepted = remembered.get(key);
  if (!accepted) {
    // negotiator 1.x takes the tie-break order too; @types/negotiator still describes 0.6.
    const negotiator = new Negotiator({ headers: { 'accept-encoding': key } }) as unknown as {
      encodings(available: readonly string[], options: { preferred: readonly string[] }): ContentCoding[];
    };
    accepted = negotiator.encodings(CODINGS, { preferred: CODINGS });
    if (remembered.size >= MAX_REMEMBERED) remembered.clear();
    remembered.set(key, accepted);
  }
  return accepted;
}

/**
 * The representation to send: the most preferred accepted coding that was prepared; identity when none is
 * (RFC 9110 §12.5.3: a server SHOULD then send the content without a coding, rather than a 406).
 */
export function chooseRepresentation(
  representations: Representations,
  acceptEncoding: string | undefined,
): { coding: ContentCoding; representation: Representation } {
  for (const coding of acceptedCodings(acceptEncoding)) {
    const representation = representations[coding];
    if (representation) return { coding, representation };
  }
  return { coding: 'identity', representation: representations.identity };
}

/**
 * Answers a GET with the representation the client accepts: `Vary: Accept-Encoding` (caches keep one entry
 * per coding), its ETag, `cacheControl`, and 304 when If-None-Match names that representation.
 */
export function sendRepresentation(
  ctx: Context,
  representations: Representations,
  contentType: string,
  cacheControl: string,
): void {
  const { coding, representation } = chooseRepresentation(representations, ctx.get('accept-encoding'));
  ctx.set('Vary', 'Accept-Encoding');
  ctx.set('ETag', representation.etag);
  ctx.set('Cache-Control', cacheControl);
  if (ifNoneMatchHits(ctx.get('if-none-match'), representation.etag)) {
    ctx.status = 304;
    return;
  }
  if (coding !== 'identity') ctx.set('Content-Encoding', coding);
  ctx.set('Content-Type', contentType);
  ctx.body = representation.body;
}
