// Helpers for the monitoring tests: run the Debian tools, find free loopback ports, temp dirs.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RunResult {
  status: number | null;
  output: string;
}

/** Runs a command to completion; `output` is stdout and stderr together (promtool and amtool use both). */
export function run(command: string, args: string[], cwd?: string): RunResult {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Finds a binary among candidate paths (Debian names the Alertmanager daemon prometheus-alertmanager). */
export function findBinary(...candidates: string[]): string {
  for (const candidate of candidates) {
    if (candidate.includes('/')) {
      if (existsSync(candidate)) return candidate;
    } else {
      const which = spawnSync('sh', ['-c', `command -v ${candidate}`], { encoding: 'utf8' });
      if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
    }
  }
  throw new Error(`none of ${candidates.join(', ')} is installed (scripts/services.sh up installs them)`);
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

/** A loopback port free at the time of asking. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns true or `timeoutMs` passes; returns the last result. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
}
