import type { Context, Middleware } from 'koa';
import type { Logger } from '@concert-booking/lib';
import { ProblemError } from './problem.js';

const PROBLEM_JSON = 'application/problem+json';

/** Errors from Koa itself or its helpers carry `status` and `expose` (http-errors). */
function isClientHttpError(error: unknown): error is { status: number; message: string; expose?: boolean } {
  const status = (error as { status?: unknown })?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * Outermost handler: every failure becomes problem+json. Client faults keep their 4xx;
 * anything unexpected is logged with the request id and answered with a bare 500.
 */
export function problemErrors(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.body === undefined) refuseUnrouted(ctx);
    } catch (error) {
      answerWithProblem(ctx, error, logger);
    }
  };
}

/** Answers a request that failed with `error` (problemErrors and the hot route share it). */
export function answerWithProblem(ctx: Context, error: unknown, logger: Logger): void {
  let problem: ProblemError;
  if (error instanceof ProblemError) {
    problem = error;
  } else if ((error as Error)?.name === 'KnexTimeoutError') {
    // Every pool connection stayed busy past DB_ACQUIRE_TIMEOUT_MS: overload, not a bug.
    ctx.set('Retry-After', '1');
    problem = new ProblemError(
      503,
      'database-busy',
      'Service Unavailable',
      'no database connection became free in time',
    );
  } else if (isClientHttpError(error)) {
    problem = new ProblemError(error.status, `http-${error.status}`, httpTitle(error.status), error.message);
  } else {
    (ctx.state.log ?? logger).error({ err: error }, 'unhandled error');
    problem = new ProblemError(500, 'internal', 'Internal Server Error', 'the error was logged');
  }
  ctx.status = problem.status;
  ctx.set(problem.headers);
  ctx.type = PROBLEM_JSON;
  ctx.body = problem.toBody(ctx.state.requestId ? `urn:request:${ctx.state.requestId}` : undefined);
}

/**
 * The router's bare 404, 405 and 501 as problems. A method it does not implement (TRACE, PROPFIND, ...) is
 * a 405 naming the methods the path has, as RFC 9110 allows: a client's mistake stays a 4xx, never a 5xx
 * that the burn-rate alerts would page for.
 */
function refuseUnrouted(ctx: Context): void {
  if (ctx.status !== 404 && ctx.status !== 405 && ctx.status !== 501) return;
  const allow = ctx.response.get('Allow');
  if (ctx.status === 404 || !allow) {
    throw new ProblemError(404, 'not-found', 'Not Found', `no route for ${ctx.method} ${ctx.path}`);
  }
  throw new ProblemError(
    405,
    'method-not-allowed',
    'Method Not Allowed',
    `${ctx.path} answers ${allow}`,
    {},
    { Allow: allow },
  );
}

function httpTitle(status: number): string {
  const titles: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    405: 'Method Not Allowed',
    413: 'Content Too Large',
    415: 'Unsupported Media Type',
  };
  return titles[status] ?? 'Client Error';
}
