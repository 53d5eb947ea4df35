import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const servicesScript = fileURLToPath(new URL('../scripts/services.sh', import.meta.url));

/** Starts the shared Postgres and Redis (idempotent) and hands their URLs to every test worker. */
export default function globalSetup(): void {
  execFileSync('bash', [servicesScript, 'up'], { stdio: 'inherit' });
  const env = execFileSync('bash', [servicesScript, 'env'], { encoding: 'utf8' });
  for (const line of env.split('\n')) {
    const match = /^export ([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) process.env[`TEST_${match[1]}`] = match[2];
  }
}
