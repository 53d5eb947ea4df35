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
import type { Authenticator } from './auth/authenticate.js';
import type { RateLimits } from './http/rate-limits.js';

export interface AppDependencies {
  logger: Logger;
  registry: Registry;
  readiness: Readiness;
  lifecycle: Lifecycle;
  routes: RouteSpec[];
  /** The admin port's routes (diagnostics), served with /metrics by createAdminApp, never on the API. */
  adminRoutes: RouteSpec[];
  bodyLimit: number;
  authenticator: Authenticator;
  limits: RateLimits;
  version: string;
}

/**
 * Middleware order, outermost first: the hot routes (each the whole chain's guarantees in one piece) ->
 * request id and log -> metrics (sees the final status) -> problem+json errors -> routes.
 */
export function createApp(deps: AppDependencies): Koa {
  const app = assemble(deps, deps.routes, { title: 'Concert booking API', timed: true }, (router) => {
    router.get('/livez', livez);
    router.get('/readyz', readyz(deps.readiness, deps.lifecycle));
    const jwks = deps.authenticator.developmentJwks;
    if (jwks) {
      router.get('/.well-known/jwks.json', (ctx) => {
        ctx.body = jwks;
      });
    }
  });
  app.proxy = true;
  // The client address is what the nearest proxy saw, not what a client wrote into X-Forwarded-For.
  app.maxIpsCount = 1;
  return app;
}

/**
 * The admin port (ADMIN_PORT): /metrics and the diagnostics, off the public Service (the manifests expose only
 * the API); Prometheus scrapes it. Its requests are not API traffic, so they stay out of the request metrics.
 */
export function createAdminApp(deps: AppDependencies): Koa {
  return assemble(deps, deps.adminRoutes, { title: 'Concert booking admin', timed: false }, (router) => {
    router.get('/metrics', metricsRoute(deps.registry));
  });
}

/** A Koa app serving `routes` and their OpenAPI document; `timed`: its requests feed the request metrics. */
function assemble(
  deps: AppDependencies,
  routes: RouteSpec[],
  { title, timed }: { title: string; timed: boolean },
  addRoutes: (router: Router) => void,
): Koa {
  const app = new Koa();
  const router = new Router();
  const openapi = openApiDocument(routes, { title, version: deps.version });
  addRoutes(router);
  router.get('/openapi.json', (ctx) => {
    ctx.body = openapi;
  });
  mountRoutes(router, routes, {
    bodyLimit: deps.bodyLimit,
    authenticator: deps.authenticator,
    limits: deps.limits,
  });
  if (timed) {
    const duration = requestDuration(deps.registry);
    for (const spec of routes.filter((candidate) => candidate.hot)) {
      app.use(hotRoute(spec, { logger: deps.logger, duration, lifecycle: deps.lifecycle }));
    }
    app.use(requestContext(deps.logger));
    app.use(httpMetrics(duration));
  } else {
    app.use(requestContext(deps.logger));
  }
  app.use(drainingCloses(deps.lifecycle));
  app.use(problemErrors(deps.logger));
  app.use(router.routes());
  // Sets 405/501 with Allow; problemErrors answers both as a 405 problem.
  app.use(router.allowedMethods());
  // Koa logs errors itself unless told otherwise; ours are logged once by problemErrors.
  app.silent = true;
  return app;
}

function drainingCloses(lifecycle: Lifecycle): Koa.Middleware {
  return async (ctx, next) => {
    await next();
    // While draining, ask keep-alive clients to reconnect elsewhere.
    if (lifecycle.draining) ctx.set('Connection', 'close');
  };
}
