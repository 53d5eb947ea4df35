import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The shared test Postgres started by scripts/services.sh (see jest-global-setup.ts). */
export function sharedDatabaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the tests with `npm test`');
  return url;
}

export function sharedRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is not set: run the tests with `npm test`');
  return url;
}

export interface ScratchDatabase {
  url: string;
  /** Runs a statement in it (one connection each call); resolves with the rows of the last one. */
  query<Row = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Drops it, whoever is still connected. */
  drop(): Promise<void>;
}

async function execute<Row>(url: string, sql: string, params?: unknown[]): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const results: pg.QueryResult | pg.QueryResult[] = await client.query(sql, params);
    return (Array.isArray(results) ? results.at(-1)! : results).rows as Row[];
  } finally {
    await client.end();
  }
}

/**
 * An empty database of its own on a shared server (one per test file, bench or drill), so users side by side
 * never see each other's rows. The program under test migrates and fills it.
 */
export async function createScratchDatabase(baseUrl = sharedDatabaseUrl()): Promise<ScratchDatabase> {
  const name = `test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await execute(baseUrl, `create database ${name}`);
  const url = Object.assign(new URL(baseUrl), { pathname: `/${name}` }).toString();
  return {
    url,
    query: (sql, params) => execute(url, sql, params),
    drop: async () => void (await execute(baseUrl, `drop database if exists ${name} with (force)`)),
  };
}
