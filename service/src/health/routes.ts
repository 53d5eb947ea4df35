import type { Middleware } from 'koa';
import type { Readiness } from './readiness.js';

export interface Lifecycle {
  /** True once SIGTERM arrived: readiness fails so the load balancer stops sending traffic. */
  draining: boolean;
}

export const livez: Middleware = (ctx) => {
  ctx.body = { status: 'ok' };
};

export function readyz(readiness: Readiness, lifecycle: Lifecycle): Middleware {
  return async (ctx) => {
    const checks = await readiness.check();
    const ready = !lifecycle.draining && Object.values(checks).every((check) => check.ok);
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : lifecycle.draining ? 'draining' : 'not ready', checks };
  };
}
