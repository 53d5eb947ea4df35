import { authorize } from '../diagnostics/routes.js';
import { route, type RouteSpec } from '../http/routes.js';
import { saleScheduleSchema } from './sale.js';
import type { WaitingRoom } from './waiting-room.js';

/** `PUT /queue/sale` on the admin port (bearer token): the OnSale controller publishes its sale here. */
export function saleRoutes(room: WaitingRoom, adminToken: string | undefined): RouteSpec[] {
  if (!adminToken) return [];
  return [
    route({
      method: 'put',
      path: '/queue/sale',
      operationId: 'scheduleSale',
      summary:
        'Publishes a scheduled sale: its pre-queue is shuffled at opensAt, its seat maps warmed before',
      tags: ['admin'],
      body: saleScheduleSchema,
      responses: {
        204: { description: 'Published (the same sale again changes nobody’s place)' },
        400: { description: 'The body is not a sale (opensAt, preQueueSeconds, timeslotIds)' },
        401: { description: 'Missing or wrong bearer token (the content of ADMIN_TOKEN_FILE)' },
      },
      handler: async (ctx, { body }) => {
        authorize(ctx, adminToken);
        await room.scheduleSale(body);
        ctx.status = 204;
      },
    }),
  ];
}
