import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { canConnect, freePort, waitFor } from '../devkit/src/wait.js';
import { mkdtempSync, rmSync, chownSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const isRoot = () => process.getuid?.() === 0;

function pgBinDir(): string {
  if (process.env.TEST_BOOKING_PG_BINDIR) return process.env.TEST_BOOKING_PG_BINDIR;
  return execFileSync('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1'], {
    encoding: 'utf8',
  }).trim();
}

/**
 * A Postgres server of a test's own, which the test may stop and start again (the shared one
 * must stay up for the other suites). Runs as the `postgres` user when the tests run as root.
 */
export class PrivatePostgres {
  private process: ChildProcess | undefined;
  private constructor(
    readonly dataDir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<PrivatePostgres> {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'booking-pg-'));
    if (isRoot()) chownSync(dataDir, uidOf('postgres'), gidOf('postgres'));
    runAsPostgres(
      path.join(pgBinDir(), 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale'],
      true,
    );
    const server = new PrivatePostgres(dataDir, await freePort());
    await server.start();
    return server;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<void> {
    const args = [
      '-D',
      this.dataDir,
      '-p',
      String(this.port),
      '-k',
      this.dataDir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
    ];
    this.process = runAsPostgres(path.join(pgBinDir(), 'postgres'), args, false);
    await waitFor(() => canConnect(this.port), 20_000, `postgres on ${this.port}`);
    // Accepting TCP is not yet accepting queries: wait for the startup to finish.
    await waitFor(
      async () => {
        try {
          execFileSync(path.join(pgBinDir(), 'pg_isready'), ['-h', '127.0.0.1', '-p', String(this.port)], {
            stdio: 'ignore',
          });
          return true;
        } catch {
          return false;
        }
      },
      20_000,
      'pg_isready',
    );
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGINT'); // fast shutdown: active connections are cut, like a crash for clients
    await exited;
    this.process = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export class PrivateRedis {
  private process: ChildProcess | undefined;
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
    this.process = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(this.port), '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    await waitFor(() => canConnect(this.port), 10_000, `redis on ${this.port}`);
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.process = undefined;
  }
}

/** Postgres refuses to run as root: as root, run it as the Debian package's `postgres` user. */
function runAsPostgres(binary: string, args: string[], wait: true): undefined;
function runAsPostgres(binary: string, args: string[], wait: false): ChildProcess;
function runAsPostgres(binary: string, args: string[], wait: boolean): ChildProcess | undefined {
  const identity = isRoot() ? { uid: uidOf('postgres'), gid: gidOf('postgres') } : {};
  if (wait) {
    execFileSync(binary, args, { stdio: 'ignore', ...identity });
    return undefined;
  }
  return spawn(binary, args, { stdio: 'ignore', ...identity });
}

const uidOf = (user: string) => Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
const gidOf = (user: string) => Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
