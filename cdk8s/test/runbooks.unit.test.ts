// Runbook links (issue 17): absolute URLs from monitoring.runbookBaseUrl; without it, no invented address,
// and synth says so.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { ALERT_NAMES, type RuleFile } from '@concert-booking/monitoring/rules';
import { REPO_ROOT } from '../main.js';
import { loadMonitoringFiles, monitoringWarnings } from '../src/monitoring-files.js';
import { RULES_FILE } from '../src/prometheus.js';
import { defaultValues, valuesWith, type BundleValues } from '../src/values.js';
import { allObjects, find } from './support.js';

/** runbook_url by alert, as the Prometheus of the bundle loads them. */
function runbookUrls(values: BundleValues): Record<string, string> {
  const configMap = find<V1ConfigMap>(
    allObjects(values, loadMonitoringFiles(REPO_ROOT)),
    'ConfigMap',
    'prometheus-rules',
  );
  const rules = (parse(configMap.data![RULES_FILE]!) as RuleFile).groups.flatMap((g) => g.rules);
  return Object.fromEntries(
    rules.flatMap((r) => ('alert' in r ? [[r.alert, r.annotations.runbook_url] as const] : [])),
  );
}

describe('runbook links', () => {
  const base = 'https://git.example.com/team/concert-booking/blob/v0.1.0/docs/runbooks';

  test.each([base, `${base}/`])(
    'with runbookBaseUrl %s every alert links <base>/<Alert>.md',
    (configured) => {
      const urls = runbookUrls(valuesWith({ monitoring: { runbookBaseUrl: configured } }));
      expect(Object.keys(urls).sort()).toEqual([...ALERT_NAMES].sort());
      for (const [alert, url] of Object.entries(urls)) {
        expect(url).toBe(`${base}/${alert}.md`);
        // The link names a runbook that exists, under the path the base stands for.
        expect(existsSync(join(REPO_ROOT, 'docs/runbooks', `${alert}.md`))).toBe(true);
      }
      expect(monitoringWarnings(valuesWith({ monitoring: { runbookBaseUrl: configured } }))).toEqual([]);
    },
  );

  test('without it the links stay repository paths (no invented host) and synth warns, naming the value', () => {
    const urls = runbookUrls(defaultValues());
    for (const [alert, url] of Object.entries(urls)) expect(url).toBe(`docs/runbooks/${alert}.md`);
    const warnings = monitoringWarnings(defaultValues());
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^monitoring\.runbookBaseUrl is not set: .*docs\/deploy\.md/);
  });

  test.each(['docs/runbooks', '/runbooks', 'ftp://files.example.com/runbooks', 'javascript:alert(1)'])(
    'a base that is no absolute http(s) URL (%s) is refused, naming the field',
    (bad) => {
      expect(() => valuesWith({ monitoring: { runbookBaseUrl: bad } })).toThrow(
        /monitoring\.runbookBaseUrl: must be an absolute http\(s\) URL/,
      );
    },
  );
});
