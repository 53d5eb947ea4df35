/**
 * The drill's two scenarios and how each runs: phases of closed-model load (base, peak, calm) against a fresh
 * stack, the peak and calm ending when what they exist to show has been seen (within bounds), and for the
 * incident the fix the incident document applied, switched on in the running service.
 *
 * - capacity: the uncached seat map with its index. Postgres answers fast; each capped worker's CPU (rows
 *   parsed, 500 seats serialized per request) is the bottleneck. More workers bring more CPU: the alert
 *   fires, the controller scales up, p90 recovers under the continuing peak, the alert resolves, and the
 *   workers are given back after the stabilization window.
 * - incident: the incident's slow query (no index: a full scan of a large seats table) and no cache.
 *   Postgres is the bottleneck: the pool runs dry, BookingDbPoolWaiting fires with the p90 alert, and the
 *   AlertScaler holds (more workers would only add concurrent scans). The drill then switches the seat-map
 *   cache on without a restart, p90 recovers and the alert resolves.
 */
import type { CatalogVolume } from '@concert-booking/devkit/programs';
import type { Phase, Sample, ScenarioName, ScenarioRecord } from './record.js';
import { Sampler, type SamplerState } from './sampler.js';
import { PEAK, RECOVERED_FOR_SAMPLES } from './scorecard.js';
import type { DrillStack, DrillTarget, Policy, StackOptions } from './stack.js';

export const SCENARIOS: readonly ScenarioName[] = ['capacity', 'incident'];

export interface DrillSettings {
  thresholdSeconds: number;
  /** Departures from POLICY (the cluster drill waits longer before giving pods back). */
  policy?: Partial<typeof POLICY>;
  workerCpuLimit: number;
  maxWorkers: number;
  databaseUrl: string;
  redisUrl: string;
  log: (line: string) => void;
}

/**
 * Short windows: a whole episode fits in a few minutes. The stabilization window outlasts the peak's hold after
 * resolution (RECOVERED_FOR_SAMPLES + HOLD_AFTER_RESOLVED_SECONDS), so workers are given back after the peak.
 */
export const POLICY = { upCooldownSeconds: 12, stabilizationSeconds: 20, downCooldownSeconds: 8 };
const BASE_VUS = 2;
const BASE_SECONDS = 10;
/** After recovery and resolution, the peak goes on this long: p90 stays down under the same load. */
const HOLD_AFTER_RESOLVED_SECONDS = 10;
const MAX_PEAK_SECONDS = 180;
/** Incident: the hold is shown this long (p90 alert and the Saturated reason together) before the fix. */
const HOLD_BEFORE_FIX_SECONDS = 10;
/** Incident: the fix is applied after this long at the latest, so a run that never fired still ends. */
const FIX_AT_LATEST_SECONDS = 90;

/**
 * Capacity: large seat maps (2000 seats, ~150 KB of JSON) make each request's CPU (rows parsed, JSON
 * serialized) large against the fixed costs of a request, so one capped worker's p90 rises steeply with load.
 */
export const CAPACITY_CATALOG: CatalogVolume = {
  concerts: 20,
  timeslotsPerConcert: 5,
  seatsPerTimeslot: 2000,
};
/**
 * Incident: 400k seats in the table (each scan reads them all) but small seat maps (100 seats), so Postgres,
 * not the workers, does the work. The load reads the first 20 concerts' timeslots.
 */
export const INCIDENT_CATALOG: CatalogVolume = {
  concerts: 400,
  timeslotsPerConcert: 10,
  seatsPerTimeslot: 100,
};
/** The service's default pool: the incident's peak holds it busy with scans. */
export const INCIDENT_POOL = 10;

export function policyFor(settings: DrillSettings): Policy {
  return { minReplicas: 1, maxReplicas: settings.maxWorkers, ...POLICY, ...settings.policy };
}

export function capacityStack(settings: DrillSettings, peakVus: number): StackOptions {
  return {
    catalog: CAPACITY_CATALOG,
    slowQuery: false,
    cache: false,
    // Above any worker's concurrency: in this scenario the pool is never the limit (and never waits).
    poolMax: peakVus + 10,
    workerCpuLimit: settings.workerCpuLimit,
    thresholdSeconds: settings.thresholdSeconds,
    policy: policyFor(settings),
    databaseUrl: settings.databaseUrl,
    redisUrl: settings.redisUrl,
    log: settings.log,
  };
}

export function incidentStack(settings: DrillSettings): StackOptions {
  return {
    ...capacityStack(settings, 0),
    catalog: INCIDENT_CATALOG,
    slowQuery: true,
    poolMax: INCIDENT_POOL,
  };
}

/** What ends a phase early (checked once a second), and what the drill does meanwhile. */
interface PhasePlan {
  name: string;
  vus: number;
  minSeconds: number;
  maxSeconds: number;
  done?: (samples: readonly Sample[], phaseStart: number) => boolean;
  act?: (samples: readonly Sample[], phaseStart: number) => Promise<string | undefined>;
}

const sinceFiring = (samples: readonly Sample[], phaseStart: number) =>
  samples.findIndex((s) => s.t >= phaseStart && s.alertActive);

/** Fired during the phase, recovered (p90 under the threshold for a while), resolved for a while. */
function recoveredAndResolved(threshold: number) {
  return (samples: readonly Sample[], phaseStart: number) => {
    const fired = sinceFiring(samples, phaseStart);
    if (fired < 0) return false;
    const tail = samples.slice(-(RECOVERED_FOR_SAMPLES + HOLD_AFTER_RESOLVED_SECONDS));
    return (
      tail.length === RECOVERED_FOR_SAMPLES + HOLD_AFTER_RESOLVED_SECONDS &&
      tail[0]!.t > samples[fired]!.t &&
      tail.every((s) => s.p90 !== null && s.p90 < threshold && !s.alertActive)
    );
  };
}

function backToMin(policy: Policy) {
  return (samples: readonly Sample[]) => {
    const last = samples.at(-1);
    return !!last && last.desiredWorkers === policy.minReplicas && !last.alertActive;
  };
}

function calmSeconds(policy: Policy): number {
  return policy.stabilizationSeconds + (policy.maxReplicas - 1) * (policy.downCooldownSeconds + 4) + 40;
}

export function capacityPhases(settings: DrillSettings, peakVus: number): PhasePlan[] {
  const policy = policyFor(settings);
  return [
    { name: 'base', vus: BASE_VUS, minSeconds: BASE_SECONDS, maxSeconds: BASE_SECONDS },
    {
      name: PEAK,
      vus: peakVus,
      minSeconds: 30,
      maxSeconds: MAX_PEAK_SECONDS,
      done: recoveredAndResolved(settings.thresholdSeconds),
    },
    { name: 'calm', vus: BASE_VUS, minSeconds: 5, maxSeconds: calmSeconds(policy), done: backToMin(policy) },
  ];
}

export function incidentPhases(settings: DrillSettings, peakVus: number, stack: DrillStack): PhasePlan[] {
  const policy = policyFor(settings);
  let fixed = false;
  return [
    { name: 'base', vus: BASE_VUS, minSeconds: BASE_SECONDS, maxSeconds: BASE_SECONDS },
    {
      name: PEAK,
      vus: peakVus,
      minSeconds: 30,
      maxSeconds: MAX_PEAK_SECONDS,
      done: (samples, start) => fixed && recoveredAndResolved(settings.thresholdSeconds)(samples, start),
      act: async (samples, start) => {
        if (fixed) return undefined;
        const held = samples.filter((s) => s.t >= start && s.alertActive && s.scalerReason === 'Saturated');
        const heldLongEnough = held.length >= HOLD_BEFORE_FIX_SECONDS;
        const late = (samples.at(-1)?.t ?? 0) - start >= FIX_AT_LATEST_SECONDS;
        if (!heldLongEnough && !late) return undefined;
        await stack.switchCache(true);
        fixed = true;
        return 'the incident fix: seat-map cache switched on (PUT /seat-map-cache, no restart)';
      },
    },
    { name: 'calm', vus: BASE_VUS, minSeconds: 5, maxSeconds: calmSeconds(policy), done: backToMin(policy) },
  ];
}

/** Runs the phases against a started stack; the record of the scenario. */
export async function runPhases(
  name: ScenarioName,
  stack: DrillTarget,
  phases: PhasePlan[],
  settings: DrillSettings,
  extra: Record<string, string | number | boolean>,
): Promise<ScenarioRecord> {
  const startedAt = Date.now();
  const elapsed = () => Math.round((Date.now() - startedAt) / 100) / 10;
  const stamp = (line: string) => settings.log(`${name} ${elapsed().toFixed(0).padStart(4)}s ${line}`);
  const state: SamplerState = { phase: 'setup', vus: 0 };
  let lastKey = '';
  const sampler = new Sampler(stack, startedAt, state, (s, news) => {
    for (const line of news) stamp(line);
    const key = `${s.phase} ${s.alertActive} ${s.saturationActive} ${s.desiredWorkers} ${s.runningWorkers} ${s.scalerReason}`;
    if (key !== lastKey || Math.round(s.t) % 5 === 0) stamp(formatSample(s));
    lastKey = key;
  });
  const record: ScenarioRecord = {
    name,
    startedAt: new Date(startedAt).toISOString(),
    thresholdSeconds: settings.thresholdSeconds,
    policy: policyFor(settings),
    settings: { workerCpuLimit: settings.workerCpuLimit, ...extra },
    phases: [],
    actions: [],
    samples: sampler.samples,
    scaleEvents: sampler.scaleEvents,
    events: sampler.events,
  };
  sampler.start();
  try {
    for (const plan of phases) {
      const phase: Phase = { name: plan.name, start: elapsed(), end: elapsed(), vus: plan.vus };
      record.phases.push(phase);
      Object.assign(state, { phase: plan.name, vus: plan.vus });
      stamp(
        `phase ${plan.name}: ${plan.vus} virtual users (seat map), ${plan.minSeconds}-${plan.maxSeconds}s`,
      );
      const stop = new AbortController();
      const load = stack.load({ vus: plan.vus, seconds: plan.maxSeconds }, stop.signal);
      let finished = false;
      void load.finally(() => (finished = true));
      while (!finished) {
        await new Promise((done) => setTimeout(done, 1000));
        const action = await plan.act?.(sampler.samples, phase.start);
        if (action) {
          record.actions.push({ t: elapsed(), what: action });
          stamp(action);
        }
        const long = elapsed() - phase.start >= plan.minSeconds;
        if (long && plan.done?.(sampler.samples, phase.start)) stop.abort();
      }
      await load;
      phase.end = elapsed();
    }
  } finally {
    await sampler.stop();
  }
  return record;
}

export function formatSample(s: Sample): string {
  const p90 = s.p90 === null ? '    -  ' : `${(s.p90 * 1000).toFixed(0).padStart(5)} ms`;
  return (
    `${s.phase.padEnd(5)} ${String(s.vus).padStart(3)} VUs  p90 ${p90}  ${(s.rate ?? 0).toFixed(0).padStart(4)} req/s` +
    `  p90 alert ${s.alertActive ? 'FIRING' : s.p90Rule.padEnd(6)}  pool ${s.saturationActive ? 'SATURATED' : `waiting ${s.poolWaiting ?? '-'}`}` +
    `  workers ${s.runningWorkers}/${s.desiredWorkers}  scaler ${s.scalerReason ?? '-'}  cache ${s.cacheEnabled ? 'on' : 'off'}`
  );
}
