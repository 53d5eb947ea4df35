// Mutation testing of the decisions and the hot paths (`npm run test:mutation`, docs/testing.md).
// Each module is mutated in a Stryker run of its own (STRYKER_MODULE=<module>, as scripts/mutation.sh runs
// them), with only the test files meant to kill its mutants: the dry run and every mutant run those, never
// the whole suite. To add a module: add it to `modules` with those test files.

/**
 * Sources to mutate (`file:from-to` mutates only those lines), each with the test files that are meant to
 * kill its mutants; they reach real Postgres, Redis and kube-apiserver like any test. Each test in them
 * stands alone (perTest coverage runs single tests). Not here: routes and wiring (their mutants are HTTP
 * plumbing the booking tests cover end to end).
 */
export const modules = {
  // controller: the policy, the alert episodes, leader election, one reconcile, the status write
  'controller/src/policy.ts': ['controller/test/policy.unit.test.ts'],
  'controller/src/alerts/episodes.ts': [
    'controller/test/episodes.unit.test.ts',
    'controller/test/webhook.unit.test.ts',
  ],
  'controller/src/leader.ts': ['controller/test/leader.unit.test.ts', 'controller/test/leader.test.ts'],
  // Its decisions on the memory store (reconciler.test.ts runs the same against an API server, much slower).
  'controller/src/reconcile/reconciler.ts': ['controller/test/reconciler.unit.test.ts'],
  // updateStatus: the compare-and-swap and its retries
  'controller/src/reconcile/kube-store.ts:106-136': ['controller/test/kube-store.test.ts'],
  // service: queue admission, idempotency, the hold and payment statements, the seat-map cache
  'service/src/queue/admission.ts': ['service/test/booking-rules.unit.test.ts'],
  'service/src/payments/idempotency.ts': [
    'service/test/idempotency.test.ts',
    'service/test/booking-rules.unit.test.ts',
  ],
  'service/src/reservations/queries.ts': ['service/test/statements.test.ts'],
  'service/src/wallet/queries.ts': ['service/test/statements.test.ts'],
  'service/src/catalog/seat-map-cache.ts': ['service/test/seat-map-cache.test.ts'],
  // the invalidation coalescer
  'service/src/cache/single-flight.ts': [
    'service/test/invalidation.test.ts',
    'service/test/seat-map-cache.test.ts',
  ],
  // drill: the scorecard the drill's verdict reads, and the calibration's choice of the peak
  'drill/src/scorecard.ts': ['drill/test/scorecard.unit.test.ts'],
  // choosePeak, p90At, routeBuckets, quantileBetween (not the ramp's I/O)
  'drill/src/calibration.ts:1-126': ['drill/test/scorecard.unit.test.ts'],
};

/** The file name of a module's reports: `service/src/cache/single-flight.ts` -> `service-src-cache-single-flight`. */
export const reportName = (module) => module.replace(/(:.*)?\.ts(:.*)?$/, '').replaceAll('/', '-');

const module = process.env.STRYKER_MODULE;
if (module !== undefined && !(module in modules)) {
  throw new Error(
    `STRYKER_MODULE=${module} is none of stryker.config.js's modules: ${Object.keys(modules).join(', ')}`,
  );
}
const selected = module === undefined ? Object.keys(modules) : [module];
const tests = [...new Set(selected.flatMap((source) => modules[source]))];
const name = module === undefined ? 'all' : reportName(module);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: selected,
  testRunner: 'jest',
  // The jest of `npm run test:jest`: native ESM through vm modules.
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  // Each mutant runs the module's test files that import its file (findRelatedTests), and of those only
  // the tests that executed it in the dry run (perTest coverage).
  jest: {
    configFile: 'jest.config.js',
    config: { testMatch: tests.map((file) => `<rootDir>/${file}`) },
    enableFindRelatedTests: true,
  },
  coverageAnalysis: 'perTest',
  // The tests share one Postgres, one Redis and one API server: two runs of one file at once would see each
  // other's keys, invalidations and leases, so mutants are tested one at a time.
  concurrency: 1,
  // The tests talk to real servers: a busy machine must not turn a slow run into a "timeout" kill.
  timeoutFactor: 3,
  timeoutMS: 20_000,
  dryRunTimeoutMinutes: 20,
  // Results are kept per module (committed, docs/testing.md): a run tests again only the mutants whose code
  // or covering tests changed since; `--force` tests them all.
  incremental: true,
  incrementalFile: `mutation/incremental/${name}.json`,
  ignorePatterns: ['.data', 'reports', 'dist', 'coverage', 'mutation'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: `.stryker-tmp/${name}`,
};
