import { timingSafeEqual } from 'node:crypto';

/** True when `header` is `Bearer <token>`; compares in constant time so timing tells nothing of the token. */
export function bearerMatches(header: string | undefined, token: string | undefined): boolean {
  if (!token || !header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice('Bearer '.length));
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
