// Checkers nobody here wrote, as tests (issue 17): kube-linter with its default checks finds nothing in
// charts/ (.kube-linter.yaml says why for any check it disables), pint finds nothing in the rules. Each is
// also run on a broken input, so a checker that reads nothing cannot pass. Built by scripts/check-tools.sh.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument, type Scalar, type YAMLSeq } from 'yaml';
import { checkTools } from '@concert-booking/devkit/cluster/binaries';
import { buildBundle, REPO_ROOT } from '../main.js';
import { loadMonitoringFiles } from '../src/monitoring-files.js';
import { MONITORING_FILES } from '../src/names.js';
import { valuesWith } from '../src/values.js';

let bin: string;
beforeAll(async () => {
  bin = await checkTools();
}, 30 * 60_000);

function run(tool: string, args: string[]) {
  const result = spawnSync(join(bin, tool), args, {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const kubeLinter = (dir: string) => run('kube-linter', ['lint', '--config', '.kube-linter.yaml', dir]);

describe('kube-linter (default checks)', () => {
  test('finds nothing in charts/', () => {
    const { status, output } = kubeLinter('charts');
    expect(output).toContain('No lint errors found!');
    expect(status).toBe(0);
  });

  test('the config keeps the default checks and gives a reason (a comment naming it) for each excluded one', () => {
    const doc = parseDocument(readFileSync(join(REPO_ROOT, '.kube-linter.yaml'), 'utf8'));
    expect(doc.getIn(['checks', 'addAllBuiltIn'])).toBe(false);
    expect(doc.getIn(['checks', 'doNotAutoAddDefaults'])).toBe(false);
    const excluded = doc.getIn(['checks', 'exclude']) as YAMLSeq<Scalar<string>>;
    for (const item of excluded.items)
      expect(item.commentBefore ?? '').toMatch(new RegExp(`^ ?${item.value}: \\S`));
  });

  test('finds the replicas that may share a node when anti-affinity is turned off', () => {
    const out = mkdtempSync(join(tmpdir(), 'kube-linter-'));
    const spreadOff = { podAntiAffinity: 'none' as const, topologySpread: [] };
    buildBundle(
      valuesWith({ service: { scheduling: spreadOff }, alertscaler: { scheduling: spreadOff } }),
      loadMonitoringFiles(REPO_ROOT),
    ).synth(out);
    const { status, output } = kubeLinter(out);
    expect(status).not.toBe(0);
    // The booking service has no replicas field while the AlertScaler owns it: only the controller is flagged.
    expect(output).toMatch(
      /alertscaler .*does not specify inter pod anti-affinity \(check: no-anti-affinity/,
    );
  });
});

describe('pint (offline)', () => {
  test('finds nothing in the rules the bundle ships', () => {
    const { status, output } = run('pint', ['--offline', '--no-color', 'lint', MONITORING_FILES.rules]);
    expect(output).not.toMatch(/level=(WARN|ERROR)|Bug|Fatal|Warning/);
    expect(status).toBe(0);
  });

  test('finds a broken rule', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pint-'));
    const file = join(dir, 'broken.rules.yml');
    writeFileSync(
      file,
      'groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: rate(x[5m]\n',
    );
    const { status, output } = run('pint', ['--offline', '--no-color', 'lint', file]);
    expect(status).not.toBe(0);
    expect(output).toMatch(/promql\/syntax/);
  });
});
