/**
 * What a drill run recorded, and the pure reading of it: firing intervals, scale decisions, the p90 before and
 * after scaling. The end-to-end test and the chart both read the record through these functions.
 */
export interface Sample {
  /** Seconds since the drill started. */
  t: number;
  stage: string;
  vus: number;
  /** p90 in seconds from Prometheus' recording rule; null before there is one. */
  p90: number | null;
  /** Requests per second from Prometheus' recording rule. */
  rate: number | null;
  /** BookingHighP90Latency in Prometheus: inactive, pending or firing. */
  ruleState: 'inactive' | 'pending' | 'firing';
  /** BookingHighP90Latency active in Alertmanager (what the controller is told about). */
  alertActive: boolean;
  desiredWorkers: number;
  runningWorkers: number;
}

export interface ScaleEvent {
  t: number;
  from: number;
  to: number;
  direction: 'Up' | 'Down';
  message: string;
}

export interface DrillRecord {
  startedAt: string;
  options: Record<string, string | number | boolean>;
  policy: {
    minReplicas: number;
    maxReplicas: number;
    upCooldownSeconds: number;
    stabilizationSeconds: number;
  };
  thresholdSeconds: number;
  samples: Sample[];
  scaleEvents: ScaleEvent[];
  /** Processes still alive after the drill stopped everything (pids). */
  leftRunning: number[];
}

export interface Interval {
  start: number;
  end: number;
}

/** Runs of consecutive samples where the alert is active in Alertmanager; an open run ends at the last sample. */
export function firingIntervals(samples: readonly Sample[]): Interval[] {
  const out: Interval[] = [];
  let open: Interval | undefined;
  for (const s of samples) {
    if (s.alertActive) {
      if (open) open.end = s.t;
      else out.push((open = { start: s.t, end: s.t }));
    } else open = undefined;
  }
  return out;
}

/** The last p90 known at or before `t`. */
export function p90At(samples: readonly Sample[], t: number): number | null {
  let value: number | null = null;
  for (const s of samples) {
    if (s.t > t) break;
    if (s.p90 !== null) value = s.p90;
  }
  return value;
}

export interface DrillSummary {
  fired: boolean;
  firstFiring?: number;
  firstResolved?: number;
  scaleUps: ScaleEvent[];
  scaleDowns: ScaleEvent[];
  /** p90 when the first scale-up happened. */
  p90AtFirstScaleUp: number | null;
  /** The lowest p90 under the same (peak) load after the last scale-up during it. */
  p90AfterScaling: number | null;
  maxWorkersSeen: number;
}

export function summarize(record: DrillRecord, peakStage: string): DrillSummary {
  const { samples, scaleEvents } = record;
  const intervals = firingIntervals(samples);
  const firstFiring = intervals[0]?.start;
  const firstResolved = samples.find(
    (s) => firstFiring !== undefined && s.t > firstFiring && !s.alertActive,
  )?.t;
  const scaleUps = scaleEvents.filter((e) => e.direction === 'Up');
  const scaleDowns = scaleEvents.filter((e) => e.direction === 'Down');
  const firstUp = scaleUps[0];
  const peak = samples.filter((s) => s.stage === peakStage);
  const peakEnd = peak.at(-1)?.t ?? 0;
  // The last scale-up under the peak load: later ones (a re-fire after a scale-down) compare other loads.
  const lastPeakUp = scaleUps.filter((e) => e.t <= peakEnd).at(-1);
  const afterPeak = peak.filter((s) => lastPeakUp !== undefined && s.t > lastPeakUp.t && s.p90 !== null);
  return {
    fired: firstFiring !== undefined,
    firstFiring,
    firstResolved,
    scaleUps,
    scaleDowns,
    p90AtFirstScaleUp: firstUp ? p90At(samples, firstUp.t) : null,
    p90AfterScaling: afterPeak.length > 0 ? Math.min(...afterPeak.map((s) => s.p90!)) : null,
    maxWorkersSeen: Math.max(0, ...samples.map((s) => Math.max(s.desiredWorkers, s.runningWorkers))),
  };
}
