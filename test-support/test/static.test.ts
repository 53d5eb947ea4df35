import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
    (_name, command, args) => {
      const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
      expect(result.error).toBeUndefined();
      // The output first: on failure it says what is wrong; a silent non-zero exit fails as well.
      expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
      expect(result.status).toBe(0);
    },
    300_000,
  );
});
