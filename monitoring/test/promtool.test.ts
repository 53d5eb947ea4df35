// promtool on the committed rule file: syntax check and the rule unit tests in test/rules/*.test.yml.
// The unit tests are also run against deliberately wrong renders, to show they can fail.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RULES_FILE, writeMonitoringFiles } from '../src/render.js';
import { bookingRules, type RuleParams } from '../src/rules.js';
import { findBinary, run, tempDir } from './support.js';

const RULE_TESTS_DIR = fileURLToPath(new URL('./rules/', import.meta.url));
const RULE_TESTS = readdirSync(RULE_TESTS_DIR)
  .filter((f) => f.endsWith('.test.yml'))
  .sort();
const COMMITTED_RULES_REF = '../../generated/booking.rules.yml';

describe('promtool', () => {
  const promtool = findBinary('promtool');

  it('check rules accepts the committed rule file', () => {
    const result = run(promtool, ['check', 'rules', RULES_FILE]);
    const ruleCount = bookingRules().groups.reduce((n, g) => n + g.rules.length, 0);
    expect(result.output).toContain(`SUCCESS: ${ruleCount} rules found`);
    expect(result.status).toBe(0);
  });

  it('has the rule test files', () => {
    expect(RULE_TESTS).toEqual([
      'invariants.test.yml',
      'latency.test.yml',
      'saturation.test.yml',
      'slo.test.yml',
    ]);
    for (const file of RULE_TESTS) {
      expect(readFileSync(join(RULE_TESTS_DIR, file), 'utf8')).toContain(COMMITTED_RULES_REF);
    }
  });

  it.each(RULE_TESTS)('test rules %s passes on the committed rule file', (file) => {
    const result = run(promtool, ['test', 'rules', file], RULE_TESTS_DIR);
    if (result.status !== 0) throw new Error(result.output);
    expect(result.output).toContain('SUCCESS');
  });

  // Each mutation breaks what one test file checks; the test file must notice.
  const mutations: Array<[file: string, what: string, params: Partial<RuleParams>]> = [
    ['latency.test.yml', 'a shorter for', { forDuration: '1m' }],
    ['latency.test.yml', 'no traffic guard', { minRequestRate: 0 }],
    ['latency.test.yml', 'a higher threshold', { p90ThresholdSeconds: 1 }],
    ['slo.test.yml', 'a stricter availability objective', { availabilityObjective: 0.995 }],
    ['slo.test.yml', 'a looser latency objective', { latencyObjective: 0.95 }],
    ['saturation.test.yml', 'longer dependency for', { dependencyDownFor: '5m' }],
    ['saturation.test.yml', 'a lower cache threshold', { cacheHitRatioMin: 0.05 }],
    ['invariants.test.yml', 'a longer oversold for', { oversoldFor: '5m' }],
    ['invariants.test.yml', 'a hold leak limit of one sweep', { holdLeakSeconds: 5 }],
    ['invariants.test.yml', 'a queue-jump limit per replica', { queueJumpRatePerSecond: 1 }],
    ['invariants.test.yml', 'no admission-rate guard', { etaMinAdmissionRate: 0 }],
  ];
  it.each(mutations)('test rules %s fails with %s', (file, _what, params) => {
    const dir = tempDir('monitoring-mutant');
    const { rulesFile } = writeMonitoringFiles(dir, { rules: params });
    const testFile = join(dir, file);
    writeFileSync(
      testFile,
      readFileSync(join(RULE_TESTS_DIR, file), 'utf8').replace(COMMITTED_RULES_REF, rulesFile),
    );
    const result = run(promtool, ['test', 'rules', testFile]);
    expect(result.output).toContain('FAILED');
    expect(result.status).not.toBe(0);
  });
});
