import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { createDatabase, type Knex } from '../service/src/db/knex.js';
import { generateCatalog, type CatalogVolume } from '../service/src/db/generate.js';

/** The shared test Postgres started by scripts/services.sh (see global-setup.ts). */
export function sharedDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the tests with `npm test`');
  return url;
}

export function sharedRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is not set: run the tests with `npm test`');
  return url;
}

export interface TestDatabase {
  url: string;
  db: Knex;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database of its own for one test file, on the shared server, so suites
 * running side by side never see each other's rows. Optionally filled with a catalog.
 */
export async function createTestDatabase(
  volume?: CatalogVolume,
  baseUrl = sharedDatabaseUrl(),
): Promise<TestDatabase> {
  const name = `test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: baseUrl, pool: { min: 0, max: 1 } });
  await admin.raw(`create database ${name}`);
  const url = Object.assign(new URL(baseUrl), { pathname: `/${name}` }).toString();
  const db = createDatabase({ url, poolMin: 0, poolMax: 5, acquireTimeoutMs: 10_000, statementTimeoutMs: 0 });
  await db.migrate.latest();
  if (volume) await generateCatalog(db, volume);
  return {
    url,
    db,
    async drop() {
      await db.destroy();
      await admin.raw(`drop database if exists ${name} with (force)`);
      await admin.destroy();
    },
  };
}

/** How many sessions of this database wait for a lock: tests order concurrent work with row locks. */
export async function sessionsWaitingOnLocks(db: Knex): Promise<number> {
  const { rows } = await db.raw<{ rows: { waiting: string }[] }>(
    `select count(*) as waiting from pg_stat_activity
     where datname = current_database() and wait_event_type = 'Lock'`,
  );
  return Number(rows[0]!.waiting);
}
