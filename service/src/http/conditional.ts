/**
 * RFC 9110 §13.1.2 If-None-Match for GET: true when any listed tag matches (weak comparison)
 * or the header is `*`. Koa's `ctx.fresh` is not used: it ignores validators whenever the request
 * says `Cache-Control: no-cache`, which fetch() adds to every conditional request.
 */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  const opaque = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => opaque(tag) === opaque(etag));
}
