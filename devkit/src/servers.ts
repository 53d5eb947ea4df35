// Servers of a test's own, which the test may stop and start again (the shared ones of scripts/services.sh must
// stay up for the other suites), started and stopped through the process harness.
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runProcess, startProcess, type ManagedProcess } from './process.js';
import { canConnect, freePort } from './wait.js';

const isRoot = () => process.getuid?.() === 0;
const uidOf = (user: string) => Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
const gidOf = (user: string) => Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
/** Postgres refuses to run as root: as root, run it as the Debian package's `postgres` user. */
const postgresIdentity = () => (isRoot() ? { uid: uidOf('postgres'), gid: gidOf('postgres') } : {});

function pgBinDir(): string {
  if (process.env.TEST_BOOKING_PG_BINDIR) return process.env.TEST_BOOKING_PG_BINDIR;
  return execFileSync('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1'], {
    encoding: 'utf8',
  }).trim();
}

export class PrivatePostgres {
  private process: ManagedProcess | undefined;
  private constructor(
    readonly dataDir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<PrivatePostgres> {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'booking-pg-'));
    if (isRoot()) chownSync(dataDir, uidOf('postgres'), gidOf('postgres'));
    await runProcess({
      name: 'initdb',
      command: path.join(pgBinDir(), 'initdb'),
      args: ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale'],
      ...postgresIdentity(),
    });
    const server = new PrivatePostgres(dataDir, await freePort());
    await server.start();
    return server;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<void> {
    const isReady = () =>
      runProcess({
        name: 'pg_isready',
        command: path.join(pgBinDir(), 'pg_isready'),
        args: ['-h', '127.0.0.1', '-p', String(this.port)],
      }).then(
        () => true,
        () => false,
      );
    this.process = await startProcess({
      name: 'postgres',
      command: path.join(pgBinDir(), 'postgres'),
      args: [
        ...['-D', this.dataDir, '-p', String(this.port), '-k', this.dataDir],
        ...['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
      ],
      ...postgresIdentity(),
      // Accepting TCP is not yet accepting queries: pg_isready waits for the startup to finish.
      ready: isReady,
      readyTimeoutMs: 20_000,
      // Fast shutdown: active connections are cut, like a crash for clients.
      stopSignal: 'SIGINT',
    });
  }

  async stop(): Promise<void> {
    await this.process?.stop();
    this.process = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export class PrivateRedis {
  private process: ManagedProcess | undefined;
  private constructor(readonly port: number) {}

  static async create(): Promise<PrivateRedis> {
    const server = new PrivateRedis(await freePort());
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.process = await startProcess({
      name: 'redis',
      command: 'redis-server',
      args: ['--bind', '127.0.0.1', '--port', String(this.port), '--save', '', '--appendonly', 'no'],
      ready: () => canConnect(this.port),
      readyTimeoutMs: 10_000,
      // Killed outright: the tests use it as Redis going away.
      stopSignal: 'SIGKILL',
    });
  }

  async stop(): Promise<void> {
    await this.process?.stop();
    this.process = undefined;
  }
}
