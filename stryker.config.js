// Mutation testing of the decisions and the hot paths (`npm run test:mutation`, docs/testing.md).
// To add a module: add its source to `modules` and the test files that are meant to kill its mutants
// to `tests`. Only those test files run (the dry run and every mutant), never the whole suite.

/**
 * Sources to mutate: the decisions and the hot paths (`file:from-to` mutates only those lines).
 * Not here: routes and wiring (their mutants are HTTP plumbing the booking tests cover end to end).
 */
const modules = [
  // controller: the policy, the alert episodes, leader election, one reconcile, the status write
  'controller/src/policy.ts',
  'controller/src/alerts/episodes.ts',
  'controller/src/leader.ts',
  'controller/src/reconcile/reconciler.ts',
  'controller/src/reconcile/kube-store.ts:106-136', // updateStatus: the compare-and-swap and its retries
  // service: queue admission, idempotency, the hold and payment statements, the seat-map cache
  'service/src/queue/admission.ts',
  'service/src/payments/idempotency.ts',
  'service/src/reservations/queries.ts',
  'service/src/wallet/queries.ts',
  'service/src/catalog/seat-map-cache.ts',
  'service/src/cache/single-flight.ts', // the invalidation coalescer
];

/**
 * The test files meant to kill those mutants; they reach real Postgres, Redis and kube-apiserver like any
 * test. Each test in them stands alone (perTest coverage runs single tests).
 */
const tests = [
  'controller/test/policy.test.ts',
  'controller/test/episodes.test.ts',
  'controller/test/webhook.test.ts',
  'controller/test/leader.test.ts',
  'controller/test/reconciler.test.ts',
  'service/test/booking-rules.test.ts',
  'service/test/idempotency.test.ts',
  'service/test/statements.test.ts',
  'service/test/seat-map-cache.test.ts',
  'service/test/invalidation.test.ts',
];

/**
 * STRYKER_COMPONENT=controller keeps the controller's modules and tests, STRYKER_COMPONENT=service all the
 * others (the service's, and any added elsewhere, such as the drill's): scripts/mutation.sh runs the two at
 * once (they share no server).
 */
const component = process.env.STRYKER_COMPONENT ?? '';
const ofComponent = (path) =>
  component === '' || (component === 'controller') === path.startsWith('controller/');
const name = component || 'all';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: modules.filter(ofComponent),
  testRunner: 'jest',
  // The jest of `npm run test:jest`: native ESM through vm modules.
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  // Each mutant runs the listed test files that import its file (findRelatedTests), and of those only
  // the tests that executed it in the dry run (perTest coverage).
  jest: {
    configFile: 'jest.config.js',
    config: { testMatch: tests.filter(ofComponent).map((file) => `<rootDir>/${file}`) },
    enableFindRelatedTests: true,
  },
  coverageAnalysis: 'perTest',
  // The service's tests share one Postgres and one Redis: two runs of one file at once would see each other's
  // keys and invalidations, so its mutants are tested one at a time. The controller's use namespaces and
  // leases of their own per run, so two at a time.
  concurrency: component === 'controller' ? 2 : 1,
  // The tests talk to real servers: a busy machine must not turn a slow run into a "timeout" kill.
  timeoutFactor: 3,
  timeoutMS: 20_000,
  dryRunTimeoutMinutes: 20,
  ignorePatterns: ['.data', 'reports', 'dist', 'coverage'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: `.stryker-tmp/${name}`,
};
