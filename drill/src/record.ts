/** What a drill run records: one sample a second per scenario, the scale writes and the controller's Events. */
import type { CalibrationStep, PeakChoice } from './calibration.js';
import type { OnSaleRecord, OnSaleScorecard } from './onsale.js';
import type { Policy } from './stack.js';

export type ScenarioName = 'capacity' | 'incident' | 'onsale';
export type RuleState = 'inactive' | 'pending' | 'firing';

export interface Sample {
  /** Seconds since the scenario started. */
  t: number;
  phase: string;
  vus: number;
  /** p90 in seconds from Prometheus' recording rule; null before there is one. */
  p90: number | null;
  /** Requests per second from Prometheus' recording rule. */
  rate: number | null;
  /** BookingHighP90Latency in Prometheus. */
  p90Rule: RuleState;
  /** BookingHighP90Latency active in Alertmanager (what the controller is told about). */
  alertActive: boolean;
  /** BookingDbPoolWaiting active in Alertmanager (the saturation guard's signal). */
  saturationActive: boolean;
  /** Clients waiting for a database connection (summed over the workers). */
  poolWaiting: number | null;
  cacheEnabled: boolean | null;
  desiredWorkers: number;
  runningWorkers: number;
  /** The AlertScaler's AbleToScale reason (SucceededRescale, UpCooldown, Saturated, ...). */
  scalerReason: string | null;
}

/** A scale write the controller made, from the AlertScaler status (lastScaleTime). */
export interface ScaleEvent {
  t: number;
  from: number;
  to: number;
  direction: 'Up' | 'Down';
}

/** An Event the controller recorded on the AlertScaler. */
export interface ScalerEvent {
  t: number;
  type: string;
  reason: string;
  message: string;
}

export interface Phase {
  name: string;
  start: number;
  end: number;
  vus: number;
}

export interface ScenarioRecord {
  name: ScenarioName;
  startedAt: string;
  thresholdSeconds: number;
  policy: Policy;
  settings: Record<string, string | number | boolean>;
  phases: Phase[];
  /** Things the drill did during the run (the cache switched on), in seconds since the scenario started. */
  actions: { t: number; what: string }[];
  samples: Sample[];
  scaleEvents: ScaleEvent[];
  events: ScalerEvent[];
}

export interface Calibration {
  workerCpuLimit: number;
  thresholdSeconds: number;
  maxWorkers: number;
  steps: CalibrationStep[];
  choice: PeakChoice;
}

export interface Scorecard {
  fired: boolean;
  /** Peak start -> the alert active in Alertmanager. */
  detectSeconds: number | null;
  /** Alert active -> the first accepted scale-up write. */
  firstScaleSeconds: number | null;
  /** p90 back under the threshold, and staying there, while the peak continues. */
  recovered: boolean;
  /** The last scale-up during the peak (or the cache fix) -> p90 under the threshold for good. */
  recoverSeconds: number | null;
  resolvedDuringPeak: boolean;
  maxWorkers: number;
  /** The slowest scale-up: its write -> as many workers (pods) running and ready as it asked for. */
  podsReadySeconds: number | null;
  /** No scale-down earlier than the stabilization window after the alert was last active. */
  scaleDownAfterStabilization: boolean;
  /** The pool is back at its minimum at the end. */
  scaledBackToMin: boolean;
  scaleUps: number;
  /** Scale-ups written while the saturation alert was active (the guard allows none). */
  scaleUpsWhileSaturated: number;
  /** The AlertScaler reported Saturated (status and an Event) while the p90 alert fired. */
  heldForSaturation: boolean;
}

export interface DrillRecord {
  startedAt: string;
  machine: { cores: number; loadAverageAtStart: number[] };
  calibration?: Calibration;
  scenarios: ScenarioRecord[];
  scorecard: Partial<Record<ScenarioName, Scorecard>>;
  /** The onsale scenario's run and its own scorecard (drill/src/onsale.ts). */
  onsale?: { run: OnSaleRecord; scorecard: OnSaleScorecard };
  /** Processes still alive after the drill stopped everything (pids). */
  leftRunning: number[];
}
