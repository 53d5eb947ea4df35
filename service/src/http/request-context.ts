import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '@concert-booking/lib';

const REQUEST_ID = /^[\w.-]{1,128}$/;

/**
 * Request id (taken from `X-Request-Id` when sane), a child logger bound to it as
 * `ctx.state.log`, and one access-log line per request at debug level. The child logger is
 * made on first use: the hot path (a cached seat map) usually logs nothing.
 */
export function requestContext(logger: Logger): Middleware {
  const accessLog = logger.isLevelEnabled('debug');
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    let log: Logger | undefined;
    Object.defineProperty(ctx.state, 'log', { get: () => (log ??= logger.child({ requestId })) });
    ctx.set('X-Request-Id', requestId);
    if (!accessLog) return next();
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      ctx.state.log.debug(
        { method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 100) / 100 },
        'request',
      );
    }
  };
}
