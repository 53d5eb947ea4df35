// Every alert has a runbook in docs/runbooks/, in the incident document's shape, and its runbook_url points to it.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALERT_NAMES, alertingRules, bookingRules, runbookUrl } from '../src/rules.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECTIONS = ['## Detection', '## Analysis', '## Action', '## Confirm recovery'];

describe('runbooks', () => {
  const rules = alertingRules(bookingRules());

  it.each(rules.map((r) => [r.alert, r.labels.severity, r] as const))(
    '%s (%s) has a runbook_url to its runbook file',
    (name, _severity, rule) => {
      expect(rule.annotations.runbook_url).toBe(`docs/runbooks/${name}.md`);
      expect(existsSync(join(REPO_ROOT, rule.annotations.runbook_url))).toBe(true);
    },
  );

  it.each([...ALERT_NAMES])('%s runbook has detection, analysis, action and recovery', (name) => {
    const path = join(REPO_ROOT, 'docs', 'runbooks', `${name}.md`);
    expect(existsSync(path)).toBe(true);
    const text = readFileSync(path, 'utf8');
    expect(text.startsWith(`# ${name}\n`)).toBe(true);
    for (const section of SECTIONS) expect(text).toContain(`\n${section}\n`);
    // The analysis gives queries to run.
    expect(text).toMatch(/```promql|`[a-z_:]+\{/);
  });

  it('the p90 runbook includes the CPU profile step', () => {
    const text = readFileSync(join(REPO_ROOT, 'docs', 'runbooks', 'BookingHighP90Latency.md'), 'utf8');
    expect(text).toContain('CPU profile');
    const common = readFileSync(join(REPO_ROOT, 'docs', 'runbooks', 'README.md'), 'utf8');
    expect(common).toContain('/admin/profile?seconds=');
    expect(common).toContain('kubectl -n "$NS" port-forward');
  });

  it('builds runbook URLs from a configurable base', () => {
    expect(runbookUrl('BookingRedisDown', 'https://example.com/repo/blob/main/docs/runbooks/')).toBe(
      'https://example.com/repo/blob/main/docs/runbooks/BookingRedisDown.md',
    );
    const rule = alertingRules(bookingRules({ runbookBaseUrl: 'https://x/y' }))[0];
    expect(rule?.annotations.runbook_url).toBe(`https://x/y/${rule?.alert}.md`);
  });
});
