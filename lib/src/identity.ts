/**
 * A local identity provider: an ES256 key pair in a folder of its own, its public half as a JWKS file, and
 * user tokens signed with it. The service runs one as its development issuer (`npm start`); `npm run token`,
 * the tests, the load runner and the drill sign with the same folder's key. Production verifies tokens of a
 * real identity provider instead (AUTH_ISSUER, AUTH_JWKS_URL; docs/deploy.md).
 */
import { createHash, generateKeyPairSync, type JsonWebKey } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SignJWT, importJWK } from 'jose';

export const DEV_ISSUER = 'urn:concert-booking:dev-issuer';
export const DEV_AUDIENCE = 'concert-booking';
/** Where `npm start` keeps the development issuer's key (the service's AUTH_DEV_ISSUER_DIR default). */
export const DEV_ISSUER_DIR = '.data/identity';
/** The scope a top-up needs (a payment provider's backend identity, never a user's own token). */
export const TOPUP_SCOPE = 'wallet:topup';

export interface LocalIssuer {
  issuer: string;
  audience: string;
  /** The public key set, the file AUTH_JWKS_FILE names. */
  jwksFile: string;
  /** The service settings that make it trust this issuer. */
  env: { AUTH_ISSUER: string; AUTH_AUDIENCE: string; AUTH_JWKS_FILE: string };
  /** A token whose subject is `userId`. */
  sign(userId: number | string, options?: { scopes?: string[]; ttlSeconds?: number }): Promise<string>;
}

const KEY_FILE = 'signing-key.jwk.json';
const JWKS_FILE = 'jwks.json';

/**
 * The issuer whose key lives in `dir`, creating the key on first use. Safe when several processes start
 * at once: the key file is created by a hard link, which fails when another process linked first, so all
 * of them read the one that won.
 */
export function localIssuer(dir: string, issuer = DEV_ISSUER, audience = DEV_AUDIENCE): LocalIssuer {
  // Only the key's own folder is private: a recursive mkdir would give the mode to every parent it creates
  // too, and a private .data would lock out the embedded PostgreSQL, which runs as another user.
  mkdirSync(dirname(dir), { recursive: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keyFile = join(dir, KEY_FILE);
  const privateJwk = readOrCreateKey(keyFile);
  const { d: _private, ...publicJwk } = privateJwk;
  const kid = thumbprint(publicJwk);
  const jwksFile = join(dir, JWKS_FILE);
  // Derived from the key, so concurrent writers write the same bytes; the rename makes each write whole.
  const scratch = `${jwksFile}.${process.pid}.tmp`;
  writeFileSync(scratch, JSON.stringify({ keys: [{ ...publicJwk, kid, alg: 'ES256', use: 'sig' }] }));
  renameSync(scratch, jwksFile);
  const signingKey = importJWK({ ...privateJwk, alg: 'ES256' } as never, 'ES256');
  return {
    issuer,
    audience,
    jwksFile,
    env: { AUTH_ISSUER: issuer, AUTH_AUDIENCE: audience, AUTH_JWKS_FILE: jwksFile },
    async sign(userId, { scopes = [], ttlSeconds = 3600 } = {}) {
      return new SignJWT(scopes.length > 0 ? { scope: scopes.join(' ') } : {})
        .setProtectedHeader({ alg: 'ES256', kid })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(String(userId))
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(await signingKey);
    },
  };
}

function readOrCreateKey(keyFile: string): JsonWebKey {
  try {
    return JSON.parse(readFileSync(keyFile, 'utf8')) as JsonWebKey;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const scratch = `${keyFile}.${process.pid}.tmp`;
  writeFileSync(scratch, JSON.stringify(privateKey.export({ format: 'jwk' })), { mode: 0o600 });
  try {
    linkSync(scratch, keyFile);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(scratch, { force: true });
  }
  return JSON.parse(readFileSync(keyFile, 'utf8')) as JsonWebKey;
}

/** The key's id, its RFC 7638 thumbprint (jose's is async; this runs where the key is read). */
function thumbprint(jwk: JsonWebKey): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}
