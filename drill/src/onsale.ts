/**
 * The onsale scenario (`npm run drill -- --scenario onsale`): a scheduled sale on one machine. One capped
 * worker's capacity is measured first (the capacity scenario's calibration) and gives QUEUE_ADMIT_PER_REPLICA;
 * then the service runs with capacity-coupled admission and the controller with an OnSale of the sale's
 * timeslots: it publishes the sale when its pre-queue opens and raises the worker pool's floor a lead time before
 * opensAt. A burst of users joins during the pre-queue, more arrive after opensAt; each admitted user reads the
 * sale's seat map SESSION_READS times. The queue, not the service, absorbs the burst: p90 stays under the
 * threshold while admissions follow the ready workers.
 */
import { execFileSync } from 'node:child_process';
import { bearer } from '@concert-booking/devkit/identity';
import { METRICS } from '@concert-booking/lib';
import type { TopLevelSpec } from 'vega-lite';
import { histogramBuckets, quantileBetween, RECOVER_MARGIN } from './calibration.js';
import type { CalibrationStep } from './calibration.js';
import { drillChartSpec } from './chart.js';
import type { Calibration, ScenarioRecord } from './record.js';
import { metricValue, Sampler, type SamplerState } from './sampler.js';
import { capacityStack, formatSample, policyFor, type DrillSettings } from './scenarios.js';
import { DrillStack, NAMESPACE } from './stack.js';

/** Seat-map reads of one admitted user (looking, choosing, looking again). */
export const SESSION_READS = 10;
const ROUND_MS = 1000;
/** From the scenario's start: the pre-queue opens, then the sale. */
const PRE_QUEUE_OPENS_SECONDS = 15;
const OPENS_SECONDS = 60;
const CLOSES_AFTER_OPEN_SECONDS = 45;
/** The floor is raised when the pre-queue opens: workers have 45 s to become ready. */
const LEAD_SECONDS = OPENS_SECONDS - PRE_QUEUE_OPENS_SECONDS;
const PRE_QUEUE_USERS = 160;
/** The burst joins over these seconds, once the sale is published. */
const BURST_SECONDS = 15;
const LATE_USERS = 60;
const LATE_SECONDS = 30;
const MAX_SECONDS_AFTER_OPEN = 180;
const POLL_MIN_MS = 500;
const POLL_MAX_MS = 10_000;
/** A 503 (the waiting room's store slow or away) is retried this many times, a second apart, as a browser would. */
const RETRIES = 5;
const TIMESLOTS = [1, 2, 3, 4, 5];
/**
 * The sale's own database on the local Redis, emptied before and after: a published sale pauses every waiting
 * room on its keys until it opens and is kept a week, so it must not meet the tests' or the other scenarios'.
 */
const SALE_REDIS_DB = 14;

function emptySaleRedis(sharedUrl: string): string {
  const url = Object.assign(new URL(sharedUrl), { pathname: `/${SALE_REDIS_DB}` }).toString();
  execFileSync('redis-cli', ['-u', url, 'FLUSHDB'], { stdio: 'ignore' });
  return url;
}

export type PerReplica =
  | { ok: true; perReplica: number; requestsPerSecond: number; vus: number; p90Seconds: number }
  | { ok: false; reason: string };

/**
 * QUEUE_ADMIT_PER_REPLICA from the calibration: the most requests per second one worker served with its p90 at
 * most RECOVER_MARGIN x the threshold, as users per round of `roundMs`, each making `sessionRequests`. Pure.
 */
export function admitPerReplica(
  steps: readonly CalibrationStep[],
  thresholdSeconds: number,
  sessionRequests: number,
  roundMs: number,
): PerReplica {
  const within = steps.filter((s) => s.serverP90Seconds <= RECOVER_MARGIN * thresholdSeconds);
  const best = within.sort((a, b) => b.requestsPerSecond - a.requestsPerSecond)[0];
  if (!best) {
    return {
      ok: false,
      reason: `no step kept one worker's p90 under ${RECOVER_MARGIN} x ${thresholdSeconds}s`,
    };
  }
  const perReplica = Math.floor((best.requestsPerSecond * roundMs) / 1000 / sessionRequests);
  if (perReplica < 1) {
    return {
      ok: false,
      reason: `${best.requestsPerSecond} req/s is under one session of ${sessionRequests} a round`,
    };
  }
  return {
    ok: true,
    perReplica,
    requestsPerSecond: best.requestsPerSecond,
    vus: best.vus,
    p90Seconds: best.serverP90Seconds,
  };
}

/** Spearman's rank correlation of two orderings of the same n items (1: same order, about 0: unrelated). */
export function spearman(ranksA: readonly number[], ranksB: readonly number[]): number {
  const n = ranksA.length;
  if (n < 2) return 1;
  const d2 = ranksA.reduce((sum, a, i) => sum + (a - ranksB[i]!) ** 2, 0);
  return 1 - (6 * d2) / (n * (n * n - 1));
}

/** The ranks (1-based) of `values`, smallest first. */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort(([a], [b]) => a - b);
  const out = new Array<number>(values.length);
  order.forEach(([, i], rank) => (out[i] = rank + 1));
  return out;
}

export interface SaleSample {
  t: number;
  admittedTotal: number | null;
  waiting: number | null;
  admissionRate: number | null;
  listeningWorkers: number;
  salePhase: string | null;
}

interface SaleUser {
  id: number;
  /** Seconds since the scenario started. */
  joinedAt: number;
  preQueued: boolean;
  /** The position and the promised admission (epoch ms) at the first status once the sale is open. */
  firstPosition?: number;
  promisedAt?: number;
  /** When the user first saw ACTIVE (epoch ms). */
  admittedAt?: number;
  failure?: string;
}

export interface OnSaleScorecard {
  perReplica: number;
  minWorkers: number;
  /** Seconds before opensAt the pool had minWorkers listening; null if never before it. */
  preScaledSecondsBeforeOpen: number | null;
  preScaledBeforeOpen: boolean;
  /** Highest p90 (Prometheus, 10 s window) from opensAt to the end. */
  maxP90Seconds: number | null;
  p90UnderThreshold: boolean;
  p90AlertFired: boolean;
  users: number;
  admitted: number;
  failures: number;
  peakWaiting: number;
  maxAdmittedPerSecond: number;
  /** The service's histogram: admitted minus promised, per token. */
  etaErrorP50Seconds: number | null;
  etaErrorP90Seconds: number | null;
  /** Pre-queued users: arrival order against the place they were given (about 0: shuffled). */
  shuffleRankCorrelation: number | null;
}

export interface OnSaleRecord {
  scenario: ScenarioRecord;
  opensAtSeconds: number;
  perReplica: PerReplica;
  sale: SaleSample[];
  users: SaleUser[];
  etaErrorBuckets: [number, number][];
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function json(response: Response): Promise<Record<string, unknown>> {
  return (await response.json().catch(() => ({}))) as Record<string, unknown>;
}

/** A request, again after a 503 (at most RETRIES times). */
async function retrying(url: string, init: RequestInit): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    const response = await fetch(url, init);
    if (response.status !== 503 || attempt >= RETRIES) return response;
    await response.arrayBuffer();
    await sleep(1000);
  }
}

/** One user: joins, polls at half its estimated wait, then reads the seat maps once admitted. */
async function runUser(user: SaleUser, serviceUrl: string, opensAtMs: number, signal: AbortSignal) {
  const auth = await bearer(user.id);
  const joined = await retrying(`${serviceUrl}/v1/queue/tokens`, { method: 'POST', headers: auth, signal });
  const body = await json(joined);
  if (joined.status !== 201)
    return void (user.failure = `join: HTTP ${joined.status} ${JSON.stringify(body)}`);
  const headers = { ...auth, 'queue-token': String(body.token) };
  let status = body.status as { state: string; position?: number; estimatedWaitSeconds?: number };
  while (status.state !== 'ACTIVE') {
    const now = Date.now();
    if (now >= opensAtMs && user.promisedAt === undefined) {
      user.firstPosition = status.position;
      user.promisedAt = now + (status.estimatedWaitSeconds ?? 0) * 1000;
    }
    const halfWait = ((status.estimatedWaitSeconds ?? 0) * 1000) / 2;
    await sleep(Math.min(POLL_MAX_MS, Math.max(POLL_MIN_MS, halfWait)) * (0.9 + Math.random() * 0.2));
    if (signal.aborted) return void (user.failure = 'still waiting when the drill ended');
    const polled = await retrying(`${serviceUrl}/v1/queue/tokens/current`, { headers, signal });
    if (!polled.ok) return void (user.failure = `poll: HTTP ${polled.status}`);
    status = (await json(polled)) as typeof status;
  }
  user.admittedAt = Date.now();
  for (let read = 0; read < SESSION_READS; read++) {
    const timeslot = TIMESLOTS[Math.floor(Math.random() * TIMESLOTS.length)];
    const seats = await retrying(`${serviceUrl}/v1/timeslots/${timeslot}/seats`, { signal });
    await seats.arrayBuffer();
    if (!seats.ok) return void (user.failure = `seat map: HTTP ${seats.status}`);
  }
}

/** What the drill lends the scenario: the shared calibration, and running a stack that is stopped after. */
export interface OnSaleDeps {
  calibrate: () => Promise<Calibration>;
  withStack: <T>(
    stack: DrillStack,
    leftRunning: number[],
    work: (stack: DrillStack) => Promise<T>,
  ) => Promise<T>;
}

export async function runOnSale(
  settings: DrillSettings,
  leftRunning: number[],
  { calibrate, withStack }: OnSaleDeps,
): Promise<OnSaleRecord | undefined> {
  const { log } = settings;
  const calibration = await calibrate();
  const perReplica = admitPerReplica(calibration.steps, settings.thresholdSeconds, SESSION_READS, ROUND_MS);
  if (!perReplica.ok) {
    log(`onsale: no per-worker capacity: ${perReplica.reason}`);
    return undefined;
  }
  log(
    `onsale: one worker served ${perReplica.requestsPerSecond} req/s at p90 ${perReplica.p90Seconds}s (${perReplica.vus} VUs): ` +
      `QUEUE_ADMIT_PER_REPLICA=${perReplica.perReplica} users of ${SESSION_READS} reads a ${ROUND_MS} ms round`,
  );
  const minWorkers = settings.maxWorkers;
  let opensAtMs = 0;
  const base = capacityStack(settings, 0);
  const redisUrl = emptySaleRedis(settings.redisUrl);
  const stack = new DrillStack({
    ...base,
    redisUrl,
    // One connection per in-flight request of every worker at its measured concurrency.
    poolMax: perReplica.vus * minWorkers + 10,
    serviceEnv: (promUrl) => ({
      QUEUE_ADMISSION: 'capacity',
      QUEUE_ADMISSION_PROMETHEUS_URL: promUrl,
      QUEUE_ADMISSION_NAMESPACE: NAMESPACE,
      QUEUE_ADMISSION_UPDATE_MS: '1000',
      QUEUE_ADMIT_INTERVAL_MS: String(ROUND_MS),
      QUEUE_ADMIT_PER_REPLICA: String(perReplica.perReplica),
      QUEUE_ADMIT_MIN_PER_INTERVAL: '1',
      QUEUE_ADMIT_MAX_PER_INTERVAL: String(perReplica.perReplica * settings.maxWorkers),
      // Gradual growth: one more user a round each second, so the p90 can answer before the rate overshoots.
      QUEUE_ADMIT_INCREASE_STEP: '1',
      QUEUE_ADMISSION_P90_BUDGET_SECONDS: String(0.8 * settings.thresholdSeconds),
      // Every simulated user comes from 127.0.0.1.
      RATE_LIMIT_IP_PER_MINUTE: '1000000',
      // A busy shared machine answers Redis late at times: a slow answer, not an unavailable waiting room.
      REDIS_COMMAND_TIMEOUT_MS: '2000',
    }),
    onSales: () => {
      opensAtMs = Date.now() + OPENS_SECONDS * 1000;
      return [
        {
          apiVersion: 'autoscaling.concert-booking.dev/v1alpha1',
          kind: 'OnSale',
          metadata: { name: 'drill-sale', namespace: NAMESPACE },
          spec: {
            timeslotIds: TIMESLOTS,
            opensAt: new Date(opensAtMs).toISOString(),
            closesAt: new Date(opensAtMs + CLOSES_AFTER_OPEN_SECONDS * 1000).toISOString(),
            preQueueSeconds: OPENS_SECONDS - PRE_QUEUE_OPENS_SECONDS,
            scaling: {
              alertScalerName: 'booking-service',
              minReplicas: minWorkers,
              leadSeconds: LEAD_SECONDS,
            },
          },
        },
      ];
    },
  });
  try {
    return await withStack(stack, leftRunning, async () => {
      await stack.startService();
      await stack.startMonitoring();
      return runSale(stack, settings, perReplica, opensAtMs);
    });
  } finally {
    emptySaleRedis(settings.redisUrl);
  }
}

async function runSale(
  stack: DrillStack,
  settings: DrillSettings,
  perReplica: PerReplica & { ok: true },
  opensAtMs: number,
): Promise<OnSaleRecord> {
  const startedAt = opensAtMs - OPENS_SECONDS * 1000;
  const seconds = (ms: number) => Math.round((ms - startedAt) / 100) / 10;
  const stamp = (line: string) =>
    settings.log(`onsale ${seconds(Date.now()).toFixed(0).padStart(4)}s ${line}`);
  const state: SamplerState = { phase: 'scheduled', vus: 0 };
  const sampler = new Sampler(stack, startedAt, state, (s, news) => {
    for (const line of news) stamp(line);
    if (Math.round(s.t) % 5 === 0) stamp(formatSample(s));
  });
  const sale: SaleSample[] = [];
  const users: SaleUser[] = [];
  let sampling = true;
  const saleLoop = (async () => {
    while (sampling) {
      const began = Date.now();
      try {
        const [text, workers, sales] = await Promise.all([
          stack.serviceMetrics(),
          stack.workers(),
          stack.onSales(),
        ]);
        const sample: SaleSample = {
          t: seconds(began),
          admittedTotal: metricValue(text, METRICS.queueAdmitted),
          waiting: metricValue(text, METRICS.queueWaiting),
          admissionRate: metricValue(text, METRICS.queueAdmissionRate),
          listeningWorkers: workers.listening,
          salePhase: sales[0]?.status?.phase ?? null,
        };
        sale.push(sample);
        state.phase = (sample.salePhase ?? 'scheduled').toLowerCase();
        if (Math.round(sample.t) % 5 === 0) {
          stamp(
            `sale ${sample.salePhase ?? '-'}  waiting ${sample.waiting ?? '-'}  admitted ${sample.admittedTotal ?? '-'}` +
              `  rate ${sample.admissionRate ?? '-'}/round  workers listening ${workers.listening}`,
          );
        }
      } catch {
        // a missed second is a gap in the chart
      }
      await sleep(Math.max(0, 1000 - (Date.now() - began)));
    }
  })();
  sampler.start();
  const stop = new AbortController();
  const running: Promise<void>[] = [];
  const start = (user: SaleUser) => {
    users.push(user);
    running.push(
      runUser(user, stack.serviceUrl, opensAtMs, stop.signal)
        .catch((error: Error) => void (user.failure ??= error.message))
        .finally(() => void (state.vus = users.filter((u) => u.admittedAt && !u.failure).length)),
    );
  };
  try {
    // The burst starts once the controller has published the sale (its status shows PreQueue).
    while (sale.at(-1)?.salePhase !== 'PreQueue' && Date.now() < opensAtMs) await sleep(500);
    await sleep(1000);
    stamp(`the pre-queue is open: ${PRE_QUEUE_USERS} users join over ${BURST_SECONDS}s`);
    let nextId = 1;
    for (let i = 0; i < PRE_QUEUE_USERS; i++) {
      start({ id: nextId++, joinedAt: seconds(Date.now()), preQueued: true });
      await sleep((BURST_SECONDS * 1000) / PRE_QUEUE_USERS);
    }
    await sleep(Math.max(0, opensAtMs - Date.now()));
    stamp(`opensAt: ${LATE_USERS} more users arrive over ${LATE_SECONDS}s`);
    for (let i = 0; i < LATE_USERS; i++) {
      start({ id: nextId++, joinedAt: seconds(Date.now()), preQueued: false });
      await sleep((LATE_SECONDS * 1000) / LATE_USERS);
    }
    const deadline = opensAtMs + MAX_SECONDS_AFTER_OPEN * 1000;
    const all = Promise.all(running);
    while (
      Date.now() < deadline &&
      (await Promise.race([all.then(() => true), sleep(1000).then(() => false)])) === false
    );
    stop.abort();
    await all;
    await sleep(3000); // the last seconds in Prometheus and the samples
  } finally {
    sampling = false;
    await saleLoop;
    await sampler.stop();
  }
  const eta = histogramBuckets(await stack.serviceMetrics(), METRICS.queueEtaError);
  const scenario: ScenarioRecord = {
    name: 'onsale',
    startedAt: new Date(startedAt).toISOString(),
    thresholdSeconds: settings.thresholdSeconds,
    policy: { ...policyFor(settings), minReplicas: perReplica.ok ? settings.maxWorkers : 1 },
    settings: {
      workerCpuLimit: settings.workerCpuLimit,
      peakVus: PRE_QUEUE_USERS + LATE_USERS,
      perReplica: perReplica.perReplica,
      sessionReads: SESSION_READS,
    },
    phases: [],
    actions: [],
    samples: sampler.samples,
    scaleEvents: sampler.scaleEvents,
    events: sampler.events,
  };
  return {
    scenario,
    opensAtSeconds: OPENS_SECONDS,
    perReplica,
    sale,
    users,
    etaErrorBuckets: [...eta],
  };
}

/** The onsale run read: pure, from its record. */
export function onSaleScorecard(run: OnSaleRecord, minWorkers: number): OnSaleScorecard {
  const { scenario, sale, users, opensAtSeconds } = run;
  const prescaled = sale.find((s) => s.listeningWorkers >= minWorkers);
  const during = scenario.samples.filter((s) => s.t >= opensAtSeconds && s.p90 !== null);
  const maxP90 = during.length ? Math.max(...during.map((s) => s.p90!)) : null;
  const perSecond = sale.slice(1).map((s, i) => {
    const before = sale[i]!;
    return s.admittedTotal !== null && before.admittedTotal !== null
      ? (s.admittedTotal - before.admittedTotal) / Math.max(0.1, s.t - before.t)
      : 0;
  });
  const eta = new Map(run.etaErrorBuckets);
  const quantile = (q: number) => {
    const value = quantileBetween(q, new Map(), eta);
    return Number.isFinite(value) ? Math.round(value * 100) / 100 : null;
  };
  const placed = users.filter((u) => u.preQueued && u.firstPosition !== undefined);
  return {
    perReplica: run.perReplica.ok ? run.perReplica.perReplica : 0,
    minWorkers,
    preScaledSecondsBeforeOpen:
      prescaled && prescaled.t < opensAtSeconds ? Math.round((opensAtSeconds - prescaled.t) * 10) / 10 : null,
    preScaledBeforeOpen: !!prescaled && prescaled.t < opensAtSeconds,
    maxP90Seconds: maxP90 === null ? null : Math.round(maxP90 * 1000) / 1000,
    p90UnderThreshold: maxP90 !== null && maxP90 < scenario.thresholdSeconds,
    p90AlertFired: scenario.samples.some((s) => s.t >= opensAtSeconds && s.alertActive),
    users: users.length,
    admitted: users.filter((u) => u.admittedAt !== undefined).length,
    failures: users.filter((u) => u.failure).length,
    peakWaiting: Math.max(0, ...sale.map((s) => s.waiting ?? 0)),
    maxAdmittedPerSecond: Math.round(Math.max(0, ...perSecond) * 10) / 10,
    etaErrorP50Seconds: quantile(0.5),
    etaErrorP90Seconds: quantile(0.9),
    shuffleRankCorrelation:
      placed.length >= 2
        ? Math.round(
            spearman(ranks(placed.map((u) => u.joinedAt)), ranks(placed.map((u) => u.firstPosition!))) * 100,
          ) / 100
        : null,
  };
}

export function onSaleReportLines(card: OnSaleScorecard): string[] {
  return [
    '',
    'onsale scorecard',
    ...Object.entries(card).map(([key, value]) => `${key.padEnd(28)}${String(value ?? '-').padStart(12)}`),
  ];
}

/** The drill's chart of the scenario, and a panel of the queue: admitted per second, waiting, opensAt. */
export function onSaleChartSpec(run: OnSaleRecord, title: string): TopLevelSpec {
  const spec = drillChartSpec(run.scenario, title) as TopLevelSpec & { vconcat: object[] };
  const perSecond = run.sale.slice(1).flatMap((s, i) => {
    const before = run.sale[i]!;
    if (s.admittedTotal === null || before.admittedTotal === null) return [];
    return [
      {
        t: s.t,
        value: (s.admittedTotal - before.admittedTotal) / Math.max(0.1, s.t - before.t),
        series: 'admitted per second',
      },
    ];
  });
  const waiting = run.sale.flatMap((s) =>
    s.waiting === null ? [] : [{ t: s.t, value: s.waiting, series: 'waiting' }],
  );
  const x = { field: 't', type: 'quantitative', title: 'seconds since the scenario started' };
  spec.vconcat.push({
    width: 640,
    height: 150,
    title: 'the queue: admitted per second and waiting users (service metrics); grey rule: opensAt',
    layer: [
      {
        data: { values: [...perSecond, ...waiting] },
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative', title: 'users' },
          color: { field: 'series', type: 'nominal' },
        },
      },
      {
        data: { values: [{ t: run.opensAtSeconds }] },
        mark: { type: 'rule', color: '#888' },
        encoding: { x: { field: 't', type: 'quantitative' } },
      },
    ],
  });
  return spec;
}
