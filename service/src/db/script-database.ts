import { loadConfig } from '../config.js';
import type { Logger } from '@concert-booking/lib';
import { serviceLogger } from '../logger.js';
import { createDatabase, type Knex } from './knex.js';

/**
 * What a one-shot database script (migrate, seed) starts with: a logger tagged `component` at LOG_LEVEL
 * and a one-connection pool to DATABASE_URL (or DATABASE_URL_FILE) without a statement timeout (migrations and bulk
 * inserts run long). Without DATABASE_URL it logs why the script needs it (`purpose`) and exits 1.
 */
export function openScriptDatabase(
  component: string,
  purpose: string,
  acquireTimeoutMs?: number,
): { logger: Logger; db: Knex } {
  // Checked before loadConfig, whose message would offer the embedded PostgreSQL, which no script starts.
  if (!process.env.DATABASE_URL && !process.env.DATABASE_URL_FILE) {
    serviceLogger('info', { component }).fatal(`invalid configuration: DATABASE_URL: required to ${purpose}`);
    process.exit(1);
  }
  const config = loadConfig(process.env, { serves: false });
  const logger = serviceLogger(config.LOG_LEVEL, { component });
  const db = createDatabase({
    url: config.DATABASE_URL!,
    poolMin: 0,
    poolMax: 1,
    acquireTimeoutMs: acquireTimeoutMs ?? config.DB_ACQUIRE_TIMEOUT_MS,
    statementTimeoutMs: 0,
  });
  return { logger, db };
}
