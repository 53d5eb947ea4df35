import type { Middleware } from 'koa';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Bucket edges include the alert thresholds (0.1, 0.25, 0.5, 1, 2.5, 5 s) so quantiles are exact there. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Times every request, labelled by the route template (never the raw path: ids would explode the series). */
export function httpMetrics(registry: Registry): Middleware {
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
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
