/**
 * `npm run seed -- --concerts 100 --timeslots 20 --seats 500` fills DATABASE_URL's catalog (1M seats by default).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { generateCatalog } from './generate.js';
import { createDatabase } from './knex.js';

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

const config = loadConfig();
const logger = createLogger(config.LOG_LEVEL, { component: 'seed' });
if (!config.DATABASE_URL) {
  logger.fatal('invalid configuration: DATABASE_URL: required to generate data');
  process.exit(1);
}
const db = createDatabase({
  url: config.DATABASE_URL,
  poolMin: 0,
  poolMax: 1,
  acquireTimeoutMs: 10_000,
  statementTimeoutMs: 0,
});
try {
  await db.migrate.latest();
  const started = Date.now();
  const { seats } = await generateCatalog(db, volume);
  logger.info({ ...volume, seats, ms: Date.now() - started }, 'catalog generated');
} finally {
  await db.destroy();
}
