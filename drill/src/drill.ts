/**
 * `npm run drill`: the incident on one machine, with real parts (drill/src/stack.ts), in two scenarios
 * (drill/src/scenarios.ts): capacity (more workers help) and incident (the database is the bottleneck: hold,
 * then apply the cache). The peak is calibrated on this machine first (drill/src/calibration.ts). Prints the
 * calibration, a timeline and the scorecard of each scenario; writes <out>.json and <out>-<scenario>.svg;
 * stops everything it started, also on Ctrl-C, SIGTERM or failure.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { numberFlag, parseCommandLine, runMain, UsageError, type CommandLine } from '@concert-booking/lib';
import { localServices } from '@concert-booking/devkit/local-services';
import type { ProcessGroup } from '@concert-booking/devkit/process';
import { choosePeak, formatStep, measureRamp } from './calibration.js';
import { drillChartSpec } from './chart.js';
import type { Calibration, DrillRecord, ScenarioName, ScenarioRecord, Scorecard } from './record.js';
import {
  capacityPhases,
  capacityStack,
  INCIDENT_POOL,
  incidentPhases,
  incidentStack,
  policyFor,
  runPhases,
  SCENARIOS,
  type DrillSettings,
} from './scenarios.js';
import { onSaleChartSpec, onSaleReportLines, onSaleScorecard, runOnSale } from './onsale.js';
import { scorecard } from './scorecard.js';
import { DrillStack } from './stack.js';
import { ClusterStack } from './cluster-stack.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface DrillOptions {
  scenarios: readonly ScenarioName[];
  /** In the local cluster (booking pods, load Jobs) instead of the local stack (capacity only). */
  cluster: boolean;
  maxWorkers: number;
  workerCpuLimit: number;
  thresholdSeconds: number;
  out: string;
  log: (line: string) => void;
}

export const DEFAULT_DRILL = {
  maxWorkers: 4,
  // A quarter core per worker: four workers fit beside Postgres, Prometheus and the load on 2 cores.
  workerCpuLimit: 0.25,
  thresholdSeconds: 0.25,
} as const;

/** The incident's peak: enough clients to hold every connection of the default pool busy with scans. */
export const INCIDENT_PEAK_VUS = 4 * INCIDENT_POOL;

async function withStack<S extends { processes: ProcessGroup; stop(): Promise<number[]> }, T>(
  stack: S,
  leftRunning: number[],
  work: (stack: S) => Promise<T>,
): Promise<T> {
  // Ctrl-C or SIGTERM: the stack's processes stop and its database is dropped before the drill exits.
  const release = stack.processes.interruptible(async () => void (await stack.stop()));
  try {
    return await work(stack);
  } finally {
    release();
    leftRunning.push(...(await stack.stop()));
  }
}

/** One worker capped at the drill's cores, driven up the ramp; the peak chosen from it (capacity, onsale). */
async function calibrateOneWorker(settings: DrillSettings, record: DrillRecord): Promise<Calibration> {
  const { log } = settings;
  // The pool of the calibration stack is sized for the ramp's top step; the scenario's stack for its peak.
  const probe = new DrillStack(capacityStack(settings, 64));
  const calibration: Calibration = await withStack(probe, record.leftRunning, async (stack) => {
    log(
      `calibration: one worker capped at ${settings.workerCpuLimit} cores, rising virtual users (seat map)`,
    );
    await stack.startService();
    const steps = await measureRamp(stack, settings.thresholdSeconds, log);
    return {
      workerCpuLimit: settings.workerCpuLimit,
      thresholdSeconds: settings.thresholdSeconds,
      maxWorkers: settings.maxWorkers,
      steps,
      choice: choosePeak(steps, settings.thresholdSeconds, settings.maxWorkers),
    };
  });
  record.calibration = calibration;
  return calibration;
}

async function runCapacity(
  settings: DrillSettings,
  record: DrillRecord,
): Promise<ScenarioRecord | undefined> {
  const { log } = settings;
  const calibration = await calibrateOneWorker(settings, record);
  record.calibration = calibration;
  const { choice } = calibration;
  if (!choice.ok) {
    log(`calibration failed: ${choice.reason}`);
    return undefined;
  }
  log(
    `calibration: peak ${choice.peakVus} virtual users (one worker p90 ${choice.p90AtPeakSeconds}s; ` +
      `per worker at ${settings.maxWorkers} workers ${choice.p90PerWorkerAtMaxSeconds}s; threshold ${settings.thresholdSeconds}s)`,
  );
  const stack = new DrillStack(capacityStack(settings, choice.peakVus));
  return withStack(stack, record.leftRunning, async () => {
    await stack.startService();
    await stack.startMonitoring();
    return runPhases('capacity', stack, capacityPhases(settings, choice.peakVus), settings, {
      peakVus: choice.peakVus,
      poolMax: stack.options.poolMax,
      cache: false,
      slowQuery: false,
    });
  });
}

/** Pool of each booking pod in the cluster drill: above any pod's concurrency in the ramp or the peak. */
const CLUSTER_DB_POOL = 48;
/**
 * The cluster's p90 is noisier (pods behind kube-proxy, a load Job beside them): the peak needs longer to
 * see 15 s of recovery, so pods are given back after 45 s without an alert instead of 20.
 */
const CLUSTER_POLICY = { stabilizationSeconds: 45 };

/**
 * The capacity scenario in the local cluster: the ramp against one booking pod (its AlertScaler paused, so
 * the ramp's own p90 scales nothing), then, once the ramp's alert has resolved, the phases with the scaler on.
 */
async function runClusterCapacity(
  local: DrillSettings,
  record: DrillRecord,
): Promise<ScenarioRecord | undefined> {
  const settings: DrillSettings = { ...local, policy: CLUSTER_POLICY };
  const { log } = settings;
  const stack = new ClusterStack({
    thresholdSeconds: settings.thresholdSeconds,
    podCpuLimit: settings.workerCpuLimit,
    dbPoolMax: CLUSTER_DB_POOL,
    policy: policyFor(settings),
    log,
  });
  return withStack(stack, record.leftRunning, async () => {
    await stack.start();
    await stack.pauseScaler(true);
    log(
      `calibration: one booking pod limited to ${settings.workerCpuLimit} cores, rising virtual users (load Jobs)`,
    );
    const steps = await measureRamp(stack, settings.thresholdSeconds, log);
    const choice = choosePeak(steps, settings.thresholdSeconds, settings.maxWorkers);
    record.calibration = {
      workerCpuLimit: settings.workerCpuLimit,
      thresholdSeconds: settings.thresholdSeconds,
      maxWorkers: settings.maxWorkers,
      steps,
      choice,
    };
    if (!choice.ok) {
      log(`calibration failed: ${choice.reason}`);
      return undefined;
    }
    log(`calibration: peak ${choice.peakVus} virtual users; waiting for the ramp's alert to resolve`);
    await stack.quiet();
    await stack.pauseScaler(false);
    return runPhases('capacity', stack, capacityPhases(settings, choice.peakVus), settings, {
      target: 'cluster',
      peakVus: choice.peakVus,
      poolMax: CLUSTER_DB_POOL,
      cache: false,
      slowQuery: false,
    });
  });
}

async function runIncident(settings: DrillSettings, record: DrillRecord): Promise<ScenarioRecord> {
  const stack = new DrillStack(incidentStack(settings));
  return withStack(stack, record.leftRunning, async () => {
    await stack.startService();
    await stack.startMonitoring();
    return runPhases('incident', stack, incidentPhases(settings, INCIDENT_PEAK_VUS, stack), settings, {
      peakVus: INCIDENT_PEAK_VUS,
      poolMax: stack.options.poolMax,
      cache: false,
      slowQuery: true,
    });
  });
}

export async function runDrill(options: DrillOptions): Promise<DrillRecord> {
  const { log } = options;
  const record: DrillRecord = {
    startedAt: new Date().toISOString(),
    machine: {
      cores: os.cpus().length,
      loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
    },
    scenarios: [],
    scorecard: {},
    leftRunning: [],
  };
  log(`machine: ${record.machine.cores} cores, load average ${record.machine.loadAverageAtStart.join(' ')}`);
  const { DATABASE_URL, REDIS_URL } = localServices();
  const settings: DrillSettings = {
    thresholdSeconds: options.thresholdSeconds,
    workerCpuLimit: options.workerCpuLimit,
    maxWorkers: options.maxWorkers,
    databaseUrl: DATABASE_URL,
    redisUrl: REDIS_URL,
    log,
  };
  try {
    for (const name of options.scenarios) {
      if (name === 'onsale') {
        const run = await runOnSale(settings, record.leftRunning, {
          calibrate: () => calibrateOneWorker(settings, record),
          withStack,
        });
        if (run) record.onsale = { run, scorecard: onSaleScorecard(run, settings.maxWorkers) };
        continue;
      }
      const scenario = options.cluster
        ? await runClusterCapacity(settings, record)
        : name === 'capacity'
          ? await runCapacity(settings, record)
          : await runIncident(settings, record);
      if (!scenario) continue;
      record.scenarios.push(scenario);
      record.scorecard[name] = scorecard(scenario);
    }
  } finally {
    await writeOutputs(record, options);
  }
  for (const line of reportLines(record)) log(line);
  return record;
}

async function writeOutputs(record: DrillRecord, options: DrillOptions): Promise<void> {
  const base = resolve(ROOT, options.out);
  mkdirSync(dirname(base), { recursive: true });
  writeFileSync(`${base}.json`, `${JSON.stringify(record, null, 2)}\n`);
  // vega only now: `npm run drill -- --help` stays quick.
  const { renderSvg } = await import('@concert-booking/load/report');
  for (const scenario of record.scenarios) {
    const what = options.cluster ? 'booking pods limited to' : 'workers capped at';
    const title = `drill "${scenario.name}"${options.cluster ? ' in the local cluster' : ''}: ${scenario.settings.peakVus} VUs at the peak, ${what} ${options.workerCpuLimit} cores, at most ${options.maxWorkers}`;
    writeFileSync(`${base}-${scenario.name}.svg`, await renderSvg(drillChartSpec(scenario, title)));
  }
  if (record.onsale) {
    const title = `drill "onsale": ${record.onsale.scorecard.users} users, workers capped at ${options.workerCpuLimit} cores, ${options.maxWorkers} held for the sale`;
    writeFileSync(`${base}-onsale.svg`, await renderSvg(onSaleChartSpec(record.onsale.run, title)));
  }
  const charts = [...record.scenarios.map((s) => s.name), ...(record.onsale ? ['onsale'] : [])];
  options.log(`wrote ${options.out}.json${charts.map((name) => ` ${options.out}-${name}.svg`).join('')}`);
}

const FIELDS: (keyof Scorecard)[] = [
  'fired',
  'detectSeconds',
  'firstScaleSeconds',
  'recovered',
  'recoverSeconds',
  'resolvedDuringPeak',
  'maxWorkers',
  'podsReadySeconds',
  'scaleDownAfterStabilization',
  'scaledBackToMin',
  'scaleUps',
  'scaleUpsWhileSaturated',
  'heldForSaturation',
];

/** The calibration and the scorecard as tables. */
export function reportLines(record: DrillRecord): string[] {
  const lines: string[] = [];
  if (record.calibration) {
    const c = record.calibration;
    lines.push(
      '',
      `calibration (one worker capped at ${c.workerCpuLimit} cores, threshold ${c.thresholdSeconds}s)`,
    );
    lines.push(...c.steps.map(formatStep));
    lines.push(c.choice.ok ? `-> peak ${c.choice.peakVus} virtual users` : `-> failed: ${c.choice.reason}`);
  }
  const names = Object.keys(record.scorecard) as ScenarioName[];
  if (names.length > 0) lines.push('', `scorecard${names.map((n) => n.padStart(12)).join('')}`);
  for (const field of names.length > 0 ? FIELDS : []) {
    const cells = names.map((n) => String(record.scorecard[n]![field] ?? '-').padStart(12));
    lines.push(`${field.padEnd(28)}${cells.join('')}`);
  }
  if (record.onsale) lines.push(...onSaleReportLines(record.onsale.scorecard));
  lines.push(
    '',
    record.leftRunning.length === 0
      ? 'all processes stopped'
      : `still running: ${record.leftRunning.join(' ')}`,
  );
  return lines;
}

export const COMMAND: CommandLine<{
  scenario: { type: 'string'; default: string };
  'max-workers': { type: 'string'; default: string };
  'worker-cpu': { type: 'string'; default: string };
  threshold: { type: 'string'; default: string };
  out: { type: 'string' };
  cluster: { type: 'boolean'; default: false };
}> = {
  name: 'npm run drill --',
  usage: `[--scenario capacity|incident|onsale|all] [--cluster] [--max-workers ${DEFAULT_DRILL.maxWorkers}] [--worker-cpu ${DEFAULT_DRILL.workerCpuLimit}]
       [--threshold ${DEFAULT_DRILL.thresholdSeconds}] [--out reports/drill/drill-<time>]
  Replays the incident with real Postgres, Redis, Prometheus, Alertmanager, the service and the controller.
  --scenario     capacity (more workers help), incident (the database is the bottleneck), all (default: both),
                 or onsale (a scheduled sale: pre-queue, pre-scaling, admission at the measured capacity)
  --cluster      in the local cluster (npm run cluster; root): the bundle deployed by docs/deploy.md, booking
                 pods limited to --worker-cpu cores, load Jobs; the capacity scenario only
  --max-workers  the AlertScaler's maxReplicas; --worker-cpu: cores per worker (a CFS quota, like a pod limit)
  --threshold    the p90 alert's threshold in seconds`,
  options: {
    scenario: { type: 'string', default: 'all' },
    'max-workers': { type: 'string', default: String(DEFAULT_DRILL.maxWorkers) },
    'worker-cpu': { type: 'string', default: String(DEFAULT_DRILL.workerCpuLimit) },
    threshold: { type: 'string', default: String(DEFAULT_DRILL.thresholdSeconds) },
    out: { type: 'string' },
    cluster: { type: 'boolean', default: false },
  },
};

export function parseDrillArgs(argv: string[], now = new Date()): Omit<DrillOptions, 'log'> {
  const { values } = parseCommandLine(COMMAND, argv);
  const scenario = values.scenario;
  if (scenario !== 'all' && scenario !== 'onsale' && !SCENARIOS.includes(scenario as ScenarioName))
    throw new UsageError(`--scenario must be capacity, incident, onsale or all, got "${scenario}"`);
  if (values.cluster && (scenario === 'incident' || scenario === 'onsale'))
    throw new UsageError(
      '--cluster runs the capacity scenario only (the incident and the onsale need the local stack)',
    );
  return {
    cluster: values.cluster,
    scenarios: values.cluster ? ['capacity'] : scenario === 'all' ? SCENARIOS : [scenario as ScenarioName],
    maxWorkers: numberFlag('max-workers', values['max-workers'], {
      integer: true,
      min: 1,
      exclusiveMin: false,
    }),
    workerCpuLimit: numberFlag('worker-cpu', values['worker-cpu']),
    thresholdSeconds: numberFlag('threshold', values.threshold),
    out: values.out ?? `reports/drill/drill-${now.toISOString().replace(/[:.]/g, '-')}`,
  };
}

/** Every scenario run has a scorecard and nothing was left running. */
const succeeded = (record: DrillRecord, options: Omit<DrillOptions, 'log'>) =>
  record.leftRunning.length === 0 &&
  options.scenarios.every((name) => (name === 'onsale' ? record.onsale : record.scorecard[name]));

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  runMain(COMMAND, async () => {
    const options = parseDrillArgs(process.argv.slice(2));
    // Stages, timeline and scorecard as they come, on stderr; the record is in <out>.json.
    const record = await runDrill({ ...options, log: (line) => console.error(line) });
    return succeeded(record, options) ? 0 : 1;
  });
}
