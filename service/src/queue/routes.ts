import { z } from 'zod';
import { route, type RouteSpec } from '../http/routes.js';
import type { WaitingRoom } from './waiting-room.js';

/** The Queue-Token header, shared by every route that needs a token. */
export const queueTokenHeaders = z.object({ 'queue-token': z.string().max(2048).optional() });

export const queueStatusSchema = z.union([
  z.object({ state: z.literal('WAITING'), position: z.number().int(), estimatedWaitSeconds: z.number() }),
  z.object({ state: z.literal('ACTIVE'), expiresAt: z.string() }),
]);

export const tokenProblems = {
  401: {
    description:
      'Bearer token not accepted, or queue token missing, forged, used up or expired (type says which)',
  },
  403: { description: 'Queue token issued to another user, or still waiting in the queue' },
};

const issuedSchema = z.object({ token: z.string(), status: queueStatusSchema });

export function queueRoutes(room: WaitingRoom): RouteSpec[] {
  return [
    route({
      method: 'post',
      path: '/v1/queue/tokens',
      operationId: 'issueQueueToken',
      summary: 'Join the waiting room as the bearer token’s user: a signed token and its place in the queue',
      tags: ['queue'],
      authenticated: true,
      rateLimit: 'queue-token',
      responses: {
        200: {
          description: 'The user’s live token, unchanged (one place in the queue per user)',
          schema: issuedSchema,
        },
        201: { description: 'A new token (send it as Queue-Token) and its status', schema: issuedSchema },
        403: {
          description: 'A sale is scheduled and its pre-queue has not opened yet (the detail says when)',
        },
      },
      handler: async (ctx, { principal }) => {
        const { created, ...issued } = await room.issue(principal.userId);
        ctx.status = created ? 201 : 200;
        ctx.body = issued;
      },
    }),
    route({
      method: 'get',
      path: '/v1/queue/tokens/current',
      operationId: 'queueStatus',
      summary: 'WAITING with position and estimated wait, or ACTIVE',
      tags: ['queue'],
      authenticated: true,
      headers: queueTokenHeaders,
      responses: { 200: { description: 'The token status', schema: queueStatusSchema }, ...tokenProblems },
      handler: async (ctx, { headers, principal }) => {
        ctx.body = await room.status(headers['queue-token'], principal.userId);
      },
    }),
  ];
}
