import type { Knex } from 'knex';
import { conflict } from '../http/problem.js';
import { lockReservation, releaseHold } from './queries.js';

/**
 * Cancelling a hold, in the caller's transaction: a held seat is released (resolves true); an already
 * cancelled one is left as it is (false); a paid or lapsed one is a conflict. The reservation must exist.
 */
export async function cancelHold(trx: Knex.Transaction, reservationId: number): Promise<boolean> {
  const locked = (await lockReservation(trx, reservationId))!;
  if (locked.status === 'CONFIRMED') throw conflict('reservation-confirmed', 'the reservation is paid');
  if (locked.status === 'EXPIRED') throw conflict('hold-expired', 'the hold lapsed; the seat was released');
  if (locked.status !== 'HELD') return false;
  await releaseHold(trx, locked, 'CANCELLED');
  return true;
}
