/**
 * The local stack of one drill scenario, started through the process harness: a database of its own on the
 * loopback Postgres (scripts/services.sh), the booking service in cluster mode (capped workers, admin port),
 * then Prometheus and Alertmanager configured by monitoring/src with short durations, a receiver standing in
 * for Slack and email, and the controller in MODE=local with the booking AlertScaler against the worker pool.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  alertScalerSpecSchema,
  API_VERSION,
  bookingAlertScalerSpec,
  KIND,
} from '@concert-booking/controller/api';
import { createScratchDatabase, type ScratchDatabase } from '@concert-booking/devkit/databases';
import { ProcessGroup, runProcess } from '@concert-booking/devkit/process';
import {
  alertmanagerProcess,
  controllerProcess,
  prometheusProcess,
  seedProcess,
  serviceProcess,
  type CatalogVolume,
} from '@concert-booking/devkit/programs';
import { freePort } from '@concert-booking/devkit/wait';
import { runLoad } from '@concert-booking/load/run';
import { prometheusConfig } from '@concert-booking/monitoring/prometheus';
import { writeMonitoringFiles } from '@concert-booking/monitoring/render';
import { seconds } from '@concert-booking/monitoring/rules';

export const NAMESPACE = 'drill';

export interface Policy {
  minReplicas: number;
  maxReplicas: number;
  upCooldownSeconds: number;
  stabilizationSeconds: number;
  downCooldownSeconds: number;
}

export interface StackOptions {
  catalog: CatalogVolume;
  /** Drop the seat-map index: the incident document's slow query (a full scan of the seats table). */
  slowQuery: boolean;
  cache: boolean;
  poolMax: number;
  workerCpuLimit: number;
  thresholdSeconds: number;
  policy: Policy;
  databaseUrl: string;
  redisUrl: string;
  /** The people's receivers (Slack, email stand-in) log here. */
  log: (line: string) => void;
  /** More of the service's environment, given the stack's Prometheus URL (known before the service starts). */
  serviceEnv?: (promUrl: string) => Record<string, string>;
  /** OnSale objects for the controller (ONSALES_FILE), made when the controller starts. */
  onSales?: () => Record<string, unknown>[];
}

export interface WorkersStatus {
  desired: number;
  running: number;
  listening: number;
  cpuLimit: number | null;
}

/** The parts of the AlertScaler the drill reads (the controller's GET /alertscalers in local mode). */
export interface ScalerView {
  status: {
    currentReplicas?: number;
    desiredReplicas?: number;
    lastScaleTime?: string;
    lastScaleDirection?: 'Up' | 'Down';
    lastFiringTime?: string;
    firingAlerts: { alertName: string; role: string }[];
    conditions: { type: string; status: string; reason: string; message: string }[];
  };
}

export interface ControllerEvent {
  time: string;
  type: string;
  reason: string;
  message: string;
}

/** One closed-model load step of the seat-map scenario, as the clients saw it. */
export interface LoadResult {
  requestsPerSecond: number;
  p90Ms: number;
}

export interface LoadStep {
  vus: number;
  /** The longest it runs; `stop` ends it earlier. */
  seconds: number;
  /** The scenario's unmeasured warm-up first (every seat map once). */
  warmUp?: boolean;
}

/**
 * What the drill drives and reads, wherever the bundle runs: the local stack below (worker pool) or the local
 * cluster (drill/src/cluster-stack.ts: Deployment, the cluster's Prometheus and Alertmanager).
 */
export interface DrillTarget {
  /** The seat-map load, closed model. */
  load(step: LoadStep, stop?: AbortSignal): Promise<LoadResult>;
  /** Replicas the scaler asked for and those running (ready). */
  workers(): Promise<WorkersStatus>;
  /** The service's own metrics text (every worker or pod). */
  serviceMetrics(): Promise<string>;
  scaler(): Promise<{ scaler: ScalerView; events: ControllerEvent[] }>;
  promQuery(query: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Alert names active in Alertmanager (what the controller and the people are told about). */
  activeAlerts(): Promise<string[]>;
}

const ADMIN_TOKEN = 'drill-admin-token';
const WEBHOOK_TOKEN = 'drill-webhook-token';
/** The rule durations, short so that a whole episode fits in about a minute. */
export const RULE_TIMING = {
  evaluationInterval: '1s',
  rateWindow: '10s',
  forDuration: '5s',
  // Shorter than the p90 alert's window plus `for`: the guard is in place before the first scale-up is due.
  poolWaitingFor: '3s',
};

/** Alertmanager's route to the controller: at once, and a resolution within seconds. */
export const CONTROLLER_ROUTE_TIMING = { groupWait: '1s', groupInterval: '2s', repeatInterval: '1m' };

export async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(3000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

/** A receiver for the people's routes: the drill only logs what Slack and email would have received. */
async function startPeopleSink(log: (line: string) => void): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const { status, commonLabels } = JSON.parse(body) as {
        status: string;
        commonLabels: Record<string, string>;
      };
      log(`people ${req.url?.slice(1)}: ${commonLabels.alertname} ${status}`);
      res.writeHead(200).end();
    });
  });
  const port = await freePort();
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return { server, url: `http://127.0.0.1:${port}` };
}

/** An instant query of a Prometheus' HTTP API. */
export async function promQuery(
  promUrl: string,
  query: string,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const body = await getJson<{
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  }>(`${promUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
  return body.data.result;
}

/** Alert names active (not silenced, not inhibited) in an Alertmanager. */
export async function activeAlerts(amUrl: string): Promise<string[]> {
  const alerts = await getJson<{ labels: { alertname: string } }[]>(
    `${amUrl}/api/v2/alerts?active=true&silenced=false&inhibited=false`,
  );
  return alerts.map((a) => a.labels.alertname);
}

export class DrillStack implements DrillTarget {
  readonly processes = new ProcessGroup();
  readonly dir = mkdtempSync(join(tmpdir(), 'drill-'));
  serviceUrl = '';
  adminUrl = '';
  promUrl = '';
  amUrl = '';
  controllerUrl = '';
  private database: ScratchDatabase | undefined;
  private people: Server | undefined;

  constructor(readonly options: StackOptions) {}

  /** The database and the service: enough to calibrate, before anything watches it. */
  async startService(): Promise<void> {
    const o = this.options;
    this.database = await createScratchDatabase(o.databaseUrl);
    await runProcess(seedProcess(this.database.url, o.catalog), this.processes);
    if (o.slowQuery) {
      await this.database.query(
        'alter table seats drop constraint if exists seats_timeslot_number_key; analyze seats',
      );
    }
    const [servicePort, adminPort, promPort] = await Promise.all([freePort(), freePort(), freePort()]);
    this.serviceUrl = `http://127.0.0.1:${servicePort}`;
    this.promUrl = `http://127.0.0.1:${promPort}`;
    this.adminUrl = `http://127.0.0.1:${adminPort}`;
    writeFileSync(join(this.dir, 'admin-token'), ADMIN_TOKEN);
    writeFileSync(join(this.dir, 'webhook-token'), WEBHOOK_TOKEN);
    await this.processes.start(
      serviceProcess({
        PORT: String(servicePort),
        ADMIN_PORT: String(adminPort),
        ADMIN_TOKEN_FILE: join(this.dir, 'admin-token'),
        WORKERS: '1',
        WORKER_CPU_LIMIT: String(o.workerCpuLimit),
        DATABASE_URL: this.database.url,
        REDIS_URL: o.redisUrl,
        SEATMAP_CACHE_ENABLED: String(o.cache),
        DB_POOL_MAX: String(o.poolMax),
        // A few seconds of requests per connection: the drill's clients reach added workers quickly.
        HTTP_MAX_REQUESTS_PER_SOCKET: '20',
        ...o.serviceEnv?.(this.promUrl),
      }),
    );
  }

  /** Prometheus, Alertmanager, the people's sink and the controller. */
  async startMonitoring(): Promise<void> {
    const o = this.options;
    const [amPort, controllerPort] = await Promise.all([freePort(), freePort()]);
    const promPort = Number(new URL(this.promUrl).port);
    this.amUrl = `http://127.0.0.1:${amPort}`;
    this.controllerUrl = `http://127.0.0.1:${controllerPort}`;
    const sink = await startPeopleSink(o.log);
    this.people = sink.server;
    const monitoring = writeMonitoringFiles(this.dir, {
      rules: { ...RULE_TIMING, p90ThresholdSeconds: o.thresholdSeconds },
      alertmanager: {
        controllerWebhookUrl: `${this.controllerUrl}/alerts`,
        controllerWebhookTokenFile: join(this.dir, 'webhook-token'),
        controller: CONTROLLER_ROUTE_TIMING,
        people: { groupWait: '1s', groupInterval: '10s', repeatInterval: '1h' },
        pageRepeatInterval: '1h',
        resolveTimeout: '1m',
      },
      localReceiversBaseUrl: sink.url,
    });
    const labels = { namespace: NAMESPACE };
    writeFileSync(
      join(this.dir, 'prometheus.yml'),
      stringify(
        prometheusConfig({
          scrapeInterval: '1s',
          evaluationInterval: '1s',
          ruleFiles: [monitoring.rulesFile],
          alertmanagers: [`127.0.0.1:${amPort}`],
          jobs: [
            {
              job: 'booking-service',
              targets: { kind: 'static', addresses: [new URL(this.adminUrl).host], labels },
            },
            {
              job: 'alertscaler',
              targets: { kind: 'static', addresses: [`127.0.0.1:${controllerPort}`], labels },
            },
          ],
        }),
      ),
    );
    await this.processes.start(
      alertmanagerProcess({
        configFile: monitoring.alertmanagerFile,
        dataDir: join(this.dir, 'alertmanager'),
        port: amPort,
      }),
    );
    await this.processes.start(
      prometheusProcess({
        configFile: join(this.dir, 'prometheus.yml'),
        dataDir: join(this.dir, 'prometheus'),
        port: promPort,
      }),
    );

    const p = o.policy;
    // The same spec builder as the bundle's AlertScaler, with the worker pool as target and short windows;
    // parsed here so that a spec the controller would refuse stops the drill before it starts.
    const spec = alertScalerSpecSchema.parse(
      bookingAlertScalerSpec({
        namespace: NAMESPACE,
        scaleTargetRef: { apiVersion: 'local', kind: 'WorkerPool', name: 'booking-service' },
        minReplicas: p.minReplicas,
        maxReplicas: p.maxReplicas,
        scaleUp: { step: { type: 'Pods', value: 1 }, cooldownSeconds: p.upCooldownSeconds },
        scaleDown: {
          step: { type: 'Pods', value: 1 },
          stabilizationWindowSeconds: p.stabilizationSeconds,
          cooldownSeconds: p.downCooldownSeconds,
        },
        // One rate window plus the alert's `for`: by then the p90 alert no longer sees the saturated period.
        saturationHoldSeconds: seconds(RULE_TIMING.rateWindow) + seconds(RULE_TIMING.forDuration),
      }),
    );
    const scalerFile = join(this.dir, 'alertscalers.yml');
    writeFileSync(
      scalerFile,
      stringify({
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: 'booking-service', namespace: NAMESPACE },
        spec,
      }),
    );
    const onSalesFile = join(this.dir, 'onsales.yml');
    if (o.onSales) writeFileSync(onSalesFile, stringify({ items: o.onSales() }));
    await this.processes.start(
      controllerProcess({
        MODE: 'local',
        ...(o.onSales ? { NAMESPACE, ONSALES_FILE: onSalesFile, PROMETHEUS_URL: this.promUrl } : {}),
        PORT: String(controllerPort),
        WEBHOOK_TOKEN_FILE: join(this.dir, 'webhook-token'),
        ALERTSCALERS_FILE: scalerFile,
        WORKERS_ADMIN_URL: this.adminUrl,
        WORKERS_ADMIN_TOKEN_FILE: join(this.dir, 'admin-token'),
        RESYNC_INTERVAL_SECONDS: '2',
        ALERTMANAGER_URL: this.amUrl,
        ALERTMANAGER_RESYNC_INTERVAL_SECONDS: '5',
      }),
    );
    this.processes.noteDescendants();
  }

  async load(step: LoadStep, stop?: AbortSignal): Promise<LoadResult> {
    const report = await runLoad(
      {
        scenario: 'seat-map',
        baseUrl: this.serviceUrl,
        plans: [{ load: { model: 'closed', vus: step.vus }, durationMs: step.seconds * 1000 }],
        timeoutMs: 10_000,
        maxInFlight: 10_000,
        strategy: 'atomic',
        thinkMs: 0,
        out: '',
        warmUp: step.warmUp,
      },
      'drill',
      undefined,
      undefined,
      stop,
    );
    const stage = report.stages[0]!;
    return { requestsPerSecond: stage.requestsPerSecond, p90Ms: stage.latencyMs.p90 };
  }

  workers(): Promise<WorkersStatus> {
    return getJson(`${this.adminUrl}/workers`);
  }

  /** The service's own metrics text (summed over its workers). */
  async serviceMetrics(): Promise<string> {
    const response = await fetch(`${this.adminUrl}/metrics`, { signal: AbortSignal.timeout(3000) });
    return response.text();
  }

  /** The controller's OnSales with their status (local mode's GET /onsales). */
  async onSales(): Promise<{ status?: { phase?: string; holdingReplicas?: boolean } }[]> {
    return (
      await getJson<{ items: { status?: { phase?: string; holdingReplicas?: boolean } }[] }>(
        `${this.controllerUrl}/onsales`,
      )
    ).items;
  }

  async scaler(): Promise<{ scaler: ScalerView; events: ControllerEvent[] }> {
    const body = await getJson<{ items: ScalerView[]; events: ControllerEvent[] }>(
      `${this.controllerUrl}/alertscalers`,
    );
    return { scaler: body.items[0]!, events: body.events };
  }

  promQuery(query: string) {
    return promQuery(this.promUrl, query);
  }

  activeAlerts(): Promise<string[]> {
    return activeAlerts(this.amUrl);
  }

  /** The incident document's fix, applied to the running service: the seat-map cache on every worker. */
  async switchCache(enabled: boolean): Promise<void> {
    const response = await fetch(`${this.adminUrl}/seat-map-cache`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled }),
    });
    if (!response.ok)
      throw new Error(`PUT /seat-map-cache: HTTP ${response.status} ${await response.text()}`);
  }

  /** Stops everything (reverse order) and drops the database; resolves with the pids still alive. */
  async stop(): Promise<number[]> {
    this.people?.close();
    const left = await this.processes.stopAll();
    await this.database?.drop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
    return left;
  }
}
