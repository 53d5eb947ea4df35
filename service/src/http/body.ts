import type { Context } from 'koa';
import { ProblemError, badRequest } from './problem.js';

/**
 * Reads a JSON request body up to `limit` bytes. 415 for another media type, 413 past the
 * limit (counted as it streams, so a lying Content-Length cannot get more in), 400 for bad JSON.
 */
export async function readJsonBody(ctx: Context, limit: number): Promise<unknown> {
  const length = Number(ctx.get('content-length') || 0);
  if (length === 0 && !ctx.get('transfer-encoding')) return undefined;
  if (!ctx.is('application/json')) {
    throw new ProblemError(415, 'unsupported-media-type', 'Unsupported Media Type', 'send application/json');
  }
  if (length > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`malformed JSON: ${(error as Error).message}`);
  }
}

const tooLarge = (limit: number) =>
  new ProblemError(413, 'content-too-large', 'Content Too Large', `the body limit is ${limit} bytes`);
