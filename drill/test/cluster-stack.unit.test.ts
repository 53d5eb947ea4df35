// The cluster drill's pure parts: the values it deploys the bundle with, and its reading of a load Job's log.
import { valuesWith } from '@concert-booking/cdk8s/values';
import { formatTable } from '@concert-booking/load/report';
import { UsageError } from '@concert-booking/lib';
import { clusterDrillValues, parseLoadTable } from '../src/cluster-stack.js';
import { parseDrillArgs } from '../src/drill.js';
import { policyFor, POLICY } from '../src/scenarios.js';

const settings = {
  thresholdSeconds: 0.25,
  podCpuLimit: 0.25,
  dbPoolMax: 48,
  policy: policyFor({
    thresholdSeconds: 0.25,
    workerCpuLimit: 0.25,
    maxWorkers: 4,
    databaseUrl: '',
    redisUrl: '',
    log: () => undefined,
    policy: { stabilizationSeconds: 45 },
  }),
  log: () => undefined,
};

describe('the cluster drill', () => {
  test('deploys valid bundle values: the pods limited like the workers, the policy for the AlertScaler', () => {
    const values = valuesWith(clusterDrillValues(settings));
    expect(values.service).toMatchObject({ replicas: 1, maxReplicas: 4, dbPoolMax: 48 });
    expect(values.service.resources.limits.cpu).toBe('250m');
    expect(values.service.extraEnv).toMatchObject({ SEATMAP_CACHE_ENABLED: 'false' });
    expect(values.monitoring.rules).toMatchObject({ rateWindow: '10s', p90ThresholdSeconds: 0.25 });
    // cdk8s/test/timing-values.unit.test.ts shows the policy value reaching the AlertScaler.
    expect(values.alertscaler.policy).toMatchObject({
      scaleUp: { cooldownSeconds: POLICY.upCooldownSeconds },
      scaleDown: { stabilizationWindowSeconds: 45, cooldownSeconds: POLICY.downCooldownSeconds },
    });
  });

  test("reads req/s and p90 from the load runner's table, and NaN from a log without one", () => {
    const table = formatTable({
      series: 'seat-map',
      scenario: 'seat-map',
      baseUrl: 'http://booking-service.concert-booking.svc',
      startedAt: '2026-12-01T12:00:00.000Z',
      settings: {},
      stages: [
        {
          load: { model: 'closed', vus: 16 },
          elapsedSeconds: 4,
          requests: 172,
          requestsPerSecond: 43,
          latencyMs: { p50: 210, p90: 408.4, p99: 650, max: 700, mean: 250 },
          errors: {},
          errorCount: 0,
          errorRate: 0,
          timeouts: 0,
          dropped: 0,
        },
      ],
    } as Parameters<typeof formatTable>[0]);
    expect(parseLoadTable(`progress line\n${table}\nwrote /tmp/load.json`)).toEqual({
      requestsPerSecond: 43,
      p90Ms: 408,
    });
    expect(parseLoadTable('npm run load --: no timeslots')).toEqual({ requestsPerSecond: NaN, p90Ms: NaN });
  });
});

describe('npm run drill -- --cluster', () => {
  test('runs the capacity scenario in the cluster; the incident and the onsale are refused with the reason', () => {
    expect(parseDrillArgs(['--cluster'])).toMatchObject({ cluster: true, scenarios: ['capacity'] });
    expect(parseDrillArgs([])).toMatchObject({ cluster: false, scenarios: ['capacity', 'incident'] });
    expect(parseDrillArgs(['--scenario', 'onsale'])).toMatchObject({ cluster: false, scenarios: ['onsale'] });
    for (const scenario of ['incident', 'onsale']) {
      expect(() => parseDrillArgs(['--cluster', '--scenario', scenario])).toThrow(
        new UsageError(
          '--cluster runs the capacity scenario only (the incident and the onsale need the local stack)',
        ),
      );
    }
  });
});
