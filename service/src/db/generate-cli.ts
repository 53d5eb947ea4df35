/**
 * `npm run seed -- --concerts 100 --timeslots 20 --seats 500` fills DATABASE_URL's catalog (1M seats by default).
 */
import { parseArgs } from 'node:util';
import { generateCatalog } from './generate.js';
import { openScriptDatabase } from './script-database.js';

const { values } = parseArgs({
  options: {
    concerts: { type: 'string', default: '100' },
    timeslots: { type: 'string', default: '20' },
    seats: { type: 'string', default: '500' },
  },
});
const volume = {
  concerts: positive('concerts', values.concerts),
  timeslotsPerConcert: positive('timeslots', values.timeslots),
  seatsPerTimeslot: positive('seats', values.seats),
};

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`--${name} must be a positive integer, got ${value}`);
    process.exit(2);
  }
  return n;
}

const { logger, db } = openScriptDatabase('seed', 'generate data', 10_000);
try {
  await db.migrate.latest();
  const started = Date.now();
  const { seats } = await generateCatalog(db, volume);
  logger.info({ ...volume, seats, ms: Date.now() - started }, 'catalog generated');
} finally {
  await db.destroy();
}
