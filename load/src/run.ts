/**
 * `npm run load -- <scenario> [options]`: drives one scenario against a running service.
 *
 *   closed model: --stages 10,50,100 --stage-seconds 10   (concurrent virtual users per stage)
 *   open model:   --rate 200 --duration 30                (iterations started per second; --rate 100,200 for steps)
 *   --base-url http://127.0.0.1:8080  --out reports/seat-map  (writes <out>.json and <out>.svg)
 *   --timeout-ms 10000  --max-in-flight 1000  --strategy atomic (lock-counter)  --think-ms 1000 (booking-flow)
 *   --warm-up  (the scenario's unmeasured warm-up first: every seat map once, or 100 counter requests)
 *   --p90-ms, --max-failed-rate: thresholds per stage (default: the alerts' values); a breach exits 99, like k6
 *
 * `npm run load -- k6 <load/k6/script.ts> [-e NAME=VALUE]...`: runs a k6 script through the compatibility
 * layer (src/k6/), with P90_MS and MAX_FAILED_RATE from the alert rules unless given; k6's exit codes.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  loadTestThresholdEnv,
  loadTestThresholds,
  numberFlag,
  parseCommandLine,
  runMain,
  DEV_ISSUER_DIR,
  UsageError,
  type CommandLine,
} from '@concert-booking/lib';
import { LoadClient } from './client.js';
import { runStages, type Progress, type StagePlan } from './engine.js';
import type { RunReport } from './report.js';
import { SCENARIOS, type ScenarioOptions } from './scenarios.js';
import { loadLabel, parseStepList, thresholdBreaches, type LoadThresholds } from './stats.js';

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

/** Exit code of a run that breached a threshold: k6's. */
export const THRESHOLDS_FAILED = 99;

const defaults = loadTestThresholds();

const OPTIONS = {
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
  'issuer-dir': { type: 'string', default: DEV_ISSUER_DIR },
  'warm-up': { type: 'boolean', default: false },
  'p90-ms': { type: 'string', default: String(defaults.p90Ms) },
  'max-failed-rate': { type: 'string', default: String(defaults.maxFailedRate) },
} as const;

const USAGE = `<${Object.keys(SCENARIOS).join('|')}> [--stages 10,50,100] [--stage-seconds 10] | [--rate 200[,400]] [--duration 30]
         [--base-url http://127.0.0.1:8080] [--out reports/<scenario>-<time>] [--timeout-ms 10000] [--max-in-flight 1000]
         [--strategy atomic] [--think-ms 1000] [--issuer-dir ${DEV_ISSUER_DIR}] [--warm-up] [--p90-ms ${defaults.p90Ms}] [--max-failed-rate ${defaults.maxFailedRate}]
       npm run load -- k6 <load/k6/script.ts> [-e NAME=VALUE]...
  Closed model (--stages: virtual users per stage) or open model (--rate: arrivals per second); see load/README.md.
  A stage at or above --p90-ms or --max-failed-rate (defaults: the alerts' values) exits 99, like k6.
  k6: a k6 script through the compatibility layer; P90_MS and MAX_FAILED_RATE default to the alerts' values.`;

export const COMMAND: CommandLine<typeof OPTIONS> = {
  name: 'npm run load --',
  usage: USAGE,
  options: OPTIONS,
  allowPositionals: true,
};

const K6_OPTIONS = { env: { type: 'string', short: 'e', multiple: true } } as const;

/** `npm run load -- k6 ...`: the same usage text, its own flags. */
const K6_COMMAND: CommandLine<typeof K6_OPTIONS> = { ...COMMAND, options: K6_OPTIONS };

function stepList(name: string, text: string): number[] {
  try {
    return parseStepList(text);
  } catch (error) {
    throw new UsageError(`--${name}: ${(error as Error).message}`);
  }
}

/** The command line as settings and thresholds; throws UsageError naming the bad option. */
export function parseLoadArgs(
  argv: string[],
  now = new Date(),
): { settings: LoadSettings; thresholds: LoadThresholds } {
  const { values, positionals } = parseCommandLine(COMMAND, argv);
  const [scenario, extra] = positionals;
  if (!scenario || !SCENARIOS[scenario]) throw new UsageError(`unknown scenario "${scenario ?? ''}"`);
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  if (values.stages && values.rate)
    throw new UsageError('--stages (closed model) and --rate (open model) exclude each other');
  const plans: StagePlan[] = values.rate
    ? stepList('rate', values.rate).map((rate) => ({
        load: { model: 'open', rate },
        durationMs: numberFlag('duration', values.duration) * 1000,
      }))
    : stepList('stages', values.stages ?? '10,50,100').map((vus) => ({
        load: { model: 'closed', vus },
        durationMs: numberFlag('stage-seconds', values['stage-seconds']) * 1000,
      }));
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return {
    settings: {
      scenario,
      baseUrl: values['base-url'],
      plans,
      timeoutMs: numberFlag('timeout-ms', values['timeout-ms']),
      maxInFlight: numberFlag('max-in-flight', values['max-in-flight'], { integer: true }),
      strategy: values.strategy,
      thinkMs: numberFlag('think-ms', values['think-ms'], { exclusiveMin: false }),
      issuerDir: values['issuer-dir'],
      out: values.out ?? `reports/${scenario}-${stamp}`,
      warmUp: values['warm-up'],
    },
    thresholds: {
      p90Ms: numberFlag('p90-ms', values['p90-ms']),
      maxFailedRate: numberFlag('max-failed-rate', values['max-failed-rate'], { max: 1 }),
    },
  };
}

/** `k6 <script> -e NAME=VALUE...`: the script and its -e variables. */
export function parseK6Args(argv: string[]): { script: string; env: Record<string, string> } {
  const { values, positionals } = parseCommandLine(K6_COMMAND, argv);
  const [script, extra] = positionals;
  if (!script) throw new UsageError('k6: a script is needed, e.g. load/k6/seat-map.ts');
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  if (!existsSync(script)) throw new UsageError(`k6: no such script "${script}"`);
  const env: Record<string, string> = {};
  for (const pair of values.env ?? []) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(pair);
    if (!match) throw new UsageError(`-e must be NAME=VALUE, got "${pair}"`);
    env[match[1]!] = match[2]!;
  }
  return { script, env };
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

/** The native runner: tables, report files, thresholds judged per stage. */
async function runScenarioCommand(argv: string[]): Promise<number> {
  const { settings, thresholds } = parseLoadArgs(argv);
  const report = await runLoad(settings, settings.scenario, printProgress);
  if (process.stderr.isTTY) process.stderr.write('\n');
  const { formatTable, writeReport } = await import('./report.js');
  console.log(formatTable(report));
  const paths = await writeReport(settings.out, [report], `${settings.scenario} against ${settings.baseUrl}`);
  console.log(`wrote ${paths.json} and ${paths.svg}`);
  const breaches = thresholdBreaches(report.stages, thresholds);
  for (const breach of breaches) console.error(`threshold failed: ${breach}`);
  return breaches.length > 0 ? THRESHOLDS_FAILED : 0;
}

/** A k6 script through the compatibility layer, with the thresholds' values from the alert rules by default. */
async function runK6Command(argv: string[]): Promise<number> {
  const { script, env } = parseK6Args(argv);
  const { runK6Script } = await import('./k6/runner.js');
  const result = await runK6Script({
    script,
    env: k6Environment(process.env, env),
    log: (line) => process.stderr.write(`${line}\n`),
    stdout: (text) => process.stdout.write(text),
  });
  return result.exitCode;
}

/** The scripts' __ENV: the alerts' threshold values, then the system environment and -e on top, like k6. */
export function k6Environment(
  system: Record<string, string | undefined>,
  flags: Record<string, string>,
): Record<string, string> {
  const defined = Object.entries(system).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return { ...loadTestThresholdEnv(), ...Object.fromEntries(defined), ...flags };
}

/** Both forms of `npm run load`; resolves with the exit code. */
export function main(argv: string[]): Promise<number> {
  return argv[0] === 'k6' ? runK6Command(argv.slice(1)) : runScenarioCommand(argv);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  runMain(COMMAND, () => main(process.argv.slice(2)));
}
