import { localServices } from './local-services.js';

/** Starts the shared Postgres and Redis (idempotent) and hands their URLs to every test worker. */
export default function globalSetup(): void {
  for (const [name, value] of Object.entries(localServices())) process.env[`TEST_${name}`] = value;
}
