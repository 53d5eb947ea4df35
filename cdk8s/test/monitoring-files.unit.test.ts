import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../main.js';
import { loadMonitoringFiles, MonitoringFilesError } from '../src/monitoring-files.js';
import { MONITORING_FILES } from '../src/names.js';

/** A repository root holding these monitoring files (relative path -> text). */
function rootWith(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'monitoring-files-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}
const committed = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const NULL_ROUTE = 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n';

describe('synth reads the rendered monitoring files, or stops', () => {
  test('the committed files are read as they are', () => {
    expect(loadMonitoringFiles(REPO_ROOT)).toEqual({
      rules: committed(MONITORING_FILES.rules),
      alertmanagerConfig: committed(MONITORING_FILES.alertmanager),
      dashboard: committed(MONITORING_FILES.dashboard),
    });
  });

  test('a missing file stops it, saying how to render it', () => {
    const root = rootWith({ [MONITORING_FILES.alertmanager]: committed(MONITORING_FILES.alertmanager) });
    expect(() => loadMonitoringFiles(root)).toThrow(
      new MonitoringFilesError(
        `${MONITORING_FILES.rules} is missing: run \`npm run monitoring:render\`, then synth again`,
      ),
    );
  });

  test.each([
    ['the null receiver', NULL_ROUTE],
    [
      'receivers without integrations on every route',
      'route:\n  receiver: a\n  routes:\n    - receiver: b\n      matchers: [x="1"]\nreceivers:\n  - name: a\n  - name: b\n    webhook_configs: []\n',
    ],
  ])('an Alertmanager configuration routing every alert to %s stops it', (_name, config) => {
    const root = rootWith({
      [MONITORING_FILES.rules]: committed(MONITORING_FILES.rules),
      [MONITORING_FILES.alertmanager]: config,
      [MONITORING_FILES.dashboard]: committed(MONITORING_FILES.dashboard),
    });
    expect(() => loadMonitoringFiles(root)).toThrow(/routes every alert to receivers that notify nobody/);
  });

  test('a null receiver for some alerts is fine when others notify someone', () => {
    const config =
      'route:\n  receiver: people\n  routes:\n    - receiver: "null"\n      matchers: [alertname="Watchdog"]\n' +
      'receivers:\n  - name: "null"\n  - name: people\n    webhook_configs: [{ url: "http://example.invalid/" }]\n';
    const root = rootWith({
      [MONITORING_FILES.rules]: committed(MONITORING_FILES.rules),
      [MONITORING_FILES.alertmanager]: config,
      [MONITORING_FILES.dashboard]: committed(MONITORING_FILES.dashboard),
    });
    expect(loadMonitoringFiles(root).alertmanagerConfig).toBe(config);
  });
});
