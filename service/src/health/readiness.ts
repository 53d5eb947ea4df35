import type { Knex } from 'knex';
import type { Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import { SERVICE_METRICS } from '../metrics.js';

export interface DependencyStatus {
  ok: boolean;
  error?: string;
}

export interface Readiness {
  check(): Promise<Record<string, DependencyStatus>>;
}

async function withTimeout(ms: number, work: () => Promise<unknown>): Promise<DependencyStatus> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      work(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
    return { ok: true };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Postgres and (when configured) Redis answer within a short timeout. The same checks feed
 * `booking_dependency_up`, so alerts and /readyz agree.
 */
export function createReadiness(
  db: Knex,
  redis: Redis | undefined,
  registry: Registry,
  timeoutMs = 1_000,
): Readiness {
  const check = async () => {
    const results: Record<string, DependencyStatus> = {
      postgres: await withTimeout(timeoutMs, () => db.raw('select 1')),
    };
    if (redis) results.redis = await withTimeout(timeoutMs, () => redis.ping());
    return results;
  };
  new Gauge({
    ...SERVICE_METRICS.dependencyUp,
    registers: [registry],
    async collect() {
      for (const [dependency, status] of Object.entries(await check()))
        this.set({ dependency }, status.ok ? 1 : 0);
    },
  });
  return { check };
}
