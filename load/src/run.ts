/**
 * `npm run load -- <scenario> [options]`: drives one scenario against a running service.
 *
 *   closed model: --stages 10,50,100 --stage-seconds 10   (concurrent virtual users per stage)
 *   open model:   --rate 200 --duration 30                (iterations started per second; --rate 100,200 for steps)
 *   --base-url http://127.0.0.1:8080  --out reports/seat-map  (writes <out>.json and <out>.svg)
 *   --timeout-ms 10000  --max-in-flight 1000  --strategy atomic (lock-counter)  --think-ms 1000 (booking-flow)
 *   --warm-up  (the scenario's unmeasured warm-up first: every seat map once, or 100 counter requests)
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LoadClient } from './client.js';
import { runStages, type Progress, type StagePlan } from './engine.js';
import { formatTable, writeReport, type RunReport } from './report.js';
import { SCENARIOS, type ScenarioOptions } from './scenarios.js';
import { loadLabel, parseStepList } from './stats.js';

export interface LoadSettings extends ScenarioOptions {
  scenario: string;
  baseUrl: string;
  plans: StagePlan[];
  timeoutMs: number;
  maxInFlight: number;
  out: string;
  /** Run the scenario's unmeasured warm-up before the first stage. */
  warmUp?: boolean;
}

function positive(name: string, text: string, orZero = false): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !orZero)) {
    throw new Error(`--${name} must be a ${orZero ? 'non-negative' : 'positive'} number, got "${text}"`);
  }
  return value;
}

/** The command line as settings; throws with a message naming the bad option. */
export function parseLoadArgs(argv: string[], now = new Date()): LoadSettings {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      stages: { type: 'string' },
      'stage-seconds': { type: 'string', default: '10' },
      rate: { type: 'string' },
      duration: { type: 'string', default: '30' },
      'base-url': { type: 'string', default: 'http://127.0.0.1:8080' },
      out: { type: 'string' },
      'timeout-ms': { type: 'string', default: '10000' },
      'max-in-flight': { type: 'string', default: '1000' },
      strategy: { type: 'string', default: 'atomic' },
      'think-ms': { type: 'string', default: '1000' },
      'warm-up': { type: 'boolean', default: false },
    },
  });
  const scenario = positionals[0];
  if (!scenario || !SCENARIOS[scenario]) {
    throw new Error(
      `usage: npm run load -- <${Object.keys(SCENARIOS).join('|')}> [options] (got "${scenario ?? ''}")`,
    );
  }
  if (values.stages && values.rate)
    throw new Error('--stages (closed model) and --rate (open model) exclude each other');
  const plans: StagePlan[] = values.rate
    ? parseStepList(values.rate).map((rate) => ({
        load: { model: 'open', rate },
        durationMs: positive('duration', values.duration) * 1000,
      }))
    : parseStepList(values.stages ?? '10,50,100').map((vus) => ({
        load: { model: 'closed', vus },
        durationMs: positive('stage-seconds', values['stage-seconds']) * 1000,
      }));
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return {
    scenario,
    baseUrl: values['base-url'],
    plans,
    timeoutMs: positive('timeout-ms', values['timeout-ms']),
    maxInFlight: positive('max-in-flight', values['max-in-flight']),
    strategy: values.strategy,
    thinkMs: positive('think-ms', values['think-ms'], true),
    out: values.out ?? `reports/${scenario}-${stamp}`,
    warmUp: values['warm-up'],
  };
}

/** The progress line: stage, elapsed, current rate and p90. */
export function progressLine(p: Progress): string {
  const p90 = Number.isNaN(p.p90Ms) ? '-' : `${p.p90Ms.toFixed(1)} ms`;
  return (
    `[stage ${p.stageIndex + 1}/${p.stageCount} ${loadLabel(p.load)}] ` +
    `${(p.elapsedMs / 1000).toFixed(0)}/${(p.durationMs / 1000).toFixed(0)} s  ` +
    `${p.requestsPerSecond.toFixed(0)} req/s  p90 ${p90}  errors ${p.errors}`
  );
}

export async function runLoad(
  settings: LoadSettings,
  series = settings.scenario,
  onProgress?: (p: Progress) => void,
  beforeStage?: (stageIndex: number) => Promise<void>,
  stop?: AbortSignal,
): Promise<RunReport> {
  const scenario = SCENARIOS[settings.scenario]!;
  const client = new LoadClient(settings.baseUrl, settings.timeoutMs);
  const startedAt = new Date().toISOString();
  try {
    const stages = await runStages(scenario, client, settings.plans, {
      ...settings,
      progressIntervalMs: 1000,
      onProgress,
      beforeStage,
      stop,
    });
    const { plans: _plans, out: _out, scenario: _scenario, baseUrl: _baseUrl, ...rest } = settings;
    return {
      series,
      scenario: settings.scenario,
      baseUrl: settings.baseUrl,
      startedAt,
      settings: rest,
      stages,
    };
  } finally {
    client.close();
  }
}

/** Prints progress on one rewritten line on a terminal, a line per update otherwise. */
export function printProgress(p: Progress): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${progressLine(p)}`);
  else process.stderr.write(`${progressLine(p)}\n`);
}

export async function main(argv: string[]): Promise<{ json: string; svg: string }> {
  const settings = parseLoadArgs(argv);
  const report = await runLoad(settings, settings.scenario, printProgress);
  if (process.stderr.isTTY) process.stderr.write('\n');
  console.log(formatTable(report));
  const paths = await writeReport(settings.out, [report], `${settings.scenario} against ${settings.baseUrl}`);
  console.log(`wrote ${paths.json} and ${paths.svg}`);
  return paths;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
