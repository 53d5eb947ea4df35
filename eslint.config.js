import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * The program boundaries: what each package may import besides itself (docs/architecture.md draws the same
 * map). `runtime` holds for all of a package; `dev` only for its tests, benches and tools. A path below a
 * package (controller/src/api) allows only that part of it. Imports are checked where they resolve, so a
 * relative path and a package name are the same import; across packages only package names are allowed.
 */
export const BOUNDARIES = {
  lib: { runtime: [] },
  // The local cluster deploys the bundle: its values (local images) and its labels (to find its pods).
  devkit: { runtime: ['lib', 'cdk8s/src/values.ts', 'cdk8s/src/values', 'cdk8s/src/labels.ts'] },
  service: { runtime: ['lib'], dev: ['devkit'] },
  controller: { runtime: ['lib'], dev: ['devkit'] },
  monitoring: { runtime: ['lib'], dev: ['devkit'] },
  load: { runtime: ['lib'], dev: ['devkit'] },
  cdk8s: {
    runtime: ['lib', 'monitoring', 'controller/src/api'],
    // The manifests' environment is checked against the service's own configuration reader.
    dev: ['devkit', 'service/src/config.ts'],
  },
  // The cluster drill deploys the bundle with its values and finds its pods by the bundle's labels.
  drill: {
    runtime: [
      'lib',
      'devkit',
      'monitoring',
      'load',
      'controller/src/api',
      'cdk8s/src/values.ts',
      'cdk8s/src/values',
      'cdk8s/src/labels.ts',
    ],
  },
};

/** Code a package runs (everything but its tests, benches and tools). */
const DEV_FOLDERS = ['test', 'bench', 'tools'];
const runtimeCode = (name) => [`./${name}/*.ts`, `./${name}/!(${DEV_FOLDERS.join('|')})/**`];

function boundaryZones() {
  const zones = [];
  for (const [name, { runtime, dev = [] }] of Object.entries(BOUNDARIES)) {
    for (const other of Object.keys(BOUNDARIES).filter((other) => other !== name)) {
      const allowed = (list) => list.filter((entry) => entry.split('/')[0] === other);
      const inRuntime = allowed(runtime);
      const inDev = allowed(dev);
      const message = `${name} may not import this part of ${other} (eslint.config.js BOUNDARIES, docs/architecture.md)`;
      const except = (list) =>
        list.filter((entry) => entry !== other).map((entry) => entry.replace(other, '.'));
      if (inRuntime.includes(other)) continue;
      // Runtime code: only the allowed parts, if any.
      zones.push({ target: runtimeCode(name), from: `./${other}`, except: except(inRuntime), message });
      // Tests, benches and tools: the runtime allowance plus the dev one.
      if (!inDev.includes(other)) {
        const devTargets = DEV_FOLDERS.map((folder) => `./${name}/${folder}/**`);
        zones.push({
          target: devTargets,
          from: `./${other}`,
          except: except([...inRuntime, ...inDev]),
          message,
        });
      }
    }
  }
  return zones;
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '**/dist/', 'charts/', 'reports/', 'coverage/', '.stryker-tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: 'tsconfig.json' })],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: boundaryZones() }],
      // Another package is reached by its name (its package.json exports), never by a relative path.
      'import-x/no-relative-packages': 'error',
      // Every package declares what it imports: the image installs the service's and the controller's only.
      'import-x/no-extraneous-dependencies': [
        'error',
        { devDependencies: DEV_FOLDERS.map((folder) => `**/${folder}/**`), includeTypes: true },
      ],
      'import-x/no-duplicates': 'error',
    },
  },
  {
    // k6 scripts import k6's built-in modules, which are no npm packages.
    files: ['load/k6/**'],
    rules: { 'import-x/no-extraneous-dependencies': 'off' },
  },
);
