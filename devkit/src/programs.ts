/**
 * How to start the project's own programs through the harness (`ProcessGroup.start(serviceProcess(...))`): the
 * same command `npm start` runs, an environment of the caller's, and the readiness check each program serves.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProcessSpec } from './process.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** service/src/main.ts; ready when GET /readyz on `env.PORT` answers 2xx (omit `ready` for a start that fails). */
export function serviceProcess(
  env: Record<string, string | undefined>,
  overrides: Partial<ProcessSpec> = {},
): ProcessSpec {
  return {
    name: 'service',
    command: process.execPath,
    args: ['--import', 'tsx', 'service/src/main.ts'],
    cwd: ROOT,
    env: { LOG_LEVEL: 'warn', ...env },
    ready: env.PORT ? { url: `http://127.0.0.1:${env.PORT}/readyz` } : undefined,
    ...overrides,
  };
}

/** controller/src/main.ts; ready when GET /readyz on `env.PORT` answers 2xx. */
export function controllerProcess(env: Record<string, string | undefined>): ProcessSpec {
  return {
    name: 'controller',
    command: process.execPath,
    args: ['--import', 'tsx', 'controller/src/main.ts'],
    cwd: ROOT,
    env: { LOG_LEVEL: 'warn', ...env },
    ready: { url: `http://127.0.0.1:${env.PORT}/readyz` },
  };
}

/**
 * `npm run <script> -- <args>` as package.json defines it (`tsx <file>`), run as node --import tsx, without
 * npm in between (npm adds a second or so and its own lines to the output).
 */
export function npmScriptProcess(
  script: string,
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): ProcessSpec {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const file = /^tsx (\S+)$/.exec(scripts[script] ?? '')?.[1];
  if (!file) throw new Error(`npm run ${script}: "${scripts[script]}" is not "tsx <file>"`);
  return {
    name: `npm run ${script}`,
    command: process.execPath,
    args: ['--import', 'tsx', file, ...args],
    cwd: ROOT,
    env,
  };
}
