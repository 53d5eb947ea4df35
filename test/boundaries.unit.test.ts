import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';

// The lint rule of the program boundaries (eslint.config.js), on files that do not exist: ESLint lints the text
// as if it sat at that path, and resolves its imports from there against the real tree.
const root = fileURLToPath(new URL('..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function problems(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${source}\nexport {};\n`, { filePath });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('program boundaries (import-x/no-restricted-paths and friends)', () => {
  test.each([
    ['service/src/example.ts', "import '@concert-booking/lib';"],
    [
      'controller/src/example.ts',
      "import { bearerMatches } from '@concert-booking/lib';\nvoid bearerMatches;",
    ],
    ['cdk8s/src/example.ts', "import { KIND } from '@concert-booking/controller/api';\nvoid KIND;"],
    [
      'cdk8s/test/example.ts',
      "import { loadConfig } from '@concert-booking/service/config';\nvoid loadConfig;",
    ],
    [
      'drill/src/example.ts',
      "import { ProcessGroup } from '@concert-booking/devkit/process';\nvoid ProcessGroup;",
    ],
    ['service/test/example.ts', "import { waitFor } from '@concert-booking/devkit/wait';\nvoid waitFor;"],
  ])('%s may: %s', async (file, source) => {
    expect(await problems(file, source)).toEqual([]);
  });

  test.each([
    // The two imports of issue 16: the controller reaching into the service.
    ['controller/src/example.ts', "import '../../service/src/config.js';", 'no-restricted-paths'],
    ['controller/src/example.ts', "import '../../service/src/config.js';", 'no-relative-packages'],
    // A package name does not get around it: the rule looks where the import resolves.
    ['service/src/example.ts', "import '@concert-booking/controller/api';", 'no-restricted-paths'],
    // cdk8s may use the controller's API, not the rest of it.
    ['cdk8s/src/example.ts', "import '../../controller/src/policy.js';", 'no-restricted-paths'],
    // Runtime code never uses devkit; tests do.
    ['service/src/example.ts', "import '@concert-booking/devkit/wait';", 'no-restricted-paths'],
    // devkit starts programs as processes, it never imports them.
    ['devkit/src/example.ts', "import '../../service/src/compose.js';", 'no-restricted-paths'],
    // lib imports nothing of ours.
    ['lib/src/example.ts', "import '../../monitoring/src/rules.js';", 'no-restricted-paths'],
    // A package another workspace declares, but not the importer: it would be missing from its install.
    ['load/src/example.ts', "import 'koa';", 'no-extraneous-dependencies'],
  ])('%s may not: %s (%s)', async (file, source, rule) => {
    expect((await problems(file, source)).join('\n')).toContain(`import-x/${rule}`);
  });
});
