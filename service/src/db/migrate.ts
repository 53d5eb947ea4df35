/**
 * Runs pending migrations and exits: the cluster's migrations Job and `npm run migrate`.
 * Usage: DATABASE_URL=... node dist/service/src/db/migrate.js
 */
import { parseCommandLine, runMain, type CommandLine } from '@concert-booking/lib';

const COMMAND: CommandLine<Record<string, never>> = {
  name: 'npm run migrate',
  usage: `   (no flags: DATABASE_URL from the environment)
  Runs the pending migrations and exits.`,
  options: {},
};

runMain(COMMAND, async () => {
  parseCommandLine(COMMAND, process.argv.slice(2));
  const { openScriptDatabase } = await import('./script-database.js');
  const { logger, db } = openScriptDatabase('migrate', 'run migrations');
  try {
    const [batch, applied] = (await db.migrate.latest()) as [number, string[]];
    logger.info({ batch, applied }, applied.length ? 'migrations applied' : 'schema up to date');
  } finally {
    await db.destroy();
  }
});
