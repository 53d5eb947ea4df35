/**
 * `npm run seed -- --concerts 100 --timeslots 20 --seats 500` fills DATABASE_URL's catalog (1M seats by default).
 */
import { numberFlag, parseCommandLine, runMain, type CommandLine } from '@concert-booking/lib';

const COMMAND: CommandLine<{
  concerts: { type: 'string'; default: string };
  timeslots: { type: 'string'; default: string };
  seats: { type: 'string'; default: string };
}> = {
  name: 'npm run seed --',
  usage: `[--concerts 100] [--timeslots 20] [--seats 500]
  Adds concerts, each with --timeslots timeslots of --seats seats, to the catalog of DATABASE_URL (migrated first).`,
  options: {
    concerts: { type: 'string', default: '100' },
    timeslots: { type: 'string', default: '20' },
    seats: { type: 'string', default: '500' },
  },
};

runMain(COMMAND, async () => {
  const { values } = parseCommandLine(COMMAND, process.argv.slice(2));
  const volume = {
    concerts: numberFlag('concerts', values.concerts, { integer: true }),
    timeslotsPerConcert: numberFlag('timeslots', values.timeslots, { integer: true }),
    seatsPerTimeslot: numberFlag('seats', values.seats, { integer: true }),
  };
  const { generateCatalog } = await import('./generate.js');
  const { openScriptDatabase } = await import('./script-database.js');
  const { logger, db } = openScriptDatabase('seed', 'generate data', 10_000);
  try {
    await db.migrate.latest();
    const started = Date.now();
    const { seats } = await generateCatalog(db, volume, (done, total) =>
      process.stderr.write(`seed: ${done.toLocaleString('en')} of ${total.toLocaleString('en')} seats\n`),
    );
    logger.info({ ...volume, seats, ms: Date.now() - started }, 'catalog generated');
  } finally {
    await db.destroy();
  }
});
