import { clusterSuitePlan, HOW_TO_ENABLE, type BinaryAvailability } from '../cluster.js';

const found: BinaryAvailability = { available: true, source: 'go' };
const missing: BinaryAvailability = { available: false, reason: 'no Go toolchain on PATH' };

describe('clusterSuitePlan (no cluster suite skips itself silently)', () => {
  test.each<[string, BinaryAvailability, Record<string, string>, ReturnType<typeof clusterSuitePlan>]>([
    ['binaries found: run', found, {}, { run: true }],
    ['binaries found under CI: run', found, { CI: 'true' }, { run: true }],
    [
      'no binaries outside CI: fail with the reason and how to enable them',
      missing,
      {},
      {
        run: false,
        excluded: false,
        error:
          `the cluster tests cannot run: no Go toolchain on PATH; to enable them, ${HOW_TO_ENABLE}, ` +
          'or set EXCLUDE_CLUSTER_TESTS=1 to leave them out on purpose',
      },
    ],
    [
      'no binaries under CI: fail the same way',
      missing,
      { CI: 'true' },
      expect.objectContaining({ run: false, excluded: false }),
    ],
    [
      'EXCLUDE_CLUSTER_TESTS=1: left out, with a notice to print',
      missing,
      { EXCLUDE_CLUSTER_TESTS: '1' },
      {
        run: false,
        excluded: true,
        notice:
          'EXCLUDED cluster tests (EXCLUDE_CLUSTER_TESTS=1): they are left out on purpose and do not run',
      },
    ],
    [
      'the flag wins even when binaries exist',
      found,
      { EXCLUDE_CLUSTER_TESTS: '1' },
      expect.objectContaining({ excluded: true }),
    ],
    [
      'any other value of the flag is not an exclusion',
      missing,
      { EXCLUDE_CLUSTER_TESTS: 'yes' },
      expect.objectContaining({ excluded: false }),
    ],
  ])('%s', (_name, availability, env, expected) => {
    expect(clusterSuitePlan(availability, env)).toEqual(expected);
  });
});
