import Koa from 'koa';
import Router from '@koa/router';
import type { Registry } from 'prom-client';
import type { Logger } from '@concert-booking/lib';
import { problemErrors } from './http/errors.js';
import { httpMetrics, metricsRoute } from './http/metrics.js';
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
 * Middleware order, outermost first: request id and log -> metrics (sees the final status)
 * -> problem+json errors -> routes.
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

  app.use(requestContext(deps.logger));
  app.use(httpMetrics(deps.registry));
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
