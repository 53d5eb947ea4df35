import type { Knex } from 'knex';
import { z } from 'zod';
import { idParam, route, type RouteSpec } from '../http/routes.js';
import { idempotencyKeyHeader, runIdempotent } from '../payments/idempotency.js';
import { sendStored } from '../payments/respond.js';
import { Counter, type Registry } from 'prom-client';
import { balanceOf, creditWallet } from './queries.js';
import { SERVICE_METRICS } from '../metrics.js';

/** Largest single charge; keeps any balance far inside bigint and JS-safe integers. */
export const MAX_CHARGE = 10_000_000;

const userParams = z.object({ userId: idParam });
const balanceSchema = z.object({ userId: z.number(), balance: z.number() });

export function walletRoutes(db: Knex, idempotencyTtlSeconds: number, registry: Registry): RouteSpec[] {
  const charges = new Counter({
    ...SERVICE_METRICS.walletCharges,
    registers: [registry],
  });
  return [
    route({
      method: 'get',
      path: '/v1/users/:userId/balance',
      operationId: 'getBalance',
      summary: 'A user’s wallet balance (0 before the first charge)',
      tags: ['wallet'],
      params: userParams,
      responses: {
        200: { description: 'The balance', schema: balanceSchema },
        400: { description: 'Malformed id' },
      },
      handler: async (ctx, { params }) => {
        ctx.body = { userId: params.userId, balance: await balanceOf(db, params.userId) };
      },
    }),
    route({
      method: 'post',
      path: '/v1/users/:userId/balance/charges',
      operationId: 'chargeBalance',
      summary: 'Add money to a wallet (Idempotency-Key replays the first result)',
      tags: ['wallet'],
      params: userParams,
      headers: z.object({ 'idempotency-key': idempotencyKeyHeader }),
      body: z.object({ amount: z.number().int().positive().max(MAX_CHARGE) }).strict(),
      responses: {
        201: {
          description: 'Charged',
          schema: balanceSchema.extend({ amount: z.number(), ledgerId: z.number() }),
        },
        400: { description: 'Malformed id or body' },
        409: { description: 'The same Idempotency-Key is still running' },
        422: { description: 'The Idempotency-Key was used with another body' },
      },
      handler: async (ctx, { params, body, headers }) => {
        const { userId } = params;
        const result = await runIdempotent(
          db,
          {
            scope: `charge:user:${userId}`,
            key: headers['idempotency-key'],
            request: body,
            ttlSeconds: idempotencyTtlSeconds,
          },
          (markDone) =>
            db.transaction(async (trx) => {
              const credited = await creditWallet(trx, userId, body.amount);
              const response = { status: 201, body: { userId, amount: body.amount, ...credited } };
              await markDone(trx, response);
              return response;
            }),
        );
        charges.inc({ result: result.replayed ? 'replayed' : 'charged' });
        sendStored(ctx, result);
      },
    }),
  ];
}
