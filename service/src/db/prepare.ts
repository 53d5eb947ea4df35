import type { Config } from '../config.js';
import type { Logger } from '@concert-booking/lib';
import { seedDemoDataIfEmpty } from './generate.js';
import { createDatabase } from './knex.js';

/** Migrations (and demo data when configured) once per start, before any request is served. */
export async function prepareDatabase(config: Config, url: string, logger: Logger): Promise<void> {
  if (!config.MIGRATE_ON_START && !config.SEED_DEMO_DATA) return;
  const db = createDatabase({ url, poolMin: 0, poolMax: 1, acquireTimeoutMs: 30_000, statementTimeoutMs: 0 });
  try {
    if (config.MIGRATE_ON_START) {
      const [, applied] = (await db.migrate.latest()) as [number, string[]];
      if (applied.length) logger.info({ applied }, 'migrations applied');
    }
    if (config.SEED_DEMO_DATA && (await seedDemoDataIfEmpty(db))) logger.info('demo catalog loaded');
  } finally {
    await db.destroy();
  }
}
