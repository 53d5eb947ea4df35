import type { Knex } from 'knex';

export async function balanceOf(db: Knex, userId: number): Promise<number> {
  const wallet = await db('wallets').where('user_id', userId).first('balance');
  return wallet ? Number(wallet.balance) : 0;
}

/** Every balance change writes one of these, in the transaction that changes the balance. */
export async function recordLedger(
  trx: Knex.Transaction,
  entry: { userId: number; amount: number; kind: 'CHARGE' | 'PAYMENT'; paymentId?: number },
): Promise<number> {
  const [row] = await trx('wallet_ledger')
    .insert({
      user_id: entry.userId,
      amount: entry.amount,
      kind: entry.kind,
      payment_id: entry.paymentId ?? null,
    })
    .returning('id');
  return Number(row!.id);
}

/** Adds to a balance (creating the wallet) with its ledger row, in the caller's transaction. */
export async function creditWallet(trx: Knex.Transaction, userId: number, amount: number) {
  const { rows } = await trx.raw<{ rows: { balance: string }[] }>(
    `insert into wallets (user_id, balance) values (?, ?)
     on conflict (user_id) do update set balance = wallets.balance + excluded.balance, updated_at = now()
     returning balance`,
    [userId, amount],
  );
  const ledgerId = await recordLedger(trx, { userId, amount, kind: 'CHARGE' });
  return { balance: Number(rows[0]!.balance), ledgerId };
}

/**
 * Takes `amount` from a balance that covers it and returns the new balance; null when it does
 * not, with nothing written. The caller writes the ledger row once it has the payment id.
 */
export async function debitBalance(
  trx: Knex.Transaction,
  userId: number,
  amount: number,
): Promise<number | null> {
  const [wallet] = await trx('wallets')
    .where('user_id', userId)
    .andWhere('balance', '>=', amount)
    .update({ balance: trx.raw('balance - ?', [amount]), updated_at: trx.fn.now() })
    .returning('balance');
  return wallet ? Number(wallet.balance) : null;
}

/** The user's top-ups since the start of the UTC day (their CHARGE ledger rows). */
export async function chargedToday(trx: Knex.Transaction, userId: number): Promise<number> {
  const [{ total }] = (await trx('wallet_ledger')
    .where({ user_id: userId, kind: 'CHARGE' })
    .andWhere('created_at', '>=', trx.raw(`date_trunc('day', now() at time zone 'UTC') at time zone 'UTC'`))
    .sum({ total: 'amount' })) as [{ total: string | null }];
  return Number(total ?? 0);
}
