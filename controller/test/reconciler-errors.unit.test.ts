import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '@concert-booking/lib';
import type { AlertScalerResource } from '../src/api/alertscaler.js';
import { ControllerMetrics } from '../src/metrics.js';
import { MemoryEventRecorder } from '../src/reconcile/events.js';
import { Reconciler } from '../src/reconcile/reconciler.js';
import { MemoryScalerStore } from '../src/reconcile/store.js';
import { KubeScaleTarget } from '../src/targets/kube-scale.js';
import { ConflictError, TargetError, type ScaleTarget } from '../src/targets/scale-target.js';

// One reconcile at a time, fast: the memory store, the real Reconciler and events, and a fake target (the API
// behind /scale is not what these tests are about; controller/test/cluster.test.ts runs the real one).
const logger = createLogger('silent', {});
const NS = 'local';
const NAME = 'booking-service';
const NOW = new Date('2025-06-01T12:00:00Z');

const resource = (apiVersion = 'apps/v1', generation = 1): AlertScalerResource => ({
  metadata: { name: NAME, generation },
  spec: {
    scaleTargetRef: { apiVersion, kind: 'Deployment', name: 'booking-service' },
    alerts: [{ alertName: 'BookingHighP90Latency', matchers: [] }],
    minReplicas: 2,
    maxReplicas: 6,
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
    logger,
  });
  const firing = () =>
    store.updateStatus(NS, NAME, (s) => ({
      ...s.status,
      firingAlerts: [
        {
          fingerprint: 'f1',
          startsAt: NOW.toISOString(),
          alertName: 'BookingHighP90Latency',
          role: 'scale',
          lastNotifiedTime: NOW.toISOString(),
        },
      ],
    }));
  const ableToScale = async () =>
    (await store.get(NS, NAME))!.status.conditions.find((c) => c.type === 'AbleToScale');
  const reasons = () => events.list().map((e) => `${e.type} ${e.reason}`);
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
    ableToScale,
    reasons,
    gauges,
  };
}

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
    await expect(t.reconcile()).rejects.toBeInstanceOf(TargetError);
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
