// One jest run for every component: tests sit beside their component in */test/. The main lane (`npm test`,
// `npm run test:jest`) runs all of them with the shared Postgres and Redis started first; the unit lane
// (jest.unit.config.js, `npm run test:unit`) runs only the *.unit.test.ts files, which start no server.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
    ],
  },
  // Relative imports name the .js a build would emit; the sources are .ts. Packages (@concert-booking/*)
  // resolve through their package.json exports to .ts sources, so there is no build step for the tests.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/**/test/**/*.test.ts'],
  // <rootDir>: a mutation run's sandboxes (copies of the repository) are not tests of this checkout.
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/.stryker-tmp/'],
  modulePathIgnorePatterns: ['<rootDir>/.stryker-tmp/'],
  globalSetup: '<rootDir>/devkit/src/jest-global-setup.ts',
  maxWorkers: 2,
  testTimeout: 60_000,
};
