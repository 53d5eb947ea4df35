import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import { localIssuer, type Logger } from '@concert-booking/lib';
import type { Config } from '../config.js';
import { ProblemError } from '../http/problem.js';

/** Who is calling: the token's subject and the scopes it was granted. */
export interface Principal {
  userId: number;
  scopes: ReadonlySet<string>;
}

export interface Authenticator {
  /** The principal of an `Authorization: Bearer <jwt>` header; 401 for anything else. */
  authenticate(header: string | undefined): Promise<Principal>;
  /** The development issuer's public keys, served at /.well-known/jwks.json (undefined otherwise). */
  developmentJwks: JSONWebKeySet | undefined;
}

/** OIDC providers sign with RSA or P-256; anything else (HS256 with a public key, none) is refused. */
const ALGORITHMS = ['RS256', 'ES256'];
/** Our user ids are bigint keys: a subject is one, written in decimal. */
const USER_SUBJECT = /^[1-9][0-9]{0,14}$/;

export const unauthenticated = (detail: string) =>
  new ProblemError(
    401,
    'unauthenticated',
    'Unauthorized',
    detail,
    {},
    {
      'WWW-Authenticate': 'Bearer error="invalid_token"',
    },
  );

/** Everything jose refuses about a token itself; other failures (the JWKS unreachable) are ours. */
const isTokenError = (error: unknown) =>
  error instanceof errors.JOSEError && !(error instanceof errors.JWKSTimeout);

export function createAuthenticator(config: Config, logger: Logger): Authenticator {
  let issuer = config.AUTH_ISSUER;
  let audience = config.AUTH_AUDIENCE;
  let keys: JWTVerifyGetKey;
  let developmentJwks: JSONWebKeySet | undefined;
  if (config.DEVELOPMENT_ISSUER) {
    const local = localIssuer(config.AUTH_DEV_ISSUER_DIR);
    ({ issuer, audience } = local);
    developmentJwks = JSON.parse(readFileSync(local.jwksFile, 'utf8')) as JSONWebKeySet;
    keys = createLocalJWKSet(developmentJwks);
    logger.warn(
      { dir: config.AUTH_DEV_ISSUER_DIR, issuer },
      'no AUTH_ISSUER: running a development issuer (`npm run token -- --user 42` prints a token it accepts)',
    );
  } else if (config.AUTH_JWKS_URL) {
    // jose caches the set and fetches it again for an unknown kid (a rotated key), at most every 30 s.
    keys = createRemoteJWKSet(new URL(config.AUTH_JWKS_URL), {
      cooldownDuration: 30_000,
      timeoutDuration: 2_000,
    });
  } else {
    keys = createLocalJWKSet(JSON.parse(readFileSync(config.AUTH_JWKS_FILE!, 'utf8')) as JSONWebKeySet);
  }
  return {
    developmentJwks,
    async authenticate(header) {
      const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/.exec(header ?? '')?.[1];
      if (!token) throw unauthenticated('send a bearer token: Authorization: Bearer <jwt>');
      let payload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer,
          audience,
          algorithms: ALGORITHMS,
          clockTolerance: config.AUTH_CLOCK_SKEW_SECONDS,
          requiredClaims: ['exp', 'sub'],
        }));
      } catch (error) {
        if (isTokenError(error))
          throw unauthenticated(`the bearer token is not accepted: ${(error as Error).message}`);
        throw new ProblemError(
          503,
          'identity-unavailable',
          'Service Unavailable',
          'the signing keys could not be read',
          {},
          { 'Retry-After': '1' },
        );
      }
      if (!USER_SUBJECT.test(payload.sub ?? '')) throw unauthenticated('the token subject is not a user id');
      const scope = typeof payload.scope === 'string' ? payload.scope : '';
      return { userId: Number(payload.sub), scopes: new Set(scope.split(' ').filter(Boolean)) };
    },
  };
}
