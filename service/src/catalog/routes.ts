import type { Knex } from 'knex';
import { notFound } from '../http/problem.js';
import { sendRepresentation } from '../http/representations.js';
import { route, type RouteSpec } from '../http/routes.js';
import { concertExists, listConcerts, listTimeslots } from './queries.js';
import {
  concertIdParams,
  concertListQuery,
  concertListSchema,
  seatMapSchema,
  timeslotIdParams,
  timeslotListSchema,
} from './schemas.js';
import type { SeatMapCache } from './seat-map-cache.js';

const problems = {
  400: { description: 'Malformed id or query' },
  404: { description: 'Unknown concert or timeslot' },
};

/**
 * Edge caches (a CDN, an ingress cache) may keep a seat map for a second, the memory layer's own bound, and
 * answer with it for `staleWhileRevalidateSeconds` more while one request fetches the next.
 */
export function seatMapCacheControl(staleWhileRevalidateSeconds: number): string {
  const stale =
    staleWhileRevalidateSeconds > 0 ? `, stale-while-revalidate=${staleWhileRevalidateSeconds}` : '';
  return `public, max-age=1${stale}`;
}

export interface CatalogOptions {
  seatMapStaleWhileRevalidateSeconds: number;
}

export function catalogRoutes(db: Knex, seatMaps: SeatMapCache, options: CatalogOptions): RouteSpec[] {
  const cacheControl = seatMapCacheControl(options.seatMapStaleWhileRevalidateSeconds);
  return [
    route({
      method: 'get',
      path: '/v1/concerts',
      operationId: 'listConcerts',
      summary: 'Concerts, by id, a page at a time',
      tags: ['catalog'],
      query: concertListQuery,
      responses: {
        200: { description: 'A page of concerts', schema: concertListSchema },
        400: problems[400],
      },
      handler: async (ctx, { query }) => {
        const items = await listConcerts(db, query.limit, query.after);
        ctx.body = { items, nextCursor: items.length === query.limit ? items.at(-1)!.id : null };
      },
    }),
    route({
      method: 'get',
      path: '/v1/concerts/:concertId/timeslots',
      operationId: 'listTimeslots',
      summary: 'Bookable dates of a concert with their available seat counts',
      tags: ['catalog'],
      params: concertIdParams,
      responses: { 200: { description: 'Timeslots', schema: timeslotListSchema }, ...problems },
      handler: async (ctx, { params }) => {
        const items = await listTimeslots(db, params.concertId);
        if (items.length === 0 && !(await concertExists(db, params.concertId))) {
          throw notFound(`concert ${params.concertId} does not exist`);
        }
        ctx.body = { concertId: params.concertId, items };
      },
    }),
    route({
      method: 'get',
      path: '/v1/timeslots/:timeslotId/seats',
      operationId: 'findConcertSeats',
      summary:
        'The seat map of a timeslot: every seat with its status (cached; gzip and br; an ETag per coding)',
      tags: ['catalog'],
      params: timeslotIdParams,
      hot: true,
      responses: {
        200: { description: 'The seat map', schema: seatMapSchema },
        304: { description: 'Not modified since the ETag in If-None-Match' },
        ...problems,
      },
      handler: async (ctx, { params }) => {
        const cached = await seatMaps.get(params.timeslotId);
        if (!cached) throw notFound(`timeslot ${params.timeslotId} does not exist`);
        sendRepresentation(ctx, cached, 'application/json; charset=utf-8', cacheControl);
      },
    }),
  ];
}
