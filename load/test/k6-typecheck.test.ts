import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';

const root = new URL('../..', import.meta.url).pathname;

test('the k6 scripts type-check against @types/k6', async () => {
  const tsc = `${root}node_modules/typescript/bin/tsc`;
  const run = await promisify(execFile)(process.execPath, [tsc, '--noEmit', '-p', 'load/k6/tsconfig.json'], {
    cwd: root,
  }).catch((error: { stdout: string; code: number }) => error);
  expect(run.stdout).toBe('');
});

test('every scenario has a k6 script with thresholds, checks and a JSON summary', () => {
  const scripts = readdirSync(`${root}load/k6`).filter((f) => f.endsWith('.ts') && f !== 'common.ts');
  expect(scripts.sort()).toEqual(['booking-flow.ts', 'lock-counter.ts', 'seat-map.ts']);
});
