import type { Knex } from 'knex';
import { ProblemError, conflict, notFound } from '../http/problem.js';
import { confirmHold, lockReservation } from '../reservations/queries.js';
import { balanceOf, debitBalance, recordLedger } from '../wallet/queries.js';

/** Why a payment was refused: each a problem, whose slug is also the metric's result label. */
const refusals = {
  unknown: (id: number) => notFound(`reservation ${id} does not exist`),
  // Someone else's reservation reads as unknown: its id reveals nothing.
  foreign: (id: number) => notFound(`reservation ${id} does not exist`),
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

export interface Payment {
  id: number;
  reservationId: number;
  amount: number;
  /** The wallet's balance after the debit. */
  balance: number;
}

/**
 * The payment use case, in the caller's transaction: the user's held reservation is debited from their wallet,
 * confirmed, and recorded (payment and ledger rows), or nothing is written and a problem says why.
 */
export async function payReservation(
  trx: Knex.Transaction,
  userId: number,
  reservationId: number,
): Promise<{ payment: Payment; timeslotId: number }> {
  const reservation = await lockReservation(trx, reservationId);
  if (!reservation) throw refusals.unknown(reservationId);
  if (reservation.userId !== userId) throw refusals.foreign(reservationId);
  if (reservation.status === 'CONFIRMED') throw refusals.paid();
  if (reservation.status !== 'HELD') throw refusals.lapsed();
  const balance = await debitBalance(trx, userId, reservation.price);
  if (balance === null) throw refusals.insufficient(reservation.price, await balanceOf(trx, userId));
  const [row] = await trx('payments')
    .insert({ reservation_id: reservationId, user_id: userId, amount: reservation.price })
    .returning('id');
  const paymentId = Number(row!.id);
  if (reservation.price > 0) {
    await recordLedger(trx, { userId, amount: -reservation.price, kind: 'PAYMENT', paymentId });
  }
  await confirmHold(trx, reservation);
  return {
    payment: { id: paymentId, reservationId, amount: reservation.price, balance },
    timeslotId: reservation.timeslotId,
  };
}
