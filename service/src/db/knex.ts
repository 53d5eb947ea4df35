import knexFactory, { type Knex } from 'knex';
import { Gauge, type Registry } from 'prom-client';
import { migrations } from './migrations/index.js';
import { SERVICE_METRICS } from '../metrics.js';

export type { Knex };

export interface DatabaseOptions {
  url: string;
  poolMin: number;
  poolMax: number;
  acquireTimeoutMs: number;
  statementTimeoutMs: number;
}

/** The one place that builds the Postgres pool. */
export function createDatabase(options: DatabaseOptions): Knex {
  return knexFactory({
    client: 'pg',
    connection: {
      connectionString: options.url,
      connectionTimeoutMillis: 3_000,
      statement_timeout: options.statementTimeoutMs || undefined,
      application_name: 'booking-service',
    },
    pool: { min: options.poolMin, max: options.poolMax },
    acquireConnectionTimeout: options.acquireTimeoutMs,
    migrations: { migrationSource: migrationSource(), tableName: 'knex_migrations' },
  });
}

/** Migrations are imported modules, not files found at run time: the same list works under tsx, jest and dist/. */
function migrationSource(): Knex.MigrationSource<(typeof migrations)[number]> {
  return {
    getMigrations: async () => migrations,
    getMigrationName: (migration) => migration.name,
    getMigration: async (migration) => migration,
  };
}

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  numPendingCreates(): number;
}

/** Pool gauges: `waiting` is the incident's symptom (clients queueing for a connection until they time out). */
export function registerPoolMetrics(db: Knex, registry: Registry): void {
  const pool = () => (db.client as { pool?: TarnPool }).pool;
  const gauge = (declared: { name: string; help: string }, read: (p: TarnPool) => number) =>
    new Gauge({
      ...declared,
      registers: [registry],
      collect() {
        const p = pool();
        this.set(p ? read(p) : 0);
      },
    });
  gauge(SERVICE_METRICS.dbPoolSize, (p) => p.numUsed() + p.numFree());
  gauge(SERVICE_METRICS.dbPoolInUse, (p) => p.numUsed());
  gauge(SERVICE_METRICS.dbPoolWaiting, (p) => p.numPendingAcquires());
}
