/**
 * How to start the project's own programs and the servers around them through the harness (`ProcessGroup.start(serviceProcess(...))`): the
 * same command `npm start` runs, an environment of the caller's, and the readiness check each program serves.
 */
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProcessSpec } from './process.js';
import { testIssuer } from './identity.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * service/src/main.ts, trusting the test issuer (devkit/src/identity.ts) unless `env` names an issuer or sets
 * AUTH_ISSUER to undefined, its admin port (/metrics) on `env.ADMIN_PORT` or any free port; ready when GET /readyz on `env.PORT` answers 2xx (omit `ready` for a start that fails).
 */
export function serviceProcess(
  env: Record<string, string | undefined>,
  overrides: Partial<ProcessSpec> = {},
): ProcessSpec {
  return {
    name: 'service',
    command: process.execPath,
    args: ['--import', 'tsx', 'service/src/main.ts'],
    cwd: ROOT,
    // Any free admin port unless told: several services run side by side in tests.
    env: { LOG_LEVEL: 'warn', ADMIN_PORT: '0', ...testIssuer().env, ...env },
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

/** The seed command's volume (`npm run seed -- --concerts N --timeslots N --seats N`). */
export interface CatalogVolume {
  concerts: number;
  timeslotsPerConcert: number;
  seatsPerTimeslot: number;
}

/**
 * service/src/db/generate-cli.ts (`npm run seed`): migrates `databaseUrl` and fills its catalog, by default
 * with the command's own volume (1M seats); run it with runProcess.
 */
export function seedProcess(databaseUrl: string, volume?: CatalogVolume): ProcessSpec {
  const flags = volume
    ? [
        '--concerts',
        volume.concerts,
        '--timeslots',
        volume.timeslotsPerConcert,
        '--seats',
        volume.seatsPerTimeslot,
      ]
    : [];
  return {
    name: 'seed',
    command: process.execPath,
    args: ['--import', 'tsx', 'service/src/db/generate-cli.ts', ...flags.map(String)],
    cwd: ROOT,
    env: { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
  };
}

/** The first of `names` on PATH (Debian names the Alertmanager daemon prometheus-alertmanager). */
function installed(...names: string[]): string {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const name of names) for (const dir of dirs) if (existsSync(join(dir, name))) return join(dir, name);
  throw new Error(`none of ${names.join(', ')} is installed (scripts/services.sh up installs them)`);
}

/** Alertmanager on 127.0.0.1:`port`, one instance without gossip; ready when /-/ready answers. */
export function alertmanagerProcess(o: { configFile: string; dataDir: string; port: number }): ProcessSpec {
  return {
    name: 'alertmanager',
    command: installed('prometheus-alertmanager', 'alertmanager'),
    args: [
      `--config.file=${o.configFile}`,
      `--storage.path=${o.dataDir}`,
      `--web.listen-address=127.0.0.1:${o.port}`,
      '--cluster.listen-address=',
    ],
    ready: { url: `http://127.0.0.1:${o.port}/-/ready` },
  };
}

/** Prometheus on 127.0.0.1:`port`; ready when /-/ready answers. */
export function prometheusProcess(o: { configFile: string; dataDir: string; port: number }): ProcessSpec {
  return {
    name: 'prometheus',
    command: installed('prometheus'),
    args: [
      `--config.file=${o.configFile}`,
      `--storage.tsdb.path=${o.dataDir}`,
      `--web.listen-address=127.0.0.1:${o.port}`,
    ],
    ready: { url: `http://127.0.0.1:${o.port}/-/ready` },
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
