/**
 * Runs pending migrations and exits: the cluster's migrations Job and `npm run migrate`.
 * Usage: DATABASE_URL=... node dist/service/src/db/migrate.js
 */
import { openScriptDatabase } from './script-database.js';

const { logger, db } = openScriptDatabase('migrate', 'run migrations');
try {
  const [batch, applied] = (await db.migrate.latest()) as [number, string[]];
  logger.info({ batch, applied }, applied.length ? 'migrations applied' : 'schema up to date');
} finally {
  await db.destroy();
}
