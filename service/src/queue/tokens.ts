import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Waiting-room tokens: `v1.<payload>.<signature>`, base64url, HMAC-SHA256 over the payload.
 * The signature proves who the token was issued to; its state (waiting, active, used up)
 * lives in the queue store.
 */
export interface QueueToken {
  /** The user the token was issued to. */
  sub: number;
  /** The token's id in the queue store. */
  jti: string;
  /** Issued at, epoch ms. */
  iat: number;
}

const payloadSchema = z.object({
  sub: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  jti: z.string().regex(/^[0-9a-f-]{36}$/),
  iat: z.number().int().nonnegative(),
});

const PREFIX = 'v1';

const sign = (secret: string, payload: string) =>
  createHmac('sha256', secret).update(`${PREFIX}.${payload}`).digest();

export function issueToken(
  secret: string,
  userId: number,
  nowMs: number,
): { token: string; claims: QueueToken } {
  const claims: QueueToken = { sub: userId, jti: randomUUID(), iat: nowMs };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return { token: `${PREFIX}.${payload}.${sign(secret, payload).toString('base64url')}`, claims };
}

/** The claims of a token signed with `secret`; null for anything forged, altered or malformed. */
export function verifyToken(secret: string, token: string): QueueToken | null {
  const [prefix, payload, signature, ...rest] = token.split('.');
  if (prefix !== PREFIX || !payload || !signature || rest.length > 0) return null;
  const given = Buffer.from(signature, 'base64url');
  const expected = sign(secret, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const parsed = payloadSchema.safeParse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
