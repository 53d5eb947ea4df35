import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url));

export interface LocalServices {
  DATABASE_URL: string;
  REDIS_URL: string;
  BOOKING_PG_BINDIR: string;
}

/**
 * The loopback Postgres and Redis of scripts/services.sh: started (and installed) if needed,
 * then their URLs as `scripts/services.sh env` prints them. Tests, benchmarks and tools share it.
 */
export function localServices(): LocalServices {
  execFileSync('bash', [script, 'up'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const printed = execFileSync('bash', [script, 'env'], { encoding: 'utf8' });
  const env = Object.fromEntries([...printed.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'BOOKING_PG_BINDIR'] as const) {
    if (!env[name]) throw new Error(`scripts/services.sh env printed no ${name}:\n${printed}`);
  }
  return env as unknown as LocalServices;
}
