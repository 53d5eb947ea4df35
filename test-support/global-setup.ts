import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Starts the shared Postgres and Redis (idempotent) and hands their URLs to every test worker.
 * Jest loads this file outside its module mapping, so it cannot import local-services.ts (which
 * the benches and tools use) and runs the script itself.
 */
export default function globalSetup(): void {
  const script = path.resolve('scripts/services.sh');
  execFileSync('bash', [script, 'up'], { stdio: 'inherit' });
  const printed = execFileSync('bash', [script, 'env'], { encoding: 'utf8' });
  for (const [, name, value] of printed.matchAll(/^export (\w+)=(.*)$/gm))
    process.env[`TEST_${name}`] = value;
}
