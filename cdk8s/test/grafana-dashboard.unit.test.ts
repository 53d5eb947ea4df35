// The Grafana dashboard as a ConfigMap for the Grafana sidecar (issue 17): the committed dashboard JSON,
// labelled grafana_dashboard: "1", in both monitoring modes, and none when turned off.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bookingDashboard } from '@concert-booking/monitoring/dashboard';
import { REPO_ROOT } from '../main.js';
import { loadMonitoringFiles } from '../src/monitoring-files.js';
import { MONITORING_FILES } from '../src/names.js';
import { valuesWith } from '../src/values.js';
import { allObjects, find } from './support.js';

type ConfigMap = { metadata: { labels: Record<string, string> }; data: Record<string, string> };
const monitoring = loadMonitoringFiles(REPO_ROOT);

describe('the Grafana dashboard ConfigMap', () => {
  test.each(['bundled', 'operator'] as const)(
    'monitoring.mode %s: the committed dashboard, labelled for the sidecar',
    (mode) => {
      const map = find<ConfigMap>(
        allObjects(valuesWith({ monitoring: { mode } }), monitoring),
        'ConfigMap',
        'booking-dashboard',
      );
      expect(map.metadata.labels.grafana_dashboard).toBe('1');
      expect(map.data).toEqual({
        'booking.json': readFileSync(join(REPO_ROOT, MONITORING_FILES.dashboard), 'utf8'),
      });
      // The committed file is the dashboard monitoring/src builds (monitoring/test/render.test.ts keeps it fresh).
      expect(JSON.parse(map.data['booking.json']!)).toEqual(JSON.parse(JSON.stringify(bookingDashboard())));
    },
  );

  test('monitoring.grafanaDashboard false: no ConfigMap', () => {
    const objects = allObjects(valuesWith({ monitoring: { grafanaDashboard: false } }), monitoring);
    expect(objects.filter((o) => o.metadata.name === 'booking-dashboard')).toEqual([]);
  });
});
