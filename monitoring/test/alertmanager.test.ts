// amtool on the committed alertmanager.yml: config check and, for every alert the rules define, which
// receivers its labels reach (inhibition is not part of routing: see inhibition.test.ts).

import { ALERTMANAGER_FILE } from '../src/render.js';
import { alertingRules, bookingRules } from '../src/rules.js';
import { findBinary, run } from './support.js';

const amtool = findBinary('amtool');

function routesTest(labels: Record<string, string>, expected: string[]): string {
  const args = ['config', 'routes', 'test', `--config.file=${ALERTMANAGER_FILE}`];
  args.push(`--verify.receivers=${expected.join(',')}`);
  for (const [name, value] of Object.entries(labels)) args.push(`${name}=${value}`);
  const result = run(amtool, args);
  // amtool prints the receivers in route order on the first line; --verify.receivers makes it exit 1 on a mismatch.
  const got = result.output.split('\n')[0] ?? '';
  expect({ labels, got }).toEqual({ labels, got: expected.join(',') });
  expect(result.status).toBe(0);
  return got;
}

describe('amtool', () => {
  it('check-config accepts the committed alertmanager.yml', () => {
    const result = run(amtool, ['check-config', ALERTMANAGER_FILE]);
    expect(result.output).toContain('SUCCESS');
    expect(result.output).toContain('3 inhibit rules');
    expect(result.status).toBe(0);
  });

  // Expected receivers per alert and severity.
  const expected: Record<string, string[]> = {
    'BookingHighP90Latency/page': ['alertscaler', 'booking-page'],
    'BookingAvailabilityBudgetBurn/page': ['booking-page'],
    'BookingAvailabilityBudgetBurn/ticket': ['booking-ticket'],
    'BookingLatencyBudgetBurn/page': ['booking-page'],
    'BookingLatencyBudgetBurn/ticket': ['booking-ticket'],
    'BookingServiceDown/page': ['booking-page'],
    'BookingPostgresDown/page': ['booking-page'],
    'BookingRedisDown/ticket': ['booking-ticket'],
    // To the controller too: its saturation guard holds scale-ups while the pool is exhausted.
    'BookingDbPoolWaiting/ticket': ['alertscaler', 'booking-ticket'],
    'BookingSeatmapCacheHitRatioLow/ticket': ['booking-ticket'],
    'BookingAlertScalerAtMaxReplicas/ticket': ['booking-ticket'],
    'BookingOversold/page': ['booking-page'],
    'BookingHoldExpiryLeak/ticket': ['booking-ticket'],
    'BookingQueueJumping/ticket': ['booking-ticket'],
    'BookingQueueEtaInaccurate/ticket': ['booking-ticket'],
  };

  const cases = alertingRules(bookingRules()).map((rule) => ({
    key: `${rule.alert}/${rule.labels.severity}`,
    labels: { alertname: rule.alert, namespace: 'booking', ...rule.labels },
  }));

  it('has an expectation for every alert the rules define', () => {
    expect(cases.map((c) => c.key).sort()).toEqual(Object.keys(expected).sort());
  });

  it.each(cases)('routes $key', ({ key, labels }) => {
    routesTest(labels, expected[key]!);
  });

  it('routes an alert without a severity to the team channel, and another autoscale target not to the controller', () => {
    routesTest({ alertname: 'Unknown', namespace: 'booking' }, ['booking-ticket']);
    routesTest({ alertname: 'X', autoscale: 'other-service', severity: 'page' }, ['booking-page']);
  });

  it('fails a routes test whose expectation is wrong (the check can fail)', () => {
    const result = run(amtool, [
      'config',
      'routes',
      'test',
      `--config.file=${ALERTMANAGER_FILE}`,
      '--verify.receivers=booking-page',
      'alertname=BookingHighP90Latency',
      'autoscale=booking-service',
      'severity=page',
    ]);
    expect(result.status).not.toBe(0);
  });
});
