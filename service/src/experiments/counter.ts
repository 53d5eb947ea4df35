import type { Knex } from 'knex';
import type { Redis } from 'ioredis';

/**
 * The incident document's appendix, three ways to add one to a shared counter:
 * - pessimistic: transaction, SELECT ... FOR UPDATE on the one row, UPDATE, COMMIT. Every
 *   caller queues on the row lock while holding a pool connection: the latency surge.
 * - atomic: one UPDATE ... RETURNING; the row lock lasts one statement.
 * - redis: INCR, no database at all.
 */
export const COUNTER_STRATEGIES = ['pessimistic', 'atomic', 'redis'] as const;
export type CounterStrategy = (typeof COUNTER_STRATEGIES)[number];

export const COUNTER_NAME = 'incident';
const REDIS_KEY = 'experiments:counter:incident';

export async function incrementCounter(
  db: Knex,
  redis: Redis | undefined,
  strategy: CounterStrategy,
): Promise<number | null> {
  switch (strategy) {
    case 'pessimistic':
      return db.transaction(async (trx) => {
        const row = await trx('experiment_counters').where('name', COUNTER_NAME).forUpdate().first('value');
        const value = Number(row!.value) + 1;
        await trx('experiment_counters').where('name', COUNTER_NAME).update({ value });
        return value;
      });
    case 'atomic': {
      const [row] = await db('experiment_counters')
        .where('name', COUNTER_NAME)
        .increment('value', 1)
        .returning('value');
      return Number(row!.value);
    }
    case 'redis':
      return redis ? redis.incr(REDIS_KEY) : null;
  }
}
