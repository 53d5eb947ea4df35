import { localServices } from '@concert-booking/devkit/local-services';

/**
 * The main test lane's global setup: starts the shared Postgres and Redis (idempotent) and hands their URLs to
 * every test worker as TEST_DATABASE_URL, TEST_REDIS_URL and TEST_BOOKING_PG_BINDIR. (Imported by package name:
 * jest resolves a global setup's imports without the config's moduleNameMapper.)
 */
export default function globalSetup(): void {
  for (const [name, value] of Object.entries(localServices())) process.env[`TEST_${name}`] = value;
}
