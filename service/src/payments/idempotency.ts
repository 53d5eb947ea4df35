import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { z } from 'zod';
import { ProblemError } from '../http/problem.js';

/**
 * Idempotency keys (the IETF httpapi Idempotency-Key draft): the first result of a key is
 * stored and replayed; the same key with another request is 422; a retry while the first
 * still runs is 409. The stored result commits in the same transaction as the effect.
 */
export const idempotencyKeyHeader = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
  .optional();

export interface StoredKey {
  requestHash: string;
  state: 'IN_PROGRESS' | 'DONE';
  lockedAt: number;
  expiresAt: number;
}

export type IdempotencyDecision = 'execute' | 'replay' | 'mismatch' | 'in-progress' | 'take-over';

/** Longer than any request can run: an older IN_PROGRESS key belongs to a request that died. */
export const IN_PROGRESS_TIMEOUT_MS = 60_000;

/** What to do with a request that carries a key, given what is stored under it. */
export function decideIdempotency(
  existing: StoredKey | undefined,
  requestHash: string,
  nowMs: number,
  inProgressTimeoutMs = IN_PROGRESS_TIMEOUT_MS,
): IdempotencyDecision {
  if (!existing) return 'execute';
  if (existing.expiresAt <= nowMs) return 'take-over';
  if (existing.requestHash !== requestHash) return 'mismatch';
  if (existing.state === 'DONE') return 'replay';
  return nowMs - existing.lockedAt < inProgressTimeoutMs ? 'in-progress' : 'take-over';
}

export const requestHash = (request: unknown) =>
  createHash('sha256').update(JSON.stringify(request)).digest('hex');

export interface StoredResponse {
  status: number;
  body: unknown;
}

export interface IdempotentRequest {
  /** Keys are per operation and caller: another user's identical key is another key. */
  scope: string;
  key: string | undefined;
  request: unknown;
  ttlSeconds: number;
  /**
   * Checked only when the request is to run (not for a replay); its refusal is not stored,
   * so the same key works once the caller may proceed.
   */
  authorize?: () => Promise<unknown>;
}

/** Writes the response under the key; call it inside the transaction that makes the effect. */
export type MarkDone = (trx: Knex.Transaction, response: StoredResponse) => Promise<void>;

interface KeyRow {
  request_hash: string;
  state: 'IN_PROGRESS' | 'DONE';
  response_status: number | null;
  response_body: unknown;
  locked_at: Date;
  expires_at: Date;
}

const MAX_CLAIM_ATTEMPTS = 3;

/**
 * Runs `execute` at most once per key. Client errors (ProblemError) are stored and replayed
 * like successes; anything else releases the key so a retry runs again.
 */
export async function runIdempotent(
  db: Knex,
  request: IdempotentRequest,
  execute: (markDone: MarkDone) => Promise<StoredResponse>,
): Promise<StoredResponse & { replayed: boolean }> {
  const { scope, key } = request;
  if (key === undefined) {
    await request.authorize?.();
    return { ...(await execute(async () => undefined)), replayed: false };
  }
  const hash = requestHash(request.request);
  const lockedAt = await claim(db, scope, key, hash, request.ttlSeconds);
  if (!(lockedAt instanceof Date)) return { ...lockedAt, replayed: true };

  const keyRow = () => db('idempotency_keys').where({ scope, key, locked_at: lockedAt });
  const release = () =>
    keyRow()
      .delete()
      .catch(() => undefined);
  try {
    await request.authorize?.();
  } catch (error) {
    await release();
    throw error;
  }
  const markDone: MarkDone = async (trx, response) => {
    await trx('idempotency_keys')
      .where({ scope, key, locked_at: lockedAt })
      .update({
        state: 'DONE',
        response_status: response.status,
        response_body: JSON.stringify(response.body),
      });
  };
  try {
    return { ...(await execute(markDone)), replayed: false };
  } catch (error) {
    if (error instanceof ProblemError && error.status < 500) {
      await keyRow().update({
        state: 'DONE',
        response_status: error.status,
        response_body: JSON.stringify(error.toBody()),
      });
    } else {
      await release();
    }
    throw error;
  }
}

/** Our lock on the key (its locked_at), or the stored response to replay. */
async function claim(
  db: Knex,
  scope: string,
  key: string,
  hash: string,
  ttlSeconds: number,
): Promise<Date | StoredResponse> {
  for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
    const now = new Date();
    const fresh = {
      request_hash: hash,
      state: 'IN_PROGRESS',
      response_status: null,
      response_body: null,
      locked_at: now,
    };
    const expiresAt = new Date(now.getTime() + ttlSeconds * 1000);
    const inserted = await db('idempotency_keys')
      .insert({ scope, key, ...fresh, expires_at: expiresAt })
      .onConflict(['scope', 'key'])
      .ignore()
      .returning('key');
    if (inserted.length > 0) return now;

    const row = (await db('idempotency_keys').where({ scope, key }).first()) as KeyRow | undefined;
    const stored = row && {
      requestHash: row.request_hash,
      state: row.state,
      lockedAt: row.locked_at.getTime(),
      expiresAt: row.expires_at.getTime(),
    };
    switch (decideIdempotency(stored, hash, now.getTime())) {
      case 'replay':
        return { status: row!.response_status!, body: row!.response_body };
      case 'mismatch':
        throw new ProblemError(
          422,
          'idempotency-key-reused',
          'Unprocessable Content',
          'this Idempotency-Key was used for a different request',
        );
      case 'in-progress':
        throw new ProblemError(
          409,
          'idempotency-request-in-progress',
          'Conflict',
          'a request with this Idempotency-Key is still running: retry shortly',
        );
      case 'take-over': {
        // Only one contender wins the stale row: the update matches the lock it read.
        const taken = await db('idempotency_keys')
          .where({ scope, key, locked_at: row!.locked_at })
          .update({ ...fresh, expires_at: expiresAt });
        if (taken === 1) return now;
        break;
      }
      case 'execute':
        break; // deleted between our insert and read: try again
    }
  }
  throw new ProblemError(
    409,
    'idempotency-request-in-progress',
    'Conflict',
    'the Idempotency-Key is contended: retry',
  );
}

/** Deletes keys past their expiry, a batch at a time. */
export async function purgeExpiredKeys(db: Knex, batchSize: number): Promise<number> {
  const { rowCount } = await db.raw<{ rowCount: number }>(
    `delete from idempotency_keys where ctid in (
       select ctid from idempotency_keys where expires_at <= now() limit ? for update skip locked)`,
    [batchSize],
  );
  return rowCount;
}
