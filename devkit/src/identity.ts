/**
 * The test issuer: a local identity provider (lib's localIssuer) whose key lives under .data/test-issuer, so
 * every test, bench and drill process signs with the one key the services they start are told to trust.
 */
import { join } from 'node:path';
import { localIssuer, type LocalIssuer } from '@concert-booking/lib';
import { ROOT } from './programs.js';

export const TEST_ISSUER = 'urn:concert-booking:test-issuer';

let issuer: LocalIssuer | undefined;

export function testIssuer(): LocalIssuer {
  issuer ??= localIssuer(join(ROOT, '.data/test-issuer'), TEST_ISSUER);
  return issuer;
}

/** `Authorization: Bearer <jwt>` of `userId`. */
export async function bearer(userId: number, scopes: string[] = []): Promise<{ Authorization: string }> {
  return { Authorization: `Bearer ${await testIssuer().sign(userId, { scopes })}` };
}
