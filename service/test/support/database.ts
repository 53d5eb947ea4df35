import { createScratchDatabase, sharedDatabaseUrl } from '@concert-booking/devkit/databases';
import { generateCatalog, type CatalogVolume } from '../../src/db/generate.js';
import { createDatabase, type Knex } from '../../src/db/knex.js';

export interface TestDatabase {
  url: string;
  db: Knex;
  drop(): Promise<void>;
}

/** A scratch database migrated with the service's migrations, optionally filled with a catalog. */
export async function createTestDatabase(
  volume?: CatalogVolume,
  baseUrl = sharedDatabaseUrl(),
): Promise<TestDatabase> {
  const scratch = await createScratchDatabase(baseUrl);
  const db = createDatabase({
    url: scratch.url,
    poolMin: 0,
    poolMax: 5,
    acquireTimeoutMs: 10_000,
    statementTimeoutMs: 0,
  });
  await db.migrate.latest();
  if (volume) await generateCatalog(db, volume);
  return {
    url: scratch.url,
    db,
    async drop() {
      await db.destroy();
      await scratch.drop();
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
