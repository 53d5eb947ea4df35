/**
 * The pure reading of a scenario's record: when the alert fired, when the controller scaled, whether p90
 * recovered while the peak continued, whether it held for saturation. The drill's test asserts on it and the
 * command line prints it; drill/test/scorecard.test.ts covers it by table.
 */
import type { Phase, Sample, ScenarioRecord, Scorecard } from './record.js';

export const PEAK = 'peak';
/** p90 must stay under the threshold this many consecutive samples (seconds) to count as recovered. */
export const RECOVERED_FOR_SAMPLES = 5;
/** The controller hears of a resolution a little after Alertmanager shows it (sampled once a second). */
const SAMPLING_TOLERANCE_SECONDS = 2;

export interface Interval {
  start: number;
  end: number;
}

/** Runs of consecutive samples where `active` holds; an open run ends at the last sample. */
export function activeIntervals(samples: readonly Sample[], active: (s: Sample) => boolean): Interval[] {
  const out: Interval[] = [];
  let open: Interval | undefined;
  for (const s of samples) {
    if (active(s)) {
      if (open) open.end = s.t;
      else out.push((open = { start: s.t, end: s.t }));
    } else open = undefined;
  }
  return out;
}

const round = (seconds: number) => Math.round(seconds * 10) / 10;

/** The first run of RECOVERED_FOR_SAMPLES samples under the threshold at or after `from`, inside `within`. */
function recoveryStart(
  samples: readonly Sample[],
  threshold: number,
  from: number,
  within: Phase,
): number | null {
  let run: Sample[] = [];
  for (const s of samples) {
    if (s.t < from || s.t < within.start || s.t > within.end) continue;
    if (s.p90 !== null && s.p90 < threshold) {
      run.push(s);
      if (run.length >= RECOVERED_FOR_SAMPLES) return run[0]!.t;
    } else run = [];
  }
  return null;
}

export function scorecard(record: ScenarioRecord): Scorecard {
  const { samples, scaleEvents, events, policy, thresholdSeconds } = record;
  const peak = record.phases.find((p) => p.name === PEAK);
  const firing = activeIntervals(samples, (s) => s.alertActive);
  const firstFiring = firing.find((i) => !peak || (i.start >= peak.start && i.start <= peak.end));
  const ups = scaleEvents.filter((e) => e.direction === 'Up');
  const downs = scaleEvents.filter((e) => e.direction === 'Down');
  const firstUp = firstFiring ? ups.find((e) => e.t >= firstFiring.start) : undefined;

  // What recovery is measured from: the last scale-up during the peak, or the fix the drill applied.
  const peakUps = peak ? ups.filter((e) => e.t >= peak.start && e.t <= peak.end) : [];
  const fix = record.actions.find((a) => peak && a.t >= peak.start && a.t <= peak.end);
  const reference = fix?.t ?? peakUps.at(-1)?.t ?? null;
  const recovery =
    peak && reference !== null ? recoveryStart(samples, thresholdSeconds, reference, peak) : null;

  const resolvedDuringPeak =
    !!peak &&
    !!firstFiring &&
    samples.some((s) => s.t > firstFiring.start && s.t <= peak.end && s.phase === PEAK && !s.alertActive);

  const saturated = activeIntervals(samples, (s) => s.saturationActive);
  const during = (t: number, intervals: Interval[]) => intervals.some((i) => t >= i.start && t <= i.end);
  const heldInStatus = samples.some((s) => s.alertActive && s.scalerReason === 'Saturated');
  const heldEvent = events.some((e) => e.reason === 'HeldForSaturation');

  const lastActiveBefore = (t: number) => samples.filter((s) => s.t <= t && s.alertActive).at(-1)?.t;
  const scaleDownAfterStabilization = downs.every((down) => {
    const last = lastActiveBefore(down.t);
    return last === undefined || down.t - last >= policy.stabilizationSeconds - SAMPLING_TOLERANCE_SECONDS;
  });
  const last = samples.at(-1);
  const readySeconds = ups.map((up) => {
    const ready = samples.find((s) => s.t >= up.t && s.runningWorkers >= up.to);
    return ready ? ready.t - up.t : null;
  });

  return {
    fired: firstFiring !== undefined,
    detectSeconds: firstFiring && peak ? round(firstFiring.start - peak.start) : null,
    firstScaleSeconds: firstUp && firstFiring ? round(firstUp.t - firstFiring.start) : null,
    recovered: recovery !== null,
    recoverSeconds: recovery !== null && reference !== null ? round(recovery - reference) : null,
    resolvedDuringPeak,
    maxWorkers: Math.max(0, ...samples.map((s) => Math.max(s.desiredWorkers, s.runningWorkers))),
    // Unknown when any scale-up never became ready within the record.
    podsReadySeconds:
      readySeconds.length === 0 || readySeconds.includes(null)
        ? null
        : round(Math.max(...(readySeconds as number[]))),
    scaleDownAfterStabilization,
    scaledBackToMin: last !== undefined && last.desiredWorkers === policy.minReplicas,
    scaleUps: ups.length,
    scaleUpsWhileSaturated: ups.filter((e) => during(e.t, saturated)).length,
    heldForSaturation: heldInStatus && heldEvent,
  };
}
