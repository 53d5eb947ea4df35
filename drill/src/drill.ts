/**
 * `npm run drill -- [--cache off|on] [--max-workers 3] [--vus 24] [--peak-seconds 70] [--out reports/drill/<stamp>]`
 *
 * The incident on one machine: Postgres and Redis (scripts/services.sh), the booking service in local cluster mode
 * with one worker, Prometheus and Alertmanager configured by monitoring/src with short durations, the controller
 * in MODE=local against the service's worker pool, and the load runner's seat-map scenario. Prints a timeline,
 * writes <out>.json and <out>.svg, and stops everything it started (also on Ctrl-C or failure).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { runLoad } from '../../load/src/run.js';
import { renderSvg } from '../../load/src/report.js';
import { writeMonitoringFiles } from '../../monitoring/src/render.js';
import { createTestDatabase, type TestDatabase } from '../../test-support/databases.js';
import { localServices } from '../../test-support/local-services.js';
import { spawnService } from '../../test-support/process.js';
import { freePort, waitFor } from '../../devkit/src/wait.js';
import type { DrillRecord, Sample, ScaleEvent } from './analysis.js';
import { drillChartSpec } from './chart.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ALERT = 'BookingHighP90Latency';
const NAMESPACE = 'drill';
export const PEAK_STAGE = 'peak';

export interface DrillOptions {
  cache: boolean;
  maxWorkers: number;
  /** Closed-model virtual users of the peak stage. */
  vus: number;
  peakSeconds: number;
  thresholdSeconds: number;
  /** Catalog size: seats per timeslot make each seat map heavy (the incident's slow query). */
  seatsPerTimeslot: number;
  /** Postgres connections per worker (the service's default: 10). */
  dbPoolMax: number;
  out: string;
  log: (line: string) => void;
}

export const DEFAULT_DRILL: Omit<DrillOptions, 'out' | 'log'> = {
  cache: false,
  maxWorkers: 3,
  vus: 24,
  peakSeconds: 70,
  // 0.25 s: well above one worker's p90 at light load, well below its p90 at the peak on a loaded 2-core machine.
  thresholdSeconds: 0.25,
  seatsPerTimeslot: 2000,
  dbPoolMax: 10,
};

/** The policy file's numbers: short, so that a whole episode fits in about two minutes. */
const POLICY = { minReplicas: 1, upCooldownSeconds: 12, stabilizationSeconds: 15, downCooldownSeconds: 8 };

/** Every process the drill started; stopped in reverse order, with their children (the service's workers). */
class Processes {
  private readonly children: { name: string; child: ChildProcess }[] = [];
  private readonly seen = new Set<number>();

  add(name: string, child: ChildProcess): ChildProcess {
    this.children.push({ name, child });
    if (child.pid) this.seen.add(child.pid);
    return child;
  }

  /** Remembers descendants too (cluster workers), so that stopAll can check they are gone. */
  noteDescendants(): void {
    for (const pid of descendants([...this.seen])) this.seen.add(pid);
  }

  async stopAll(): Promise<number[]> {
    this.noteDescendants();
    for (const { child } of this.children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await waitFor(async () => [...this.seen].every((pid) => !alive(pid)), 10_000).catch(() => undefined);
    const left = [...this.seen].filter(alive);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    return left;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Children of `pids`, transitively, from `ps`. */
function descendants(pids: number[]): number[] {
  const parentOf = new Map<number, number>();
  for (const line of execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' }).split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (pid && ppid) parentOf.set(pid, ppid);
  }
  const found = new Set(pids);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parentOf) {
      if (found.has(ppid) && !found.has(pid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  return [...found].filter((pid) => !pids.includes(pid));
}

function spawnLogged(processes: Processes, name: string, command: string, args: string[], env = {}) {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  processes.add(name, child);
  return { child, output: () => output };
}

async function ready(url: string, child: ChildProcess, output: () => string, what: string) {
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`${what} exited:\n${output().slice(-3000)}`);
      return (await fetch(url)).ok;
    },
    60_000,
    what,
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\n${output().slice(-3000)}`);
  });
}

async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(3000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

async function promScalar(base: string, query: string): Promise<number | null> {
  const body = await getJson<{ data: { result: { value: [number, string] }[] } }>(
    `${base}/api/v1/query?query=${encodeURIComponent(query)}`,
  );
  const value = Number(body.data.result[0]?.value[1]);
  return Number.isFinite(value) ? value : null;
}

/** A receiver for the people's routes (Slack, email): the drill only counts what they would have received. */
async function startPeopleSink(log: (line: string) => void): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const { status, commonLabels } = JSON.parse(body) as {
        status: string;
        commonLabels: Record<string, string>;
      };
      log(`  people ${req.url?.slice(1)}: ${commonLabels.alertname} ${status}`);
      res.writeHead(200).end();
    });
  });
  const port = await freePort();
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return { server, url: `http://127.0.0.1:${port}` };
}

export async function runDrill(options: DrillOptions): Promise<DrillRecord> {
  const { log } = options;
  const started = Date.now();
  const elapsed = () => (Date.now() - started) / 1000;
  const stamp = (line: string) => log(`${elapsed().toFixed(0).padStart(4)}s ${line}`);
  const processes = new Processes();
  const dir = mkdtempSync(join(tmpdir(), 'drill-'));
  let database: TestDatabase | undefined;
  let people: Server | undefined;
  const onSignal = () => stamp('interrupted: stopping everything');
  process.once('SIGINT', onSignal);
  const record: DrillRecord = {
    startedAt: new Date(started).toISOString(),
    options: {
      cache: options.cache,
      maxWorkers: options.maxWorkers,
      vus: options.vus,
      peakSeconds: options.peakSeconds,
      seatsPerTimeslot: options.seatsPerTimeslot,
      dbPoolMax: options.dbPoolMax,
      thresholdSeconds: options.thresholdSeconds,
    },
    policy: {
      minReplicas: POLICY.minReplicas,
      maxReplicas: options.maxWorkers,
      upCooldownSeconds: POLICY.upCooldownSeconds,
      stabilizationSeconds: POLICY.stabilizationSeconds,
    },
    thresholdSeconds: options.thresholdSeconds,
    samples: [],
    scaleEvents: [],
    leftRunning: [],
  };
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  try {
    stamp('starting Postgres and Redis (scripts/services.sh up)');
    const { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl } = localServices();
    database = await createTestDatabase(
      { concerts: 20, timeslotsPerConcert: 5, seatsPerTimeslot: options.seatsPerTimeslot },
      databaseUrl,
    );
    const [servicePort, adminPort, promPort, amPort, controllerPort] = await Promise.all(
      Array.from({ length: 5 }, () => freePort()),
    );
    const adminToken = 'drill-admin-token';
    const webhookToken = 'drill-webhook-token';
    writeFileSync(join(dir, 'admin-token'), adminToken);
    writeFileSync(join(dir, 'webhook-token'), webhookToken);
    const serviceUrl = `http://127.0.0.1:${servicePort}`;
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    const promUrl = `http://127.0.0.1:${promPort}`;
    const amUrl = `http://127.0.0.1:${amPort}`;
    const controllerUrl = `http://127.0.0.1:${controllerPort}`;

    stamp(`starting the service: 1 worker, seat-map cache ${options.cache ? 'on' : 'off'}`);
    const service = spawnService({
      PORT: String(servicePort),
      ADMIN_PORT: String(adminPort),
      ADMIN_TOKEN_FILE: join(dir, 'admin-token'),
      WORKERS: '1',
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      SEATMAP_CACHE_ENABLED: String(options.cache),
      DB_POOL_MAX: String(options.dbPoolMax),
      LOG_LEVEL: 'warn',
    });
    processes.add('service', service.child);
    await ready(`${serviceUrl}/readyz`, service.child, service.output, 'the service');

    const sink = await startPeopleSink(stamp);
    people = sink.server;
    const monitoring = writeMonitoringFiles(dir, {
      rules: {
        evaluationInterval: '1s',
        rateWindow: '10s',
        forDuration: '5s',
        p90ThresholdSeconds: options.thresholdSeconds,
      },
      alertmanager: {
        controllerWebhookUrl: `${controllerUrl}/alerts`,
        controllerWebhookTokenFile: join(dir, 'webhook-token'),
        controller: { groupWait: '1s', groupInterval: '2s', repeatInterval: '1m' },
        people: { groupWait: '1s', groupInterval: '10s', repeatInterval: '1h' },
        pageRepeatInterval: '1h',
        resolveTimeout: '1m',
      },
      localReceiversBaseUrl: sink.url,
    });
    const target = (job: string, address: string) => ({
      job_name: job,
      static_configs: [{ targets: [address], labels: { namespace: NAMESPACE } }],
    });
    writeFileSync(
      join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '1s', evaluation_interval: '1s' },
        rule_files: [monitoring.rulesFile],
        alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
        scrape_configs: [
          target('booking-service', `127.0.0.1:${adminPort}`),
          target('alertscaler', `127.0.0.1:${controllerPort}`),
        ],
      }),
    );
    stamp('starting Prometheus (scrape 1s, rules every 1s, alert for 5s) and Alertmanager');
    const am = spawnLogged(processes, 'alertmanager', '/usr/bin/prometheus-alertmanager', [
      `--config.file=${monitoring.alertmanagerFile}`,
      `--storage.path=${join(dir, 'alertmanager')}`,
      `--web.listen-address=127.0.0.1:${amPort}`,
      '--cluster.listen-address=',
    ]);
    const prom = spawnLogged(processes, 'prometheus', '/usr/bin/prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'prometheus')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
    ]);
    await ready(`${amUrl}/-/ready`, am.child, am.output, 'Alertmanager');
    await ready(`${promUrl}/-/ready`, prom.child, prom.output, 'Prometheus');

    const scalerFile = join(dir, 'alertscalers.yml');
    writeFileSync(
      scalerFile,
      stringify({
        apiVersion: 'autoscaling.concert-booking.dev/v1alpha1',
        kind: 'AlertScaler',
        metadata: { name: 'booking-service', namespace: NAMESPACE },
        spec: {
          scaleTargetRef: { apiVersion: 'local', kind: 'WorkerPool', name: 'booking-service' },
          alerts: [{ alertName: ALERT, matchers: [{ name: 'namespace', op: '=', value: NAMESPACE }] }],
          minReplicas: POLICY.minReplicas,
          maxReplicas: options.maxWorkers,
          scaleUp: { step: { type: 'Pods', value: 1 }, cooldownSeconds: POLICY.upCooldownSeconds },
          scaleDown: {
            step: { type: 'Pods', value: 1 },
            stabilizationWindowSeconds: POLICY.stabilizationSeconds,
            cooldownSeconds: POLICY.downCooldownSeconds,
          },
        },
      }),
    );
    stamp(`starting the controller (MODE=local, workers ${POLICY.minReplicas}..${options.maxWorkers})`);
    const controller = spawnLogged(
      processes,
      'controller',
      process.execPath,
      ['--import', 'tsx', 'controller/src/main.ts'],
      {
        MODE: 'local',
        PORT: String(controllerPort),
        WEBHOOK_TOKEN_FILE: join(dir, 'webhook-token'),
        ALERTSCALERS_FILE: scalerFile,
        WORKERS_ADMIN_URL: adminUrl,
        WORKERS_ADMIN_TOKEN_FILE: join(dir, 'admin-token'),
        RESYNC_INTERVAL_SECONDS: '2',
        ALERTMANAGER_URL: amUrl,
        ALERTMANAGER_RESYNC_INTERVAL_SECONDS: '5',
      },
    );
    await ready(`${controllerUrl}/readyz`, controller.child, controller.output, 'the controller');
    processes.noteDescendants();

    // Scale decisions: the controller logs every applied one (pino JSON, one object a line).
    let readUpTo = 0;
    const newScaleEvents = (t: number): ScaleEvent[] => {
      const text = controller.output();
      const lines = text.slice(readUpTo, text.lastIndexOf('\n') + 1);
      readUpTo += lines.length;
      return lines.split('\n').flatMap((line) => {
        if (!line.includes('"decision"')) return [];
        const { decision, msg } = JSON.parse(line) as {
          decision?: { currentReplicas: number; desiredReplicas: number; direction?: 'Up' | 'Down' };
          msg: string;
        };
        if (!decision?.direction) return [];
        return [
          {
            t,
            from: decision.currentReplicas,
            to: decision.desiredReplicas,
            direction: decision.direction,
            message: msg,
          },
        ];
      });
    };

    let stage = 'start';
    let vus = 0;
    const sample = async (): Promise<Sample> => {
      const t = Math.round(elapsed() * 10) / 10;
      const [p90, rate, rules, alerts, workers] = await Promise.all([
        promScalar(
          promUrl,
          `max(namespace_quantile:http_request_duration_seconds:histogram_quantile{quantile="0.9"})`,
        ),
        promScalar(promUrl, 'sum(namespace:http_requests:rate10s)'),
        getJson<{ data: { alerts: { labels: { alertname: string }; state: Sample['ruleState'] }[] } }>(
          `${promUrl}/api/v1/alerts`,
        ),
        getJson<{ status: { state: string } }[]>(
          `${amUrl}/api/v2/alerts?active=true&silenced=false&inhibited=false&filter=${encodeURIComponent(`alertname="${ALERT}"`)}`,
        ),
        getJson<{ desired: number; running: number }>(`${adminUrl}/workers`, {
          authorization: `Bearer ${adminToken}`,
        }),
      ]);
      const states = rules.data.alerts.filter((a) => a.labels.alertname === ALERT).map((a) => a.state);
      const ruleState = states.includes('firing')
        ? 'firing'
        : states.includes('pending')
          ? 'pending'
          : 'inactive';
      return {
        t,
        stage,
        vus,
        p90,
        rate,
        ruleState,
        alertActive: alerts.length > 0,
        desiredWorkers: workers.desired,
        runningWorkers: workers.running,
      };
    };
    const fmt = (s: Sample) =>
      `${s.stage.padEnd(6)} ${String(s.vus).padStart(3)} VUs  p90 ${s.p90 === null ? '   -  ' : `${(s.p90 * 1000).toFixed(0).padStart(4)} ms`}` +
      `  ${(s.rate ?? 0).toFixed(0).padStart(4)} req/s  rule ${s.ruleState.padEnd(8)} alertmanager ${s.alertActive ? 'FIRING  ' : 'inactive'}` +
      `  workers ${s.runningWorkers}/${s.desiredWorkers}`;
    let sampling = true;
    const sampler = (async () => {
      let last = '';
      while (sampling && !abort.signal.aborted) {
        const s = await sample().catch(() => undefined);
        if (s) {
          record.samples.push(s);
          for (const event of newScaleEvents(s.t)) {
            record.scaleEvents.push(event);
            stamp(`SCALE ${event.direction.toUpperCase()} ${event.from} -> ${event.to}: ${event.message}`);
          }
          const line = fmt(s);
          const key = `${s.stage} ${s.ruleState} ${s.alertActive} ${s.desiredWorkers} ${s.runningWorkers}`;
          if (key !== last || Math.round(s.t) % 5 === 0) stamp(line);
          last = key;
        }
        await new Promise((done) => setTimeout(done, 1000));
      }
    })();

    const plan: { name: string; vus: number; seconds: number }[] = [
      { name: 'warm', vus: 2, seconds: 10 },
      { name: PEAK_STAGE, vus: options.vus, seconds: options.peakSeconds },
      { name: 'calm', vus: 2, seconds: 30 },
    ];
    for (const step of plan) {
      if (abort.signal.aborted) throw new Error('interrupted');
      stage = step.name;
      vus = step.vus;
      stamp(`load stage ${step.name}: ${step.vus} virtual users for ${step.seconds}s (seat-map)`);
      await runLoad({
        scenario: 'seat-map',
        baseUrl: serviceUrl,
        plans: [{ load: { model: 'closed', vus: step.vus }, durationMs: step.seconds * 1000 }],
        timeoutMs: 10_000,
        maxInFlight: 1000,
        strategy: 'atomic',
        thinkMs: 0,
        out: '',
      });
    }
    stage = 'idle';
    vus = 0;
    stamp(`load stopped; waiting for the pool to return to ${POLICY.minReplicas} worker(s)`);
    await waitFor(
      async () =>
        record.samples.at(-1)?.desiredWorkers === POLICY.minReplicas && !record.samples.at(-1)?.alertActive,
      60_000,
      'the scale-down',
    ).catch((error: unknown) => stamp(`${(error as Error).message}`));
    sampling = false;
    await sampler;
  } finally {
    stamp('stopping everything');
    people?.close();
    record.leftRunning = await processes.stopAll();
    await database?.drop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    process.removeListener('SIGINT', onSignal);
    stamp(
      record.leftRunning.length === 0
        ? 'all processes stopped'
        : `still running: ${record.leftRunning.join(' ')}`,
    );
    mkdirSync(dirname(resolve(ROOT, options.out)), { recursive: true });
    writeFileSync(resolve(ROOT, `${options.out}.json`), `${JSON.stringify(record, null, 2)}\n`);
    if (record.samples.length > 0) {
      const title = `incident drill: seat-map, cache ${options.cache ? 'on' : 'off'}, ${options.vus} VUs at peak, max ${options.maxWorkers} workers`;
      writeFileSync(resolve(ROOT, `${options.out}.svg`), await renderSvg(drillChartSpec(record, title)));
    }
    stamp(`wrote ${options.out}.json and ${options.out}.svg`);
  }
  return record;
}

export function parseDrillArgs(argv: string[], now = new Date()): Omit<DrillOptions, 'log'> {
  const { values } = parseArgs({
    args: argv,
    options: {
      cache: { type: 'string', default: DEFAULT_DRILL.cache ? 'on' : 'off' },
      'max-workers': { type: 'string', default: String(DEFAULT_DRILL.maxWorkers) },
      vus: { type: 'string', default: String(DEFAULT_DRILL.vus) },
      'peak-seconds': { type: 'string', default: String(DEFAULT_DRILL.peakSeconds) },
      threshold: { type: 'string', default: String(DEFAULT_DRILL.thresholdSeconds) },
      seats: { type: 'string', default: String(DEFAULT_DRILL.seatsPerTimeslot) },
      'db-pool-max': { type: 'string', default: String(DEFAULT_DRILL.dbPoolMax) },
      out: { type: 'string' },
    },
  });
  if (values.cache !== 'on' && values.cache !== 'off')
    throw new Error(`--cache must be on or off, got "${values.cache}"`);
  const number = (name: string, text: string, integer = true) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
      throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"`);
    return n;
  };
  return {
    ...DEFAULT_DRILL,
    cache: values.cache === 'on',
    maxWorkers: number('max-workers', values['max-workers']),
    vus: number('vus', values.vus),
    peakSeconds: number('peak-seconds', values['peak-seconds']),
    thresholdSeconds: number('threshold', values.threshold, false),
    seatsPerTimeslot: number('seats', values.seats),
    dbPoolMax: number('db-pool-max', values['db-pool-max']),
    out: values.out ?? `reports/drill/drill-${now.toISOString().replace(/[:.]/g, '-')}`,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  runDrill({ ...parseDrillArgs(process.argv.slice(2)), log: (line) => console.log(line) }).then(
    (record) => process.exit(record.leftRunning.length === 0 ? 0 : 1),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
