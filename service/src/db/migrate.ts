/**
 * Runs pending migrations and exits: the cluster's migrations Job and `npm run migrate`.
 * Usage: DATABASE_URL=... node dist/service/src/db/migrate.js
 */
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { createDatabase } from './knex.js';

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL, { component: 'migrate' });
if (!config.DATABASE_URL) {
  logger.fatal('invalid configuration: DATABASE_URL: required to run migrations');
  process.exit(1);
}
const db = createDatabase({
  url: config.DATABASE_URL,
  poolMin: 0,
  poolMax: 1,
  acquireTimeoutMs: config.DB_ACQUIRE_TIMEOUT_MS,
  statementTimeoutMs: 0,
});
try {
  const [batch, applied] = (await db.migrate.latest()) as [number, string[]];
  logger.info({ batch, applied }, applied.length ? 'migrations applied' : 'schema up to date');
} finally {
  await db.destroy();
}
