import type { Knex } from 'knex';
import { z } from 'zod';
import { TOPUP_SCOPE } from '@concert-booking/lib';
import { idParam, route, type RouteSpec } from '../http/routes.js';
import { ProblemError, forbidden, notFound } from '../http/problem.js';
import type { Principal } from '../auth/authenticate.js';
import { idempotencyKeyHeader, runIdempotent } from '../payments/idempotency.js';
import { sendStored } from '../payments/respond.js';
import { Counter, type Registry } from 'prom-client';
import { balanceOf, chargedToday, creditWallet } from './queries.js';
import { SERVICE_METRICS } from '../metrics.js';

const userParams = z.object({ userId: idParam });
const balanceSchema = z.object({ userId: z.number(), balance: z.number() });

export interface WalletDeps {
  db: Knex;
  idempotencyTtlSeconds: number;
  registry: Registry;
  /** Largest single top-up (TOPUP_MAX_AMOUNT), and most per user and UTC day (TOPUP_DAILY_MAX). */
  maxTopUp: number;
  dailyMaxTopUp: number;
}

/** A wallet answers its owner only: anyone else's id reads as unknown, so ids reveal nothing. */
function ownWallet(principal: Principal, userId: number): number {
  if (principal.userId !== userId) throw notFound('no such wallet');
  return userId;
}

export function walletRoutes({
  db,
  idempotencyTtlSeconds,
  registry,
  maxTopUp,
  dailyMaxTopUp,
}: WalletDeps): RouteSpec[] {
  const charges = new Counter({
    ...SERVICE_METRICS.walletCharges,
    registers: [registry],
  });
  return [
    route({
      method: 'get',
      path: '/v1/users/:userId/balance',
      operationId: 'getBalance',
      summary:
        'The user’s own wallet balance (0 before the first top-up); the id must be the token’s subject',
      tags: ['wallet'],
      authenticated: true,
      params: userParams,
      responses: {
        200: { description: 'The balance', schema: balanceSchema },
        404: { description: 'Not the caller’s wallet' },
      },
      handler: async (ctx, { params, principal }) => {
        const userId = ownWallet(principal, params.userId);
        ctx.body = { userId, balance: await balanceOf(db, userId) };
      },
    }),
    route({
      method: 'post',
      path: '/v1/users/:userId/balance/charges',
      operationId: 'chargeBalance',
      summary: `Top up the user’s own wallet (needs scope ${TOPUP_SCOPE}; Idempotency-Key replays the first result)`,
      tags: ['wallet'],
      authenticated: true,
      params: userParams,
      headers: z.object({ 'idempotency-key': idempotencyKeyHeader }),
      body: z.object({ amount: z.number().int().positive().max(maxTopUp) }).strict(),
      responses: {
        201: {
          description: 'Charged',
          schema: balanceSchema.extend({ amount: z.number(), ledgerId: z.number() }),
        },
        403: { description: `The token lacks scope ${TOPUP_SCOPE}` },
        404: { description: 'Not the caller’s wallet' },
        409: { description: 'The same Idempotency-Key is still running' },
        422: {
          description:
            'The Idempotency-Key was used with another body, or the daily top-up maximum is reached',
        },
      },
      handler: async (ctx, { params, body, headers, principal }) => {
        if (!principal.scopes.has(TOPUP_SCOPE)) {
          throw forbidden('scope-missing', `a top-up needs a token with scope ${TOPUP_SCOPE}`);
        }
        const userId = ownWallet(principal, params.userId);
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
              // The credit locks the wallet row first, so concurrent top-ups of one user add up in turn.
              const credited = await creditWallet(trx, userId, body.amount);
              const today = await chargedToday(trx, userId);
              if (today > dailyMaxTopUp) {
                throw new ProblemError(
                  422,
                  'topup-daily-limit',
                  'Unprocessable Content',
                  `at most ${dailyMaxTopUp} may be topped up per day; ${today - body.amount} already was`,
                );
              }
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
