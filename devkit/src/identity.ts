/**
 * The test issuer: a local identity provider (lib's localIssuer) whose key lives in TEST_ISSUER_DIR, so every
 * test, bench and drill process signs with the one key the services they start trust (serviceProcess and
 * the tests' startTestService configure it). Not `npm start`'s key: a test never depends on a developer's.
 */
import { fileURLToPath } from 'node:url';
import { localIssuer, type LocalIssuer } from '@concert-booking/lib';

/** For `npm run load -- booking-flow --issuer-dir` and `npm run token -- --dir` (programs.ts imports this). */
export const TEST_ISSUER_DIR = fileURLToPath(new URL('../../.data/test-issuer', import.meta.url));

let issuer: LocalIssuer | undefined;

export function testIssuer(): LocalIssuer {
  issuer ??= localIssuer(TEST_ISSUER_DIR);
  return issuer;
}

/** `Authorization: Bearer <jwt>` of `userId`. */
export async function bearer(userId: number, scopes: string[] = []): Promise<{ Authorization: string }> {
  return { Authorization: `Bearer ${await testIssuer().sign(userId, { scopes })}` };
}
