import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = (name: string) => `${root}node_modules/.bin/${name}`;

/** The type checker, the linter and the formatter over the whole repository, as tests. */
describe('static checks', () => {
  test.each([
    ['tsc (strict) finds no type error', bin('tsc'), ['--noEmit', '-p', 'tsconfig.json']],
    ['eslint finds no problem', bin('eslint'), ['--max-warnings=0', '.']],
    ['prettier finds every file formatted', bin('prettier'), ['--check', '--log-level=warn', '.']],
  ])(
    '%s',
    async (_name, command, args) => {
      const result = await run(command, args, { cwd: root, maxBuffer: 16 * 1024 * 1024 }).catch(
        (error: { stdout: string; stderr: string }) => error,
      );
      expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
    },
    300_000,
  );
});
