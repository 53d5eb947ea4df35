import { z } from 'zod';
import { route, type RouteSpec } from '../http/routes.js';
import type { WaitingRoom } from './waiting-room.js';

export const userIdSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** The Queue-Token header, shared by every route that needs a token. */
export const queueTokenHeaders = z.object({ 'queue-token': z.string().max(2048).optional() });

export const queueStatusSchema = z.union([
  z.object({ state: z.literal('WAITING'), position: z.number().int(), estimatedWaitSeconds: z.number() }),
  z.object({ state: z.literal('ACTIVE'), expiresAt: z.string() }),
]);

export const tokenProblems = {
  401: { description: 'Token missing, forged, used up or expired (type says which)' },
  403: { description: 'Token still waiting in the queue' },
};

export function queueRoutes(room: WaitingRoom): RouteSpec[] {
  return [
    route({
      method: 'post',
      path: '/v1/queue/tokens',
      operationId: 'issueQueueToken',
      summary: 'Join the waiting room: a signed token and its place in the queue',
      tags: ['queue'],
      body: z.object({ userId: userIdSchema }).strict(),
      responses: {
        201: {
          description: 'The token (send it as Queue-Token) and its status',
          schema: z.object({ token: z.string(), status: queueStatusSchema }),
        },
        400: { description: 'Malformed body' },
      },
      handler: async (ctx, { body }) => {
        ctx.status = 201;
        ctx.body = await room.issue(body.userId);
      },
    }),
    route({
      method: 'get',
      path: '/v1/queue/tokens/current',
      operationId: 'queueStatus',
      summary: 'WAITING with position and estimated wait, or ACTIVE',
      tags: ['queue'],
      headers: queueTokenHeaders,
      responses: { 200: { description: 'The token status', schema: queueStatusSchema }, ...tokenProblems },
      handler: async (ctx, { headers }) => {
        ctx.body = await room.status(headers['queue-token']);
      },
    }),
  ];
}
