// No test skips itself silently (issue 21): jest's skip, todo and only forms (`only` skips every other test of
// the file) appear nowhere in the tests or their helpers, except in describeWithCluster, where
// EXCLUDE_CLUSTER_TESTS=1 leaves the cluster suites out on purpose and prints that it did (docs/testing.md).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const SKIP_FORMS =
  /\b(?:describe|it|test)(?:\.each\([^)]*\))?\.(?:skip|todo|only|failing)\b|\b[xf](?:describe|it|test)\s*\(|\b(?:describe|it|test)\.concurrent\.(?:skip|only)\b/;
/** The one explicit, printed exclusion: EXCLUDE_CLUSTER_TESTS=1. */
const ALLOWED = new Set(['devkit/src/cluster/envtest.ts']);

/** `file:line: text` for each line of `source` that skips (or singles out) a test. */
function skipsIn(file: string, source: string): string[] {
  return source
    .split('\n')
    .map((line, index) => ({ line, number: index + 1 }))
    .filter(({ line }) => SKIP_FORMS.test(line))
    .map(({ line, number }) => `${file}:${number}: ${line.trim()}`);
}

/** The test files and the test helpers (devkit, test-support) that git tracks. */
function testSources(): string[] {
  const listed = execFileSync(
    'git',
    [
      'ls-files',
      '--cached',
      '--others',
      '--exclude-standard',
      '*/test/*.ts',
      'devkit/src/*.ts',
      'test-support/*.ts',
    ],
    { cwd: REPO_ROOT, encoding: 'utf8' },
  );
  return listed.split('\n').filter((file) => file !== '' && !file.endsWith('/no-skips.unit.test.ts'));
}

describe('no test skips itself silently', () => {
  test.each([
    ['it.skip', "it.skip('x', () => {});", 1],
    ['describe.skip', "describe.skip('x', () => {});", 1],
    ['test.todo', "test.todo('later');", 1],
    ['it.only (skips the rest)', "it.only('x', () => {});", 1],
    ['test.each(...).skip', "test.each([[1]]).skip('x %s', () => {});", 1],
    ['xit', "xit('x', () => {});", 1],
    ['fdescribe', "fdescribe('x', () => {});", 1],
    ['test.failing', "test.failing('x', () => {});", 1],
    ['a plain test', "test('skips nothing: it.skipped is a word', () => {});", 0],
    ['a property named skip', 'const plan = { skip: true }; options.skip = 1;', 0],
  ])('%s', (_name, source, found) => {
    expect(skipsIn('a.test.ts', source)).toHaveLength(found);
  });

  test('none in the repository, outside the EXCLUDE_CLUSTER_TESTS flag', () => {
    const files = testSources();
    // The listing found the suite (a broken glob would pass with nothing to read).
    expect(files).toEqual(
      expect.arrayContaining(['controller/test/policy.unit.test.ts', 'devkit/src/wait.ts']),
    );
    const skips = files
      .filter((file) => !ALLOWED.has(file))
      .flatMap((file) => skipsIn(file, readFileSync(join(REPO_ROOT, file), 'utf8')));
    expect(skips).toEqual([]);
  });

  test('the flag is still the only exclusion describeWithCluster makes, and it prints it', () => {
    const source = readFileSync(join(REPO_ROOT, 'devkit/src/cluster/envtest.ts'), 'utf8');
    expect(skipsIn('envtest.ts', source)).toHaveLength(1);
    expect(source).toMatch(/if \(plan\.run === false && plan\.excluded\) \{\n\s+process\.stderr\.write\(/);
  });
});
