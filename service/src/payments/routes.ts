import type { Knex } from 'knex';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import { ProblemError } from '../http/problem.js';
import { route, type RouteSpec } from '../http/routes.js';
import type { SeatMapCache } from '../catalog/seat-map-cache.js';
import type { WaitingRoom } from '../queue/waiting-room.js';
import { queueTokenHeaders, tokenProblems } from '../queue/routes.js';
import { idempotencyKeyHeader, runIdempotent } from './idempotency.js';
import { payReservation } from './pay.js';
import { sendStored } from './respond.js';
import { SERVICE_METRICS } from '../metrics.js';

const paymentSchema = z.object({
  id: z.number(),
  reservationId: z.number(),
  amount: z.number(),
  balance: z.number(),
});

export interface PaymentDeps {
  db: Knex;
  room: WaitingRoom;
  seatMaps: SeatMapCache;
  idempotencyTtlSeconds: number;
  registry: Registry;
}

export function paymentRoutes({
  db,
  room,
  seatMaps,
  idempotencyTtlSeconds,
  registry,
}: PaymentDeps): RouteSpec[] {
  const payments = new Counter({
    ...SERVICE_METRICS.payments,
    registers: [registry],
  });

  return [
    route({
      method: 'post',
      path: '/v1/payments',
      operationId: 'payReservation',
      summary: 'Pay a held reservation from the wallet: debit, confirm the seat, record the payment',
      tags: ['payments'],
      authenticated: true,
      rateLimit: 'payment',
      headers: queueTokenHeaders.extend({ 'idempotency-key': idempotencyKeyHeader }),
      body: z.object({ reservationId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER) }).strict(),
      responses: {
        201: { description: 'Paid; the queue token is used up', schema: paymentSchema },
        ...tokenProblems,
        402: { description: 'The balance does not cover the seat' },
        404: { description: 'No such reservation of this user' },
        409: {
          description: 'Hold lapsed, already paid, or the same Idempotency-Key still running',
        },
        422: { description: 'The Idempotency-Key was used with another body' },
      },
      handler: async (ctx, { headers, body, principal }) => {
        // A replay needs only the caller's own queue token, even used up: the first success used it up.
        const claims = room.identify(headers['queue-token'], principal.userId);
        const { reservationId } = body;
        let timeslotId: number | undefined;
        try {
          const result = await runIdempotent(
            db,
            {
              scope: `payment:user:${claims.sub}`,
              key: headers['idempotency-key'],
              request: body,
              ttlSeconds: idempotencyTtlSeconds,
              authorize: () => room.requireActive(headers['queue-token'], principal.userId),
            },
            (markDone) =>
              db.transaction(async (trx) => {
                const paid = await payReservation(trx, claims.sub, reservationId);
                const response = { status: 201, body: paid.payment };
                await markDone(trx, response);
                timeslotId = paid.timeslotId;
                return response;
              }),
          );
          payments.inc({
            result: result.replayed ? 'replayed' : result.status === 201 ? 'succeeded' : 'refused',
          });
          sendStored(ctx, result);
        } catch (error) {
          payments.inc({ result: error instanceof ProblemError ? error.slug : 'error' });
          throw error;
        }
        if (timeslotId !== undefined) {
          await seatMaps.invalidate(timeslotId);
          await room.finish(claims);
        }
      },
    }),
  ];
}
