import type { Knex } from 'knex';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import { ProblemError, conflict, notFound } from '../http/problem.js';
import { route, type RouteSpec } from '../http/routes.js';
import type { SeatMapCache } from '../catalog/seat-map-cache.js';
import type { WaitingRoom } from '../queue/waiting-room.js';
import { queueTokenHeaders, tokenProblems } from '../queue/routes.js';
import { confirmHold, lockReservation } from '../reservations/queries.js';
import { debitBalance, recordLedger } from '../wallet/queries.js';
import { idempotencyKeyHeader, runIdempotent } from './idempotency.js';
import { sendStored } from './respond.js';

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

/** Why a payment was refused, as the metric label and the problem that says so. */
const refusals = {
  unknown: (id: number) => notFound(`reservation ${id} does not exist`),
  foreign: () => conflict('reservation-foreign', 'the reservation belongs to another user'),
  paid: () => conflict('reservation-already-paid', 'the reservation is already paid'),
  lapsed: () => conflict('hold-expired', 'the hold lapsed or was cancelled: hold the seat again'),
  insufficient: (price: number, balance: number) =>
    new ProblemError(
      402,
      'insufficient-balance',
      'Payment Required',
      `the seat costs ${price}; charge the wallet`,
      {
        price,
        balance,
      },
    ),
};

export function paymentRoutes({
  db,
  room,
  seatMaps,
  idempotencyTtlSeconds,
  registry,
}: PaymentDeps): RouteSpec[] {
  const payments = new Counter({
    name: 'booking_payments_total',
    help: 'Payments by result: succeeded, replayed, or the problem slug that refused them',
    labelNames: ['result'] as const,
    registers: [registry],
  });

  return [
    route({
      method: 'post',
      path: '/v1/payments',
      operationId: 'payReservation',
      summary: 'Pay a held reservation from the wallet: debit, confirm the seat, record the payment',
      tags: ['payments'],
      headers: queueTokenHeaders.extend({ 'idempotency-key': idempotencyKeyHeader }),
      body: z.object({ reservationId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER) }).strict(),
      responses: {
        201: { description: 'Paid; the queue token is used up', schema: paymentSchema },
        400: { description: 'Malformed body' },
        ...tokenProblems,
        402: { description: 'The balance does not cover the seat' },
        404: { description: 'No such reservation' },
        409: {
          description: 'Hold lapsed, someone else’s, already paid, or the same Idempotency-Key still running',
        },
        422: { description: 'The Idempotency-Key was used with another body' },
      },
      handler: async (ctx, { headers, body }) => {
        // A replay needs only the caller's identity: the token is used up by the first success.
        const claims = room.identify(headers['queue-token']);
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
              authorize: () => room.requireActive(headers['queue-token']),
            },
            (markDone) =>
              db.transaction(async (trx) => {
                const reservation = await lockReservation(trx, reservationId);
                if (!reservation) throw refusals.unknown(reservationId);
                if (reservation.userId !== claims.sub) throw refusals.foreign();
                if (reservation.status === 'CONFIRMED') throw refusals.paid();
                if (reservation.status !== 'HELD') throw refusals.lapsed();
                const balance = await debitBalance(trx, claims.sub, reservation.price);
                if (balance === null) {
                  const current = await trx('wallets').where('user_id', claims.sub).first('balance');
                  throw refusals.insufficient(reservation.price, Number(current?.balance ?? 0));
                }
                const [payment] = await trx('payments')
                  .insert({ reservation_id: reservationId, user_id: claims.sub, amount: reservation.price })
                  .returning('id');
                const paymentId = Number(payment!.id);
                if (reservation.price > 0) {
                  await recordLedger(trx, {
                    userId: claims.sub,
                    amount: -reservation.price,
                    kind: 'PAYMENT',
                    paymentId,
                  });
                }
                await confirmHold(trx, reservation);
                const response = {
                  status: 201,
                  body: { id: paymentId, reservationId, amount: reservation.price, balance },
                };
                await markDone(trx, response);
                timeslotId = reservation.timeslotId;
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
