import { randomUUID } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import type { Logger } from '@concert-booking/lib';

const REQUEST_ID = /^[\w.-]{1,128}$/;

/**
 * `ctx.state` of every request: its id and a child logger bound to it, made on first use (the hot path,
 * a cached seat map, usually logs nothing). A class, so the lazy getter costs no closure per request.
 */
class RequestState {
  private child: Logger | undefined;

  constructor(
    readonly requestId: string,
    private readonly logger: Logger,
  ) {}

  get log(): Logger {
    return (this.child ??= this.logger.child({ requestId: this.requestId }));
  }
}

/** The request id (taken from `X-Request-Id` when sane), echoed back, and `ctx.state` bound to it. */
export function beginRequest(ctx: Context, logger: Logger): void {
  const incoming = ctx.get('x-request-id');
  const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
  ctx.state = new RequestState(requestId, logger);
  ctx.set('X-Request-Id', requestId);
}

/** The access-log line of a request that began at `startedMs` (performance.now()), at debug level. */
export function logAccess(ctx: Context, startedMs: number): void {
  const ms = performance.now() - startedMs;
  ctx.state.log.debug(
    { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 100) / 100 },
    'request',
  );
}

/** beginRequest, and one access-log line per request when the level is debug. */
export function requestContext(logger: Logger): Middleware {
  const accessLog = logger.isLevelEnabled('debug');
  return async (ctx, next) => {
    beginRequest(ctx, logger);
    if (!accessLog) return next();
    const started = performance.now();
    try {
      await next();
    } finally {
      logAccess(ctx, started);
    }
  };
}
