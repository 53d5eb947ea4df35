import type { Knex } from 'knex';
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import { conflict, notFound, tooManyRequests } from '../http/problem.js';
import { idParam, route, type RouteSpec } from '../http/routes.js';
import type { SeatMapCache } from '../catalog/seat-map-cache.js';
import type { WaitingRoom } from '../queue/waiting-room.js';
import { queueTokenHeaders, tokenProblems } from '../queue/routes.js';
import type { SweepTask } from './sweeper.js';
import { cancelHold } from './cancel.js';
import { findReservation, holdWithinLimit, seatExists, sweepLapsedHolds } from './queries.js';
import { SERVICE_METRICS } from '../metrics.js';

export type HoldCounter = Counter<'result'>;

export function holdCounter(registry: Registry): HoldCounter {
  return new Counter({
    ...SERVICE_METRICS.holds,
    registers: [registry],
  });
}

const reservationSchema = z.object({
  id: z.number(),
  seatId: z.number(),
  timeslotId: z.number(),
  userId: z.number(),
  status: z.enum(['HELD', 'CONFIRMED', 'CANCELLED', 'EXPIRED']),
  expiresAt: z.string(),
});
const reservationParams = z.object({ reservationId: idParam });
const positiveId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const isUniqueViolation = (error: unknown) => (error as { code?: string })?.code === '23505';
const seatUnavailable = () => conflict('seat-unavailable', 'the seat is held or sold');

export interface ReservationDeps {
  db: Knex;
  room: WaitingRoom;
  seatMaps: SeatMapCache;
  holds: HoldCounter;
  holdTtlSeconds: number;
  maxLiveHoldsPerUser: number;
}

export function reservationRoutes({
  db,
  room,
  seatMaps,
  holds,
  holdTtlSeconds,
  maxLiveHoldsPerUser,
}: ReservationDeps): RouteSpec[] {
  /** The caller's own reservation; someone else's reads as unknown. */
  const ownReservation = async (userId: number, reservationId: number) => {
    const reservation = await findReservation(db, reservationId);
    if (!reservation || reservation.userId !== userId)
      throw notFound(`reservation ${reservationId} does not exist`);
    return reservation;
  };

  return [
    route({
      method: 'post',
      path: '/v1/reservations',
      operationId: 'holdSeat',
      summary: 'Hold a seat for the user until expiresAt (needs the user’s ACTIVE Queue-Token)',
      tags: ['reservations'],
      authenticated: true,
      rateLimit: 'hold',
      headers: queueTokenHeaders,
      body: z.object({ timeslotId: positiveId, seatId: positiveId }).strict(),
      responses: {
        201: { description: 'Held', schema: reservationSchema },
        ...tokenProblems,
        404: { description: 'No such seat in that timeslot' },
        409: { description: 'The seat is held or sold' },
        429: { description: 'Rate limit spent, or the user already has the most live holds allowed' },
      },
      handler: async (ctx, { headers, body, principal }) => {
        const { userId } = principal;
        await room.requireActive(headers['queue-token'], userId);
        let held;
        try {
          held = await holdWithinLimit(
            db,
            { ...body, userId, ttlSeconds: holdTtlSeconds },
            maxLiveHoldsPerUser,
          );
        } catch (error) {
          // The partial unique index caught what the conditional update let through.
          if (!isUniqueViolation(error)) throw error;
        }
        if (held === 'limit') {
          holds.inc({ result: 'limited' });
          await seatMaps.invalidate(body.timeslotId); // the seat was held for a moment
          throw tooManyRequests(
            'hold-limit',
            `at most ${maxLiveHoldsPerUser} live holds per user: pay or cancel one first`,
            holdTtlSeconds,
          );
        }
        if (!held) {
          if (!(await seatExists(db, body.timeslotId, body.seatId))) {
            throw notFound(`seat ${body.seatId} is not in timeslot ${body.timeslotId}`);
          }
          holds.inc({ result: 'conflict' });
          throw seatUnavailable();
        }
        if (held.replacedLapsedHold) holds.inc({ result: 'expired' });
        holds.inc({ result: 'created' });
        await seatMaps.invalidate(body.timeslotId);
        ctx.status = 201;
        ctx.set('Location', `/v1/reservations/${held.reservation.id}`);
        ctx.body = held.reservation;
      },
    }),
    route({
      method: 'get',
      path: '/v1/reservations/:reservationId',
      operationId: 'getReservation',
      summary: 'One of the user’s reservations',
      tags: ['reservations'],
      authenticated: true,
      params: reservationParams,
      responses: {
        200: { description: 'The reservation', schema: reservationSchema },
        404: { description: 'No such reservation of this user' },
      },
      handler: async (ctx, { params, principal }) => {
        ctx.body = await ownReservation(principal.userId, params.reservationId);
      },
    }),
    route({
      method: 'delete',
      path: '/v1/reservations/:reservationId',
      operationId: 'cancelReservation',
      summary: 'Cancel a hold and free its seat (cancelling again is a no-op)',
      tags: ['reservations'],
      authenticated: true,
      params: reservationParams,
      responses: {
        204: { description: 'Cancelled' },
        404: { description: 'No such reservation of this user' },
        409: { description: 'Already paid, or the hold lapsed' },
      },
      handler: async (ctx, { params, principal }) => {
        const { timeslotId } = await ownReservation(principal.userId, params.reservationId);
        const released = await db.transaction((trx) => cancelHold(trx, params.reservationId));
        if (released) await seatMaps.invalidate(timeslotId);
        ctx.status = 204;
      },
    }),
  ];
}

/** The sweeper's task for lapsed holds: release, count, invalidate each touched seat map. */
export function lapsedHoldsTask(db: Knex, seatMaps: SeatMapCache, holds: HoldCounter): SweepTask {
  return {
    name: 'lapsed-holds',
    async run(batchSize) {
      const { expired, timeslotIds } = await sweepLapsedHolds(db, batchSize);
      holds.inc({ result: 'expired' }, expired);
      await Promise.all(timeslotIds.map((timeslotId) => seatMaps.invalidate(timeslotId)));
      return expired;
    },
  };
}
