import type { Middleware } from 'koa';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { SERVICE_METRICS } from '../metrics.js';

export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export type RequestDuration = Histogram<'method' | 'route' | 'status'>;

/** The latency histogram of every request, the chain's and the hot route's. */
export const requestDuration = (registry: Registry): RequestDuration =>
  new Histogram({ ...SERVICE_METRICS.httpRequestDuration, registers: [registry] });

/** Times every request, labelled by the route template (never the raw path: ids would explode the series). */
export function httpMetrics(duration: RequestDuration): Middleware {
  return async (ctx, next) => {
    const end = duration.startTimer();
    try {
      await next();
    } finally {
      end({
        method: ctx.method,
        route: ctx._matchedRoute ? String(ctx._matchedRoute) : 'unmatched',
        status: String(ctx.status),
      });
    }
  };
}

export function metricsRoute(registry: Registry): Middleware {
  return async (ctx) => {
    ctx.set('Content-Type', registry.contentType);
    ctx.body = await registry.metrics();
  };
}
