import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { alertmanagerConfig, withLocalReceivers } from '../src/alertmanager.js';
import { bookingDashboard } from '../src/dashboard.js';
import { ALERTMANAGER_FILE, DASHBOARD_FILE, RULES_FILE, writeMonitoringFiles } from '../src/render.js';
import { ALERT_NAMES, alertingRules, bookingRules, isAlertingRule, seconds } from '../src/rules.js';
import { findBinary, run, tempDir } from './support.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('generated monitoring files', () => {
  it('are the fresh render (npm run monitoring:render)', () => {
    // In a child process: prettier loads its parsers with dynamic imports, which jest's VM modules refuse.
    const tsx = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
    const result = run(tsx, ['monitoring/src/render.ts', '--check'], REPO_ROOT);
    if (result.status !== 0) throw new Error(result.output);
    expect(result.output).toContain('monitoring files are fresh');
  });

  it('parse back to the objects they were rendered from', () => {
    expect(parse(readFileSync(RULES_FILE, 'utf8'))).toEqual(JSON.parse(JSON.stringify(bookingRules())));
    expect(parse(readFileSync(ALERTMANAGER_FILE, 'utf8'))).toEqual(
      JSON.parse(JSON.stringify(alertmanagerConfig())),
    );
    expect(JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8'))).toEqual(
      JSON.parse(JSON.stringify(bookingDashboard())),
    );
  });
});

describe('bookingRules', () => {
  it('defines every alert in ALERT_NAMES, and no other', () => {
    const names = new Set(alertingRules(bookingRules()).map((r) => r.alert));
    expect([...names].sort()).toEqual([...ALERT_NAMES].sort());
  });

  it('puts the autoscale label on the p90 alert (scales) and the pool alert (holds) only', () => {
    const withLabel = alertingRules(bookingRules()).filter((r) => 'autoscale' in r.labels);
    expect(withLabel.map((r) => [r.alert, r.labels.autoscale])).toEqual([
      ['BookingHighP90Latency', 'booking-service'],
      ['BookingDbPoolWaiting', 'booking-service'],
    ]);
  });

  it('takes every duration from its parameters (the drill shortens them all)', () => {
    const drill = bookingRules({
      evaluationInterval: '5s',
      rateWindow: '30s',
      forDuration: '20s',
      poolWaitingFor: '10s',
      dependencyDownFor: '10s',
      cacheFor: '20s',
      serviceDownFor: '10s',
      scalerAtMaxFor: '30s',
      oversoldFor: '10s',
      holdLeakFor: '20s',
      queueJumpFor: '30s',
      etaFor: '30s',
      burnRates: {
        page: { for: '10s', windows: [{ long: '2m', short: '30s', factor: 14.4 }] },
        ticket: { for: '20s', windows: [{ long: '5m', short: '1m', factor: 3 }] },
      },
    });
    for (const group of drill.groups) {
      expect(group.interval).toBe('5s');
      for (const rule of group.rules) {
        if (isAlertingRule(rule) && rule.for) expect(seconds(rule.for)).toBeLessThanOrEqual(30);
        for (const [, window] of rule.expr.matchAll(/\[([0-9a-z]+)\]/g)) {
          expect(seconds(window!)).toBeLessThanOrEqual(300);
        }
      }
    }
    const p90 = alertingRules(drill).find((r) => r.alert === 'BookingHighP90Latency');
    expect(p90?.for).toBe('20s');
    expect(p90?.expr).toContain('namespace:http_requests:rate30s >= 1');
  });

  it('refuses an SLO whose burn-rate thresholds could never fire', () => {
    // 14.4 x (1 - 0.9) = 1.44: more than every request failing.
    expect(() => bookingRules({ availabilityObjective: 0.9 })).toThrow(/can never fire/);
    expect(() => bookingRules({ latencyObjective: 0.93 })).toThrow(/can never fire/);
    expect(() => bookingRules({ latencyObjectiveThresholdSeconds: 0.75 })).toThrow(/not a bucket boundary/);
    expect(() => bookingRules({ forDuration: '5 minutes' })).toThrow(/not a Prometheus duration/);
  });

  it('matches the latency SLO bucket as prom-client and Prometheus 3 write it', () => {
    const slow = bookingRules()
      .groups.flatMap((g) => g.rules)
      .find((r) => 'record' in r && r.record.includes('slow'));
    expect(slow?.expr).toContain('le=~"1|1\\\\.0"');
  });
});

describe('writeMonitoringFiles (the drill)', () => {
  it('writes files that promtool and amtool accept, with local receivers', () => {
    const dir = tempDir('monitoring-drill');
    const files = writeMonitoringFiles(dir, {
      rules: { forDuration: '20s', rateWindow: '1m', evaluationInterval: '5s' },
      alertmanager: {
        controllerWebhookUrl: 'http://127.0.0.1:18080/alerts',
        controllerWebhookTokenFile: `${dir}/token`,
        people: { groupWait: '1s', groupInterval: '5s', repeatInterval: '1m' },
        controller: { groupWait: '1s', groupInterval: '5s', repeatInterval: '1m' },
      },
      localReceiversBaseUrl: 'http://127.0.0.1:18081/notify',
    });
    const promtool = run(findBinary('promtool'), ['check', 'rules', files.rulesFile]);
    expect(promtool.output).toContain('SUCCESS');
    expect(promtool.status).toBe(0);
    const amtool = run(findBinary('amtool'), ['check-config', files.alertmanagerFile]);
    expect(amtool.output).toContain('SUCCESS');
    expect(amtool.status).toBe(0);
    const written = readFileSync(files.alertmanagerFile, 'utf8');
    expect(written).not.toContain('slack_configs');
    expect(written).toContain('http://127.0.0.1:18081/notify/booking-page');
    expect(written).toContain('http://127.0.0.1:18080/alerts');
  });

  it('withLocalReceivers keeps routes, inhibit rules and the controller receiver', () => {
    const config = alertmanagerConfig();
    const local = withLocalReceivers(config, 'http://127.0.0.1:1/x/');
    expect(local.route).toEqual(config.route);
    expect(local.inhibit_rules).toEqual(config.inhibit_rules);
    expect(local.receivers.find((r) => r.name === 'alertscaler')).toEqual(
      config.receivers.find((r) => r.name === 'alertscaler'),
    );
    expect(local.receivers.find((r) => r.name === 'booking-ticket')).toEqual({
      name: 'booking-ticket',
      webhook_configs: [{ url: 'http://127.0.0.1:1/x/booking-ticket', send_resolved: true }],
    });
  });
});

describe('dashboard', () => {
  it('reads only recording rules that exist, from a Prometheus datasource', () => {
    const dashboard = bookingDashboard();
    const records = new Set(
      bookingRules()
        .groups.flatMap((g) => g.rules)
        .flatMap((r) => ('record' in r ? [r.record] : [])),
    );
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    const used = exprs.flatMap((e) => [...e.matchAll(/\b([a-z_]+:[a-z_]+:[a-z0-9_]+)/g)].map((m) => m[1]!));
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) expect(records).toContain(name);
    for (const panel of dashboard.panels) expect(panel.datasource.type).toBe('prometheus');
    const titles = dashboard.panels.map((p) => p.title).join('\n');
    for (const signal of ['Request rate', '5xx', 'p50 / p90 / p99', 'pool', 'cache', 'replicas']) {
      expect(titles).toContain(signal);
    }
  });
});
