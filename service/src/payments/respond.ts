import type { Context } from 'koa';
import type { StoredResponse } from './idempotency.js';

/** Answers with a result that may come from an Idempotency-Key (a replayed problem stays problem+json). */
export function sendStored(ctx: Context, result: StoredResponse & { replayed: boolean }): void {
  ctx.status = result.status;
  ctx.body = result.body;
  if (result.status >= 400) ctx.type = 'application/problem+json';
  if (result.replayed) ctx.set('Idempotent-Replayed', 'true');
}
