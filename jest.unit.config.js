// The unit lane: the pure tests (*.unit.test.ts), with no global setup, so no Postgres, Redis or API server
// is started or needed. `npm run test:unit`; `npm test` runs these too.
import main from './jest.config.js';

const { globalSetup: _none, ...shared } = main;

/** @type {import('jest').Config} */
export default {
  ...shared,
  testMatch: ['<rootDir>/**/test/**/*.unit.test.ts'],
  testTimeout: 10_000,
};
