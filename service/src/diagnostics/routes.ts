import os from 'node:os';
import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import { z } from 'zod';
import { bearerMatches } from '@concert-booking/lib';
import { conflict, unauthorized } from '../http/problem.js';
import { route, type RouteSpec } from '../http/routes.js';
import { Diagnostics, DiagnosticsBusyError, PROFILE_SECONDS } from './profiler.js';

export const profileQuery = z.object({
  seconds: z
    .string()
    .regex(/^[0-9]{1,2}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(PROFILE_SECONDS.min).max(PROFILE_SECONDS.max))
    .default(PROFILE_SECONDS.default),
});

const problems = {
  401: { description: 'Missing or wrong bearer token (the content of ADMIN_TOKEN_FILE)' },
  409: { description: 'A profile or heap snapshot is already running in this process' },
};

/** `<host>-<pid>-<time>.<extension>`: says which pod and which worker answered. */
function attachmentName(extension: string): string {
  const time = new Date().toISOString().replace(/[:.]/g, '-');
  return `${os.hostname()}-${process.pid}-${time}.${extension}`;
}

export function authorize(ctx: Context, token: string): void {
  if (bearerMatches(ctx.get('authorization') || undefined, token)) return;
  ctx.set('WWW-Authenticate', 'Bearer');
  throw unauthorized('admin-token', 'a valid bearer token is required');
}

async function exclusive<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DiagnosticsBusyError) throw conflict('diagnosis-running', error.message);
    throw error;
  }
}

/**
 * `POST /admin/profile?seconds=N` and `POST /admin/heap-snapshot`, behind the admin bearer
 * token. Without a token configured the routes do not exist (404), so they are off by default.
 */
export function diagnosticsRoutes(
  adminToken: string | undefined,
  diagnostics = new Diagnostics(),
): RouteSpec[] {
  if (!adminToken) return [];
  return [
    route({
      method: 'post',
      path: '/admin/profile',
      operationId: 'recordCpuProfile',
      summary: 'Records a V8 CPU profile of this process for N seconds (bearer token)',
      tags: ['admin'],
      query: profileQuery,
      responses: {
        200: { description: 'The profile, a .cpuprofile JSON document' },
        400: { description: 'seconds is not an integer from 1 to 60' },
        ...problems,
      },
      handler: async (ctx, { query }) => {
        authorize(ctx, adminToken);
        const profile = await exclusive(() => diagnostics.cpuProfile(query.seconds));
        ctx.set('Content-Disposition', `attachment; filename="${attachmentName('cpuprofile')}"`);
        ctx.body = profile;
      },
    }),
    route({
      method: 'post',
      path: '/admin/heap-snapshot',
      operationId: 'takeHeapSnapshot',
      summary: 'Takes a V8 heap snapshot of this process; pauses it meanwhile (bearer token)',
      tags: ['admin'],
      responses: { 200: { description: 'The snapshot, a .heapsnapshot JSON document' }, ...problems },
      handler: async (ctx) => {
        authorize(ctx, adminToken);
        const body = new PassThrough();
        await exclusive(() => diagnostics.heapSnapshot((chunk) => body.write(chunk)));
        body.end();
        ctx.set('Content-Disposition', `attachment; filename="${attachmentName('heapsnapshot')}"`);
        ctx.type = 'application/json';
        ctx.body = body;
      },
    }),
  ];
}
