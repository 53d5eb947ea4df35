import Koa from 'koa';
import Router from '@koa/router';
import type { Registry } from 'prom-client';
import type { Logger } from '@concert-booking/lib';
import { problemErrors } from './http/errors.js';
import { hotRoute } from './http/hot-route.js';
import { httpMetrics, metricsRoute, requestDuration } from './http/metrics.js';
import { requestContext } from './http/request-context.js';
import { mountRoutes, openApiDocument, type RouteSpec } from './http/routes.js';
import { livez, readyz, type Lifecycle } from './health/routes.js';
import type { Readiness } from './health/readiness.js';

export interface AppDependencies {
  logger: Logger;
  registry: Registry;
  readiness: Readiness;
  lifecycle: Lifecycle;
  routes: RouteSpec[];
  bodyLimit: number;
  version: string;
}

/**
 * Middleware order, outermost first: the hot routes (each the whole chain's guarantees in one piece) ->
 * request id and log -> metrics (sees the final status) -> problem+json errors -> routes.
 */
export function createApp(deps: AppDependencies): Koa {
  const app = new Koa();
  app.proxy = true;
  const router = new Router();
  const openapi = openApiDocument(deps.routes, { title: 'Concert booking API', version: deps.version });

  router.get('/livez', livez);
  router.get('/readyz', readyz(deps.readiness, deps.lifecycle));
  router.get('/metrics', metricsRoute(deps.registry));
  router.get('/openapi.json', (ctx) => {
    ctx.body = openapi;
  });
  mountRoutes(router, deps.routes, { bodyLimit: deps.bodyLimit });

  const duration = requestDuration(deps.registry);
  for (const spec of deps.routes.filter((candidate) => candidate.hot)) {
    app.use(hotRoute(spec, { logger: deps.logger, duration, lifecycle: deps.lifecycle }));
  }
  app.use(requestContext(deps.logger));
  app.use(httpMetrics(duration));
  app.use(async (ctx, next) => {
    await next();
    // While draining, ask keep-alive clients to reconnect elsewhere.
    if (deps.lifecycle.draining) ctx.set('Connection', 'close');
  });
  app.use(problemErrors(deps.logger));
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: true }));
  // Koa logs errors itself unless told otherwise; ours are logged once by problemErrors.
  app.silent = true;
  return app;
}
