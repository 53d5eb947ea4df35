// The alert loop's timings as values (a drill or a test cluster shortens them; issue 14's cluster drill):
// the rules' windows, the controller route's group timings and the AlertScaler policy reach the objects,
// and nothing changes while they are unset.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { ALERTS } from '@concert-booking/lib';
import type { AlertmanagerConfig } from '@concert-booking/monitoring/alertmanager';
import type { AlertingRule, RuleFile } from '@concert-booking/monitoring/rules';
import { REPO_ROOT } from '../main.js';
import { loadMonitoringFiles } from '../src/monitoring-files.js';
import { RULES_FILE } from '../src/prometheus.js';
import { defaultValues, valuesWith, ValuesError, type BundleValues } from '../src/values.js';
import { allObjects, find } from './support.js';

const objects = (values: BundleValues) => allObjects(values, loadMonitoringFiles(REPO_ROOT));
const rulesOf = (values: BundleValues) =>
  (parse(find<V1ConfigMap>(objects(values), 'ConfigMap', 'prometheus-rules').data![RULES_FILE]!) as RuleFile)
    .groups;
const routeToController = (values: BundleValues) => {
  const config = parse(
    find<V1ConfigMap>(objects(values), 'ConfigMap', 'alertmanager-config').data!['alertmanager.yml']!,
  ) as AlertmanagerConfig;
  return config.route.routes!.find((r) => r.receiver === 'alertscaler')!;
};
const scalerSpec = (values: BundleValues) =>
  (objects(values).find((o) => o.kind === 'AlertScaler') as unknown as { spec: Record<string, unknown> })
    .spec;

describe('timing values', () => {
  test('monitoring.rules: the windows, the for and the threshold reach the rule file', () => {
    const groups = rulesOf(
      valuesWith({
        monitoring: {
          rules: {
            evaluationInterval: '1s',
            rateWindow: '10s',
            forDuration: '5s',
            p90ThresholdSeconds: 0.25,
          },
        },
      }),
    );
    expect(new Set(groups.map((g) => g.interval))).toEqual(new Set(['1s']));
    const p90 = groups
      .flatMap((g) => g.rules)
      .find((r): r is AlertingRule => 'alert' in r && r.alert === ALERTS.highP90Latency)!;
    expect(p90.for).toBe('5s');
    expect(p90.expr).toContain('0.25');
    expect(p90.expr).toContain('10s');
  });

  test('monitoring.controllerRoute: the controller route, and only it, gets the timings', () => {
    const defaults = routeToController(defaultValues());
    const timing = { groupWait: '1s', groupInterval: '2s', repeatInterval: '1m' };
    const route = routeToController(valuesWith({ monitoring: { controllerRoute: timing } }));
    expect(route).toMatchObject({ group_wait: '1s', group_interval: '2s', repeat_interval: '1m' });
    expect({ ...route, group_wait: 0, group_interval: 0, repeat_interval: 0 }).toEqual({
      ...defaults,
      group_wait: 0,
      group_interval: 0,
      repeat_interval: 0,
    });
  });

  test('alertscaler.policy: the default AlertScaler takes the policy, the rest of its spec unchanged', () => {
    const defaults = scalerSpec(defaultValues());
    const policy = {
      scaleUp: { step: { type: 'Pods' as const, value: 1 }, cooldownSeconds: 12 },
      scaleDown: {
        step: { type: 'Pods' as const, value: 1 },
        stabilizationWindowSeconds: 20,
        cooldownSeconds: 8,
      },
      saturationHoldSeconds: 15,
    };
    const spec = scalerSpec(valuesWith({ alertscaler: { policy } }));
    expect(spec.scaleUp).toEqual(policy.scaleUp);
    expect(spec.scaleDown).toEqual(policy.scaleDown);
    expect((spec.saturation as { holdSeconds: number }).holdSeconds).toBe(15);
    expect({ ...spec, scaleUp: 0, scaleDown: 0, saturation: 0 }).toEqual({
      ...defaults,
      scaleUp: 0,
      scaleDown: 0,
      saturation: 0,
    });
  });

  test('unset, the committed rules and Alertmanager configuration are used as they are', () => {
    const committed = loadMonitoringFiles(REPO_ROOT);
    const all = objects(defaultValues());
    expect(find<V1ConfigMap>(all, 'ConfigMap', 'prometheus-rules').data![RULES_FILE]).toBe(committed.rules);
    expect(find<V1ConfigMap>(all, 'ConfigMap', 'alertmanager-config').data!['alertmanager.yml']).toBe(
      committed.alertmanagerConfig,
    );
  });

  test.each([
    [{ monitoring: { rules: { rateWindow: '10 seconds' } } }, 'monitoring.rules.rateWindow'],
    [
      { alertscaler: { policy: { scaleUp: { cooldownSeconds: -1 } } } },
      'alertscaler.policy.scaleUp.cooldownSeconds',
    ],
  ])('a bad timing value is refused naming its field (%j)', (override, field) => {
    expect(() => valuesWith(override as never)).toThrow(ValuesError);
    expect(() => valuesWith(override as never)).toThrow(field);
  });
});
