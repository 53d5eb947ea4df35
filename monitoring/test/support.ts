// Helpers for the monitoring tests: run the Debian tools, temp dirs.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
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

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}
