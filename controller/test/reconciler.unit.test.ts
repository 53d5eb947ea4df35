import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '@concert-booking/lib';
import type { AlertScalerResource, AlertScalerStatus } from '../src/api/alertscaler.js';
import { ControllerMetrics } from '../src/metrics.js';
import { MemoryEventRecorder } from '../src/reconcile/events.js';
import { Reconciler } from '../src/reconcile/reconciler.js';
import { MemoryScalerStore } from '../src/reconcile/store.js';
import { KubeScaleTarget } from '../src/targets/kube-scale.js';
import { ConflictError, TargetError, type ScaleTarget } from '../src/targets/scale-target.js';

// One reconcile at a time, fast: the memory store, the real Reconciler and events, and a fake target (the API
// behind /scale is not what these tests are about; controller/test/cluster.test.ts runs the real one, and
// reconciler.test.ts the same decisions against a real API server). The mutation run of reconciler.ts uses
// these tests (docs/testing.md).
const logger = createLogger('silent', {});
const NS = 'local';
const NAME = 'booking-service';
const NOW = new Date('2025-06-01T12:00:00Z');

const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();

const resource = (
  apiVersion = 'apps/v1',
  generation = 1,
  spec: Record<string, unknown> = {},
): AlertScalerResource => ({
  metadata: { name: NAME, generation },
  spec: {
    scaleTargetRef: { apiVersion, kind: 'Deployment', name: 'booking-service' },
    alerts: [{ alertName: 'BookingHighP90Latency', matchers: [] }],
    minReplicas: 2,
    maxReplicas: 6,
    ...spec,
  },
});

/** A /scale stand-in: replicas at a version; `fail` decides what each call throws, if anything. */
class FakeTarget implements ScaleTarget {
  readonly description = 'Deployment/booking-service';
  version = 1;
  calls: string[] = [];
  fail: (operation: 'get' | 'set', call: number) => Error | undefined = () => undefined;

  constructor(public replicas: number) {}

  async get() {
    this.calls.push('get');
    const error = this.fail('get', this.calls.length);
    if (error) throw error;
    return { replicas: this.replicas, resourceVersion: String(this.version) };
  }

  async set(replicas: number, resourceVersion: string) {
    this.calls.push(`set ${replicas}`);
    const error = this.fail('set', this.calls.length);
    if (error) throw error;
    if (resourceVersion !== String(this.version)) throw new ConflictError(this.description);
    this.replicas = replicas;
    this.version++;
  }
}

function setup(targetFor: () => ScaleTarget, scaler = resource()) {
  const logged: Record<string, unknown>[] = [];
  const reconcilerLogger = createLogger(
    'info',
    {},
    { write: (line: string) => logged.push(JSON.parse(line)) },
  );
  const store = new MemoryScalerStore([scaler]);
  const events = new MemoryEventRecorder(logger);
  const metrics = new ControllerMetrics();
  let targetsMade = 0;
  const reconciler = new Reconciler({
    store,
    targetFor: () => (targetsMade++, targetFor()),
    events,
    metrics,
    clock: () => NOW,
    logger: reconcilerLogger,
  });
  const setStatus = (status: Partial<AlertScalerStatus>) =>
    store.updateStatus(NS, NAME, (s) => ({ ...s.status, ...status }));
  /** Firing episodes, one per role given (a scaling alert when none is). */
  const firing = (...roles: ('scale' | 'saturation')[]) =>
    setStatus({
      firingAlerts: (roles.length > 0 ? roles : ['scale' as const]).map((role, i) => ({
        fingerprint: `f${i + 1}`,
        startsAt: NOW.toISOString(),
        alertName: role === 'scale' ? 'BookingHighP90Latency' : 'BookingDbPoolWaiting',
        role,
        lastNotifiedTime: NOW.toISOString(),
      })),
    });
  const status = async () => (await store.get(NS, NAME))!.status;
  const condition = async (type: string) => (await status()).conditions.find((c) => c.type === type);
  const ableToScale = () => condition('AbleToScale');
  const reasons = () => events.list().map((e) => `${e.type} ${e.reason}`);
  const notices = () => events.list().map((e) => `${e.type} ${e.reason}: ${e.message}`);
  const operations = () => metrics.registry.getSingleMetricAsString('alertscaler_scale_operations_total');
  const gauges = async () =>
    (await metrics.registry.getMetricsAsJSON())
      .filter((m) => m.name.startsWith('alertscaler_') && m.name.endsWith('_replicas'))
      .flatMap((m) => m.values.map((v) => `${m.name} ${v.labels.alertscaler} ${v.value}`));
  return {
    store,
    metrics,
    reconcile: () => reconciler.reconcile(NS, NAME),
    targetsMade: () => targetsMade,
    firing,
    setStatus,
    status,
    condition,
    ableToScale,
    reasons,
    notices,
    operations,
    gauges,
    /** The reconciler's log lines, without pino's own fields. */
    logged: () => logged.map(({ level: _level, time: _time, ...line }) => line),
  };
}

describe('a decision', () => {
  const SPEC = {
    maxReplicas: 10,
    scaleUp: { step: { type: 'Pods', value: 2 }, cooldownSeconds: 120 },
    scaleDown: { step: { type: 'Pods', value: 1 }, stabilizationWindowSeconds: 300, cooldownSeconds: 60 },
  };
  const scenario = (replicas: number, spec: Record<string, unknown> = {}) => {
    const target = new FakeTarget(replicas);
    return { target, ...setup(() => target, resource('apps/v1', 1, { ...SPEC, ...spec })) };
  };

  test('a firing alert scales up one step: /scale, status, condition, Event and metrics', async () => {
    const t = scenario(2);
    await t.firing();
    expect(await t.reconcile()).toBeUndefined();
    expect(t.target.calls).toEqual(['get', 'set 4']);
    expect(await t.status()).toMatchObject({
      currentReplicas: 4,
      desiredReplicas: 4,
      lastScaleTime: NOW.toISOString(),
      lastScaleDirection: 'Up',
      observedGeneration: 1,
    });
    expect(await t.ableToScale()).toMatchObject({ status: 'True', reason: 'SucceededRescale' });
    expect(t.notices()).toEqual(['Normal ScaledUp: 1 alert(s) firing: scale up from 2 to 4']);
    expect(t.logged()).toEqual([
      {
        scaler: NAME,
        decision: expect.objectContaining({ desiredReplicas: 4, reason: 'ScaleUp' }),
        msg: '1 alert(s) firing: scale up from 2 to 4',
      },
    ]);
    expect(await t.operations()).toContain('{direction="up",result="success"} 1');
    expect(await t.gauges()).toEqual([
      'alertscaler_desired_replicas booking-service 4',
      'alertscaler_current_replicas booking-service 4',
      'alertscaler_max_replicas booking-service 10',
      'alertscaler_min_replicas booking-service 2',
    ]);
  });

  test('no alert since the stabilization window: scales down one step with a ScaledDown Event', async () => {
    const t = scenario(4);
    await t.setStatus({ lastFiringTime: ago(301) });
    expect(await t.reconcile()).toBeUndefined();
    expect(t.target.replicas).toBe(3);
    expect(await t.status()).toMatchObject({ currentReplicas: 3, lastScaleDirection: 'Down' });
    expect(t.notices()).toEqual(['Normal ScaledDown: no alert firing: scale down from 4 to 3']);
    expect(await t.operations()).toContain('{direction="down",result="success"} 1');
  });

  test('the last firing time holds a scale-down for the rest of the window, and says when to look again', async () => {
    const t = scenario(4);
    await t.setStatus({ lastFiringTime: ago(10) });
    expect(await t.reconcile()).toBe(290);
    expect(t.target.calls).toEqual(['get']);
    expect(await t.ableToScale()).toMatchObject({ status: 'True', reason: 'Stabilizing' });
    expect(await t.status()).toMatchObject({ currentReplicas: 4, desiredReplicas: 4 });
    expect(await t.status()).not.toHaveProperty('lastScaleTime');
    expect(t.notices()).toEqual([]);
    expect(await t.operations()).not.toContain('result=');
  });

  test('the last scale-up (time and direction) holds the next one for the rest of the cooldown', async () => {
    const t = scenario(4);
    await t.firing();
    await t.setStatus({ lastScaleTime: ago(30), lastScaleDirection: 'Up' });
    expect(await t.reconcile()).toBe(90);
    expect(t.target.calls).toEqual(['get']);
    expect(await t.ableToScale()).toMatchObject({ reason: 'UpCooldown' });
  });

  test('at maxReplicas: refused and counted each time, one AtMaxReplicas Event', async () => {
    const t = scenario(10);
    await t.firing();
    await t.reconcile();
    await t.reconcile();
    expect(t.target.calls).toEqual(['get', 'get']);
    expect(t.notices()).toEqual(['Normal AtMaxReplicas: 1 alert(s) firing, already at maxReplicas 10']);
    expect(await t.condition('ScalingLimited')).toMatchObject({ status: 'True', reason: 'TooManyReplicas' });
    expect(await t.operations()).toContain('{direction="up",result="refused"} 2');
    expect(await t.operations()).not.toMatch(/result="(dry_run|saturated|success)"/);
  });

  test('a different refusal is announced although another one was the last', async () => {
    const t = scenario(10);
    await t.firing();
    await t.reconcile();
    t.store.apply(resource('apps/v1', 2, { ...SPEC, paused: true }));
    await t.reconcile();
    expect(t.reasons()).toEqual(['Normal AtMaxReplicas', 'Normal Paused']);
  });

  test('a target at 0 replicas: one ScalingDisabled Event, nothing scaled or counted', async () => {
    const t = scenario(0);
    await t.firing();
    await t.reconcile();
    await t.reconcile();
    expect(t.target.calls).toEqual(['get', 'get']);
    expect(t.notices()).toEqual(['Normal ScalingDisabled: the target has 0 replicas: scaling is disabled']);
    expect(await t.operations()).not.toContain('result=');
  });

  test('a saturation alert alone does not count as firing: the scale-down goes ahead', async () => {
    const t = scenario(4, { saturation: { alerts: [{ alertName: 'BookingDbPoolWaiting' }] } });
    await t.firing('saturation');
    await t.setStatus({ lastFiringTime: ago(301) });
    await t.reconcile();
    expect(t.target.replicas).toBe(3);
    expect(t.reasons()).toEqual(['Normal ScaledDown']);
  });

  test('a saturation alert: held and counted as saturated, one HeldForSaturation Event', async () => {
    const t = scenario(2, { saturation: { alerts: [{ alertName: 'BookingDbPoolWaiting' }] } });
    await t.firing('scale', 'saturation');
    await t.reconcile();
    await t.reconcile();
    expect(t.target.calls).toEqual(['get', 'get']);
    expect(t.reasons()).toEqual(['Normal HeldForSaturation']);
    expect(t.notices()[0]).toContain('BookingDbPoolWaiting also fires');
    expect(await t.operations()).toContain('{direction="up",result="saturated"} 2');
    expect(await t.operations()).not.toMatch(/result="(dry_run|refused|success)"/);
  });

  test('dry run: decided, recorded and announced once, counted each time, nothing is scaled', async () => {
    const t = scenario(2, { dryRun: true });
    await t.firing();
    await t.reconcile();
    await t.reconcile();
    expect(t.target.calls).toEqual(['get', 'get']);
    expect(await t.status()).toMatchObject({ currentReplicas: 2, desiredReplicas: 4 });
    expect(t.notices()).toEqual([
      'Normal DryRun: dry run: would scale from 2 to 4: 1 alert(s) firing: scale up from 2 to 4',
    ]);
    expect(await t.operations()).toContain('{direction="up",result="dry_run"} 2');
    expect(await t.operations()).not.toMatch(/result="(refused|saturated|success)"/);
    expect(await t.gauges()).toContain('alertscaler_current_replicas booking-service 2');
    expect(await t.gauges()).toContain('alertscaler_desired_replicas booking-service 4');
  });

  test('paused: one Paused Event; after a scale, a later pause is announced again', async () => {
    const t = scenario(2, { paused: true });
    await t.firing();
    await t.reconcile();
    await t.reconcile();
    expect(t.reasons()).toEqual(['Normal Paused']);
    t.store.apply(resource('apps/v1', 2, { ...SPEC, paused: false }));
    await t.reconcile();
    t.store.apply(resource('apps/v1', 3, { ...SPEC, paused: true }));
    await t.reconcile();
    expect(t.reasons()).toEqual(['Normal Paused', 'Normal ScaledUp', 'Normal Paused']);
    expect(t.target.replicas).toBe(4);
  });

  test('a refusal after a quiet decision is announced again', async () => {
    const t = scenario(10);
    await t.firing();
    await t.reconcile();
    // The alert resolves: a plain hold (the stabilization window) records nothing, and forgets the refusal.
    await t.setStatus({ firingAlerts: [], lastFiringTime: ago(10) });
    expect(await t.reconcile()).toBe(290);
    await t.firing();
    await t.reconcile();
    expect(t.reasons()).toEqual(['Normal AtMaxReplicas', 'Normal AtMaxReplicas']);
  });

  test('an invalid spec: status and one Warning say why, the target is neither made nor read', async () => {
    const t = scenario(2, { alerts: [{ alertName: 'A', matchers: [{ name: 'x', op: '=~', value: '(' }] }] });
    await t.firing();
    expect(await t.reconcile()).toBeUndefined();
    expect(await t.reconcile()).toBeUndefined();
    expect(t.targetsMade()).toBe(0);
    expect(await t.ableToScale()).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(t.notices()).toHaveLength(1);
    expect(t.notices()[0]).toMatch(/^Warning InvalidSpec: alerts\.0\.matchers\.0\.value: /);
    expect(await t.gauges()).toEqual([]);
  });

  test('a /scale write that fails (not a conflict): counted as an error, the error propagates', async () => {
    const t = scenario(2);
    // Not a TargetError: whatever the target throws is named by its operation.
    t.target.fail = (operation) => (operation === 'set' ? new TypeError('socket hang up') : undefined);
    await t.firing();
    await expect(t.reconcile()).rejects.toThrow('set Deployment/booking-service: socket hang up');
    expect(await t.operations()).toContain('{direction="up",result="error"} 1');
    expect(await t.operations()).not.toContain('result="success"');
    expect(await t.ableToScale()).toMatchObject({ status: 'False', reason: 'FailedUpdateScale' });
  });
});

describe('a conflicting /scale write', () => {
  test('is read again and decided again from what the other writer left', async () => {
    const target = new FakeTarget(2);
    // Someone else scales to 4 between the first read and the first write.
    target.fail = (operation, call) => {
      if (operation === 'set' && call === 2) {
        target.replicas = 4;
        target.version++;
        return new ConflictError(target.description);
      }
      return undefined;
    };
    const t = setup(() => target);
    await t.firing();
    await t.reconcile();
    expect(target.calls).toEqual(['get', 'set 3', 'get', 'set 5']);
    expect(target.replicas).toBe(5);
    expect(t.logged()[0]).toEqual({
      scaler: NAME,
      attempt: 1,
      msg: 'Deployment/booking-service changed since it was read: reading it again and deciding again',
    });
    const operations = await t.metrics.registry.getSingleMetricAsString('alertscaler_scale_operations_total');
    expect(operations).toContain('{direction="up",result="conflict"} 1');
    expect(operations).toContain('{direction="up",result="success"} 1');
    expect(t.reasons()).toEqual(['Normal ScaledUp']);
  });

  test('gives up after five attempts: a FailedUpdateScale condition and Event, and a retry', async () => {
    const target = new FakeTarget(2);
    target.fail = (operation) => (operation === 'set' ? new ConflictError(target.description) : undefined);
    const t = setup(() => target);
    await t.firing();
    await expect(t.reconcile()).rejects.toThrow(
      new TargetError('set', target.description, 'still conflicting after 5 attempts'),
    );
    expect(target.calls.filter((c) => c === 'get')).toHaveLength(5);
    expect(await t.ableToScale()).toMatchObject({ status: 'False', reason: 'FailedUpdateScale' });
    expect(t.reasons()).toEqual(['Warning FailedUpdateScale']);
  });
});

describe('a target error', () => {
  test('reading /scale fails: a FailedGetScale condition, one Event however often it repeats, a retry', async () => {
    const target = new FakeTarget(2);
    target.fail = (operation) =>
      operation === 'get' ? new TargetError('get', target.description, 'HTTP 403: forbidden') : undefined;
    const t = setup(() => target);
    await expect(t.reconcile()).rejects.toThrow('get Deployment/booking-service: HTTP 403: forbidden');
    await expect(t.reconcile()).rejects.toThrow(TargetError);
    expect(await t.ableToScale()).toMatchObject({
      status: 'False',
      reason: 'FailedGetScale',
      message: 'get Deployment/booking-service: HTTP 403: forbidden',
    });
    expect(t.reasons()).toEqual(['Warning FailedGetScale']);
    expect(t.targetsMade()).toBe(2);
  });

  test('of any kind (here a network TypeError from the target) becomes the condition and the Event too', async () => {
    const target = new FakeTarget(2);
    target.fail = (operation) => (operation === 'get' ? new TypeError('fetch failed') : undefined);
    const t = setup(() => target);
    await expect(t.reconcile()).rejects.toThrow('get Deployment/booking-service: fetch failed');
    expect(await t.ableToScale()).toMatchObject({ status: 'False', reason: 'FailedGetScale' });
    expect(t.reasons()).toEqual(['Warning FailedGetScale']);
  });

  test('once it is fixed, the next reconcile scales and the condition recovers', async () => {
    const target = new FakeTarget(2);
    let broken = true;
    target.fail = (operation) =>
      broken && operation === 'get' ? new TargetError('get', target.description, 'HTTP 503') : undefined;
    const t = setup(() => target);
    await t.firing();
    await expect(t.reconcile()).rejects.toThrow(TargetError);
    broken = false;
    await t.reconcile();
    expect(target.replicas).toBe(3);
    expect(await t.ableToScale()).toMatchObject({ status: 'True', reason: 'SucceededRescale' });
  });
});

describe('an invalid target (terminal, like controller-runtime TerminalError)', () => {
  // The real KubeScaleTarget: its constructor refuses an apiVersion without a group (a core kind).
  const kubeConfig = new KubeConfig();
  // A cluster that is never called: the constructor fails before any request.
  kubeConfig.loadFromClusterAndUser(
    { name: 'unused', server: 'https://127.0.0.1:1', skipTLSVerify: false },
    { name: 'unused' },
  );
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const kubeTarget = (apiVersion: string) => () =>
    new KubeScaleTarget(api, NS, { apiVersion, kind: 'Deployment', name: 'booking-service' });

  test('a target that cannot even be made: an InvalidTarget condition and Event, no requeue', async () => {
    const t = setup(kubeTarget('v1'), resource('v1'));
    await expect(t.reconcile()).resolves.toBeUndefined();
    expect(await t.ableToScale()).toMatchObject({
      status: 'False',
      reason: 'InvalidTarget',
      message: expect.stringContaining('apiVersion "v1" has no group'),
    });
    expect(t.reasons()).toEqual(['Warning InvalidTarget']);
  });

  test("the target's own InvalidTargetError is kept as it is; any other failure to make it becomes one", async () => {
    const invalid = setup(kubeTarget('v1'), resource('v1'));
    await invalid.reconcile();
    const own = (await invalid.ableToScale())!.message;
    expect(own).toMatch(/^resolve Deployment\/booking-service: /);
    expect(own).not.toMatch(/^resolve Deployment\/booking-service: resolve /);

    const broken = setup(() => {
      throw new RangeError('no such kind');
    });
    await expect(broken.reconcile()).resolves.toBeUndefined();
    expect(await broken.ableToScale()).toMatchObject({
      status: 'False',
      reason: 'InvalidTarget',
      message: 'resolve Deployment/booking-service: no such kind',
    });
  });

  test('is not tried again until the spec changes (a new generation)', async () => {
    let apiVersion = 'v1';
    const target = new FakeTarget(2);
    const t = setup(() => (apiVersion === 'v1' ? kubeTarget('v1')() : target), resource('v1', 1));
    await t.reconcile();
    // The periodic resync comes back: nothing is tried, nothing is recorded again.
    await expect(t.reconcile()).resolves.toBeUndefined();
    await expect(t.reconcile()).resolves.toBeUndefined();
    expect(t.targetsMade()).toBe(1);
    expect(t.reasons()).toEqual(['Warning InvalidTarget']);

    // The user fixes the spec: generation 2 is reconciled normally.
    apiVersion = 'apps/v1';
    t.store.apply(resource('apps/v1', 2));
    await t.firing();
    await t.reconcile();
    expect(t.targetsMade()).toBe(2);
    expect(target.replicas).toBe(3);
    expect(await t.ableToScale()).toMatchObject({ status: 'True', reason: 'SucceededRescale' });
  });
});

describe('a deleted AlertScaler', () => {
  test('its gauges and its remembered Events are forgotten', async () => {
    const target = new FakeTarget(2);
    target.fail = (operation) =>
      operation === 'get' ? new TargetError('get', target.description, 'HTTP 404') : undefined;
    const t = setup(() => target);
    await expect(t.reconcile()).rejects.toThrow(TargetError);
    expect(await t.gauges()).toEqual([
      'alertscaler_max_replicas booking-service 6',
      'alertscaler_min_replicas booking-service 2',
    ]);
    const deleted: string[] = [];
    t.store.onChange((scaler) => deleted.push(scaler.name));
    t.store.delete(NS, NAME);
    expect(deleted).toEqual([NAME]);
    await expect(t.reconcile()).resolves.toBeUndefined();
    expect(await t.gauges()).toEqual([]);

    // Created again with the same failure: it is news again, so the Event is recorded again.
    t.store.apply(resource());
    await expect(t.reconcile()).rejects.toThrow(TargetError);
    expect(t.reasons()).toEqual(['Warning FailedGetScale', 'Warning FailedGetScale']);
  });
});
