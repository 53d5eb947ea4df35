// Capacity-coupled admission end to end, short of a load: the signals read from a real Prometheus (its rules
// answer fixed values, so what is checked is the reading, not a latency), the rate they give, and a waiting
// room that admits at that rate and tells its waiting users so.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ALERTS, RECORDINGS, createLogger } from '@concert-booking/lib';
import { ProcessGroup } from '@concert-booking/devkit/process';
import { prometheusProcess } from '@concert-booking/devkit/programs';
import { freePort, waitFor } from '@concert-booking/devkit/wait';
import { prometheusSignals, signalQueries } from '../src/queue/admission-signals.js';
import { CapacityRate } from '../src/queue/adaptive-rate.js';
import type { CapacityAdmissionPolicy } from '../src/queue/capacity-admission.js';
import { MemoryQueueStore } from '../src/queue/store.js';
import { WaitingRoom } from '../src/queue/waiting-room.js';

const logger = createLogger('silent', {});
const policy: CapacityAdmissionPolicy = {
  perReplica: 20,
  min: 5,
  max: 200,
  p90BudgetSeconds: 0.4,
  decreaseFactor: 0.5,
  increaseStep: 10,
};

/** Two namespaces: `calm` has 3 ready replicas and a p90 of 0.2 s; `hot` has 2, a p90 of 0.9 s and the alert. */
const RULES = `
groups:
  - name: fixed-signals
    interval: 1s
    rules:
      - { record: '${RECORDINGS.readyReplicas}', expr: vector(3), labels: { namespace: calm } }
      - { record: '${RECORDINGS.readyReplicas}', expr: vector(2), labels: { namespace: hot } }
      - { record: '${RECORDINGS.latencyQuantile}', expr: vector(0.2), labels: { namespace: calm, quantile: '0.9' } }
      - { record: '${RECORDINGS.latencyQuantile}', expr: vector(0.9), labels: { namespace: hot, quantile: '0.9' } }
      - { record: '${RECORDINGS.latencyQuantile}', expr: vector(5), labels: { namespace: calm, quantile: '0.99' } }
      - { alert: ${ALERTS.highP90Latency}, expr: vector(1), labels: { namespace: hot } }
`;

describe('capacity-coupled admission from Prometheus', () => {
  const group = new ProcessGroup();
  let url: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capacity-admission-'));
    writeFileSync(join(dir, 'rules.yml'), RULES);
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global: { evaluation_interval: 1s }\nrule_files: [${join(dir, 'rules.yml')}]\n`,
    );
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    await group.start(
      prometheusProcess({ configFile: join(dir, 'prometheus.yml'), dataDir: join(dir, 'data'), port }),
    );
    // Until the first evaluation has written every recording and the alert.
    const hot = prometheusSignals({ url, namespace: 'hot', timeoutMs: 2_000 });
    await waitFor(async () => (await hot())?.p90AlertFiring === true, 30_000, 'the rules evaluated');
  }, 60_000);

  afterAll(async () => {
    await group.stopAll();
  });

  it('reads one namespace signals and not another', async () => {
    expect(await prometheusSignals({ url, namespace: 'calm', timeoutMs: 2_000 })()).toEqual({
      readyReplicas: 3,
      p90Seconds: 0.2,
      p90AlertFiring: false,
    });
    expect(await prometheusSignals({ url, namespace: 'hot', timeoutMs: 2_000 })()).toEqual({
      readyReplicas: 2,
      p90Seconds: 0.9,
      p90AlertFiring: true,
    });
    // Every namespace: the replicas summed, the worst p90, any alert.
    expect(await prometheusSignals({ url, timeoutMs: 2_000 })()).toEqual({
      readyReplicas: 5,
      p90Seconds: 0.9,
      p90AlertFiring: true,
    });
  });

  it('has no capacity for a namespace Prometheus knows nothing of', async () => {
    expect(await prometheusSignals({ url, namespace: 'elsewhere', timeoutMs: 2_000 })()).toBeUndefined();
  });

  it('quotes a namespace as a PromQL string, so a label value cannot widen the query', () => {
    expect(signalQueries('a"} or vector(1000) or x{b="').readyReplicas).toBe(
      `sum(${RECORDINGS.readyReplicas}{namespace="a\\"} or vector(1000) or x{b=\\""})`,
    );
  });

  it('admits at a rate that grows to the ready capacity, and tells the queue so', async () => {
    const registry = new Registry();
    const rate = new CapacityRate({
      policy,
      read: prometheusSignals({ url, namespace: 'calm', timeoutMs: 2_000 }),
      updateMs: 1_000,
      registry,
      logger,
    });
    const room = new WaitingRoom({
      store: new MemoryQueueStore(),
      secret: 'x'.repeat(32),
      policy: { perInterval: 1_000, intervalMs: 1_000, maxActive: 10_000 },
      rate,
      activeTtlMs: 600_000,
      registry,
      logger,
      now: (() => {
        let round = 0;
        return () => ++round * 1_000;
      })(),
    });
    const tokens = [];
    for (let user = 1; user <= 1_000; user++) tokens.push((await room.issue(user)).token);
    const last = tokens[999];
    // The estimate follows the rate: at the minimum of 5 per 1 s round, 1000 places are 200 s away.
    expect(await room.status(last, 1_000)).toEqual({
      state: 'WAITING',
      position: 1_000,
      estimatedWaitSeconds: 200,
    });

    const admitted: number[] = [];
    for (let update = 0; update < 7; update++) {
      await rate.update();
      admitted.push(await room.runRound());
    }
    // From the minimum, a step per update, up to 3 replicas x 20.
    expect(admitted).toEqual([15, 25, 35, 45, 55, 60, 60]);
    expect((await registry.getSingleMetric('booking_queue_admission_rate')?.get())?.values[0]?.value).toBe(
      60,
    );

    // 295 admitted: the last is 705th, 12 rounds of 60 away.
    expect(await room.status(last, 1_000)).toEqual({
      state: 'WAITING',
      position: 705,
      estimatedWaitSeconds: 12,
    });
  });

  it('halves while the p90 alert fires, down to the floor, never to zero', async () => {
    let namespace = 'calm';
    const readers = {
      calm: prometheusSignals({ url, namespace: 'calm', timeoutMs: 2_000 }),
      hot: prometheusSignals({ url, namespace: 'hot', timeoutMs: 2_000 }),
    };
    const rate = new CapacityRate({
      policy,
      read: () => readers[namespace as keyof typeof readers](),
      updateMs: 1_000,
      registry: new Registry(),
      logger,
    });
    const rates: number[] = [];
    for (let update = 0; update < 7; update++) {
      if (update === 3) namespace = 'hot';
      rates.push((await rate.update()).perInterval);
    }
    expect(rates).toEqual([15, 25, 35, 17, 8, 5, 5]);
  });

  it('keeps the last rate while Prometheus is unreachable', async () => {
    const port = await freePort();
    let reachable = true;
    const calm = prometheusSignals({ url, namespace: 'calm', timeoutMs: 2_000 });
    const closed = prometheusSignals({ url: `http://127.0.0.1:${port}`, timeoutMs: 2_000 });
    const rate = new CapacityRate({
      policy,
      read: () => (reachable ? calm() : closed()),
      updateMs: 1_000,
      registry: new Registry(),
      logger,
    });
    await rate.update();
    await rate.update();
    expect(rate.perInterval()).toBe(25);
    reachable = false;
    expect(await rate.update()).toEqual({ perInterval: 25, reason: 'source-down' });
    expect(await rate.update()).toEqual({ perInterval: 25, reason: 'source-down' });
    reachable = true;
    expect(await rate.update()).toEqual({ perInterval: 35, reason: 'increase' });
  });
});
