import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { conflict } from '../http/problem.js';
import { route, type RouteSpec } from '../http/routes.js';
import { COUNTER_STRATEGIES, incrementCounter } from './counter.js';

/** Mounted only when EXPERIMENTS_ENABLED: elsewhere the path does not exist. */
export function experimentRoutes(db: Knex, redis: Redis | undefined): RouteSpec[] {
  return [
    route({
      method: 'post',
      path: '/v1/experiments/counter',
      operationId: 'incrementExperimentCounter',
      summary: 'The lock experiment: add one to a hot counter with the chosen strategy',
      tags: ['experiments'],
      query: z.object({ strategy: z.enum(COUNTER_STRATEGIES) }),
      responses: {
        200: { description: 'The new value', schema: z.object({ strategy: z.string(), value: z.number() }) },
        400: { description: 'Unknown strategy' },
        409: { description: 'strategy=redis without REDIS_URL' },
      },
      handler: async (ctx, { query }) => {
        const value = await incrementCounter(db, redis, query.strategy);
        if (value === null) throw conflict('redis-not-configured', 'strategy=redis needs REDIS_URL');
        ctx.body = { strategy: query.strategy, value };
      },
    }),
  ];
}
