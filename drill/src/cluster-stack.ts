/**
 * The drill's target in the local cluster (`npm run drill -- --cluster`): the bundle deployed as a user
 * deploys it (docs/deploy.md, devkit/src/cluster/deploy.ts) with the drill's values (booking pods with a CPU
 * limit, the uncached seat map, short rule windows and AlertScaler policy), the load run in the cluster by
 * Jobs of the project's load runner image, and everything read where it lives: p90 and the alert from the
 * cluster's Prometheus and Alertmanager (their ClusterIPs, through kube-proxy), replicas from the
 * Deployment, the AlertScaler's status and Events from the API server (through `kubectl proxy`).
 */
import type { ValuesOverride } from '@concert-booking/cdk8s/values';
import { APPS, LABEL } from '@concert-booking/cdk8s/labels';
import { API_VERSION, PLURAL } from '@concert-booking/controller/api';
import { ALERTS } from '@concert-booking/lib';
import { ProcessGroup, runProcess } from '@concert-booking/devkit/process';
import { seedProcess } from '@concert-booking/devkit/programs';
import { envtestBinaries } from '@concert-booking/devkit/cluster/binaries';
import { down, status as clusterStatus, up } from '@concert-booking/devkit/cluster/cluster';
import { BUNDLE_NAMESPACE, deployBundle, type DeployedBundle } from '@concert-booking/devkit/cluster/deploy';
import type { Kubectl } from '@concert-booking/devkit/cluster/kubectl';
import { clusterLayout } from '@concert-booking/devkit/cluster/layout';
import { freePort, waitFor } from '@concert-booking/devkit/wait';
import type { CatalogVolume } from '@concert-booking/devkit/programs';
import {
  activeAlerts,
  CONTROLLER_ROUTE_TIMING,
  getJson,
  promQuery,
  RULE_TIMING,
  type ControllerEvent,
  type DrillTarget,
  type LoadResult,
  type LoadStep,
  type Policy,
  type ScalerView,
  type WorkersStatus,
} from './stack.js';

/**
 * Smaller seat maps (500 seats) than the local capacity scenario's: a pod behind kube-proxy, scraped once a
 * second, needs tens of requests a second at one pod's CPU for its p90 to be more than a few samples.
 */
export const CLUSTER_CATALOG: CatalogVolume = { concerts: 20, timeslotsPerConcert: 5, seatsPerTimeslot: 500 };

const NS = BUNDLE_NAMESPACE;
const SERVICE = APPS.bookingService.name;

export interface ClusterDrillSettings {
  thresholdSeconds: number;
  /** The booking pods' CPU limit in cores (a CFS quota, as the local drill's workers have). */
  podCpuLimit: number;
  /** The pool of each booking pod: above any pod's concurrency, so the pool is never the limit. */
  dbPoolMax: number;
  policy: Policy;
  log: (line: string) => void;
}

/**
 * The drill's values over the local-images ones: the capacity scenario's service (no seat-map cache, a CPU
 * limit per pod, short keep-alive so clients reach new pods), and the local drill's windows and policy.
 */
export function clusterDrillValues(s: ClusterDrillSettings): ValuesOverride {
  const millicores = `${Math.round(s.podCpuLimit * 1000)}m`;
  return {
    service: {
      replicas: s.policy.minReplicas,
      maxReplicas: s.policy.maxReplicas,
      dbPoolMax: s.dbPoolMax,
      resources: {
        requests: { cpu: millicores, memory: '192Mi' },
        limits: { cpu: millicores, memory: '512Mi' },
      },
      extraEnv: { SEATMAP_CACHE_ENABLED: 'false', HTTP_MAX_REQUESTS_PER_SOCKET: '20' },
    },
    alertscaler: {
      policy: {
        scaleUp: { step: { type: 'Pods', value: 1 }, cooldownSeconds: s.policy.upCooldownSeconds },
        scaleDown: {
          step: { type: 'Pods', value: 1 },
          stabilizationWindowSeconds: s.policy.stabilizationSeconds,
          cooldownSeconds: s.policy.downCooldownSeconds,
        },
        saturationHoldSeconds: 15,
      },
    },
    prometheus: { scrapeInterval: '1s', evaluationInterval: '1s' },
    monitoring: {
      rules: { ...RULE_TIMING, p90ThresholdSeconds: s.thresholdSeconds },
      controllerRoute: CONTROLLER_ROUTE_TIMING,
    },
  };
}

interface Pod {
  metadata: { name: string };
  spec: { containers: { ports?: { name?: string; containerPort: number }[] }[] };
  status: { podIP?: string; phase: string; conditions?: { type: string; status: string }[] };
}

/** The pod's port named `admin` (its /metrics), as its Deployment declares it. */
function adminPort(pod: Pod): number {
  const port = pod.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === 'admin');
  if (!port) throw new Error(`pod ${pod.metadata.name} declares no port named admin`);
  return port.containerPort;
}

/** The load runner's table row of its one stage (load/src/report.ts formatTable): req/s and p90. */
export function parseLoadTable(log: string): LoadResult {
  const lines = log.split('\n');
  const header = lines.findIndex((l) => /\breq\/s\b.*\bp90 ms\b/.test(l));
  const cells = (line: string | undefined) => line?.trim().split(/\s{2,}/) ?? [];
  const names = cells(lines[header]);
  const row = cells(lines[header + 1]);
  const value = (name: string) => Number(row[names.indexOf(name)]);
  return header < 0
    ? { requestsPerSecond: NaN, p90Ms: NaN }
    : { requestsPerSecond: value('req/s'), p90Ms: value('p90 ms') };
}

export class ClusterStack implements DrillTarget {
  readonly processes = new ProcessGroup();
  private readonly layout = clusterLayout();
  private kubectl: Kubectl | undefined;
  private deployed: DeployedBundle | undefined;
  private startedCluster = false;
  private api = '';
  private promUrl = '';
  private amUrl = '';
  private loadImage = '';
  private jobs = 0;

  constructor(private readonly settings: ClusterDrillSettings) {}

  /** The cluster (started unless running), the bundle deployed, the catalog seeded, Prometheus scraping. */
  async start(): Promise<void> {
    const { log } = this.settings;
    this.startedCluster = !clusterStatus(this.layout).running;
    log(`cluster: ${this.startedCluster ? 'starting' : 'running already'} (npm run cluster -- up)`);
    const cluster = await up(this.layout);
    this.loadImage = cluster.images.load.reference;
    const existing = await cluster.kubectl(['get', 'namespace', NS, '--ignore-not-found', '-o', 'name']);
    if (existing.stdout.trim()) {
      this.startedCluster = false; // not ours to take down
      throw new Error(
        `namespace ${NS} exists: the drill deploys its own bundle; delete it (or npm run cluster -- down) first`,
      );
    }
    log('cluster: deploying the bundle by docs/deploy.md with the drill values');
    this.deployed = await deployBundle(this.layout, clusterDrillValues(this.settings));
    this.kubectl = this.deployed.kubectl;
    const proxyPort = await freePort();
    this.api = `http://127.0.0.1:${proxyPort}`;
    await this.processes.start({
      name: 'kubectl proxy',
      command: `${await envtestBinaries()}/kubectl`,
      args: [`--kubeconfig=${this.layout.adminKubeconfig}`, 'proxy', `--port=${proxyPort}`],
      ready: { url: `${this.api}/version` },
    });
    const clusterIp = async (service: string) =>
      (
        await getJson<{ spec: { clusterIP: string } }>(
          `${this.api}/api/v1/namespaces/${NS}/services/${service}`,
        )
      ).spec.clusterIP;
    this.promUrl = `http://${await clusterIp(APPS.prometheus.name)}:9090`;
    this.amUrl = `http://${await clusterIp(APPS.alertmanager.name)}:9093`;

    const [postgres] = await this.pods(APPS.postgres.name);
    const secret = await getJson<{ data: Record<string, string> }>(
      `${this.api}/api/v1/namespaces/${NS}/secrets/booking-db`,
    );
    const url = new URL(Buffer.from(secret.data['database-url']!, 'base64').toString());
    url.hostname = postgres!.status.podIP!;
    log(`cluster: seeding the capacity catalog into the postgres pod (${JSON.stringify(CLUSTER_CATALOG)})`);
    await runProcess(seedProcess(url.toString(), CLUSTER_CATALOG), this.processes);
    await waitFor(
      async () => (await promQuery(this.promUrl, `up{job="${SERVICE}"}`)).some((r) => r.value[1] === '1'),
      120_000,
      "the booking pod as an up target of the cluster's Prometheus",
    );
  }

  /** Every booking pod's own metrics (their admin port; pod addresses reach the host). */
  async serviceMetrics(): Promise<string> {
    const pods = (await this.pods(SERVICE)).filter((p) => p.status.podIP && p.status.phase === 'Running');
    const texts = await Promise.all(
      pods.map(async (p) =>
        (
          await fetch(`http://${p.status.podIP}:${adminPort(p)}/metrics`, {
            signal: AbortSignal.timeout(3000),
          })
        ).text(),
      ),
    );
    return texts.join('\n');
  }

  /** One Job of the load runner image against the booking Service; deleted when `stop` aborts. */
  async load(step: LoadStep, stop?: AbortSignal): Promise<LoadResult> {
    const name = `drill-load-${++this.jobs}`;
    const args = [
      'seat-map',
      '--stages',
      String(step.vus),
      '--stage-seconds',
      String(step.seconds),
      '--base-url',
      `http://${SERVICE}.${NS}.svc`,
      '--think-ms',
      '0',
      '--timeout-ms',
      '10000',
      '--max-in-flight',
      '10000',
      '--out',
      '/tmp/load',
      // The drill judges by the server's p90 in Prometheus, not by the runner's thresholds.
      '--p90-ms',
      '1000000',
      '--max-failed-rate',
      '1',
      ...(step.warmUp ? ['--warm-up'] : []),
    ];
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: NS, labels: { [LABEL.name]: 'drill-load' } },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { labels: { [LABEL.name]: 'drill-load' } },
          spec: {
            restartPolicy: 'Never',
            securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [
              {
                name: 'load',
                image: this.loadImage,
                imagePullPolicy: 'Never',
                args,
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              },
            ],
          },
        },
      },
    };
    await this.kube()(['apply', '-f', '-'], { input: JSON.stringify(job) });
    type JobStatus = { status: { succeeded?: number; failed?: number } };
    const finished = async () => {
      const { status } = await getJson<JobStatus>(`${this.api}/apis/batch/v1/namespaces/${NS}/jobs/${name}`);
      return (status.succeeded ?? 0) + (status.failed ?? 0) > 0;
    };
    while (!stop?.aborted && !(await finished().catch(() => false)))
      await new Promise((done) => setTimeout(done, 1000));
    if (stop?.aborted) {
      await this.kube()(['delete', 'job', name, '-n', NS, '--cascade=foreground', '--timeout=60s']);
      return { requestsPerSecond: NaN, p90Ms: NaN };
    }
    const { stdout } = await this.kube()(['logs', '-n', NS, `job/${name}`]);
    await this.kube()(['delete', 'job', name, '-n', NS, '--cascade=background']);
    return parseLoadTable(stdout);
  }

  /** Pauses (or resumes) the AlertScaler: it decides nothing while the drill calibrates. */
  async pauseScaler(paused: boolean): Promise<void> {
    await this.kube()([
      'patch',
      PLURAL,
      SERVICE,
      '-n',
      NS,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { paused } }),
    ]);
  }

  /**
   * Resolves once the p90 alert is inactive in Alertmanager and the controller has heard of it (no firing
   * alert in the AlertScaler's status, else it would scale up the moment it is resumed), with one ready pod.
   */
  async quiet(): Promise<void> {
    await waitFor(
      async () => {
        const [alerts, workers, { scaler }] = await Promise.all([
          this.activeAlerts(),
          this.workers(),
          this.scaler(),
        ]);
        return (
          !alerts.includes(ALERTS.highP90Latency) &&
          scaler.status.firingAlerts.length === 0 &&
          workers.desired === 1 &&
          workers.running === 1
        );
      },
      180_000,
      'the p90 alert resolved (Alertmanager and the AlertScaler) and one ready booking pod',
    );
  }

  async workers(): Promise<WorkersStatus> {
    const deployment = await getJson<{ spec: { replicas: number }; status: { readyReplicas?: number } }>(
      `${this.api}/apis/apps/v1/namespaces/${NS}/deployments/${SERVICE}`,
    );
    const ready = deployment.status.readyReplicas ?? 0;
    return {
      desired: deployment.spec.replicas,
      running: ready,
      listening: ready,
      cpuLimit: this.settings.podCpuLimit,
    };
  }

  async scaler(): Promise<{ scaler: ScalerView; events: ControllerEvent[] }> {
    const [scaler, events] = await Promise.all([
      getJson<{ status?: Partial<ScalerView['status']> }>(
        `${this.api}/apis/${API_VERSION}/namespaces/${NS}/${PLURAL}/${SERVICE}`,
      ),
      getJson<{
        items: {
          type: string;
          reason: string;
          message: string;
          lastTimestamp?: string;
          eventTime?: string;
          metadata: { creationTimestamp: string };
        }[];
      }>(
        `${this.api}/api/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent('involvedObject.kind=AlertScaler')}`,
      ),
    ]);
    return {
      scaler: { status: { firingAlerts: [], conditions: [], ...scaler.status } },
      events: events.items
        .map((e) => ({
          time: e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp,
          type: e.type,
          reason: e.reason,
          message: e.message,
        }))
        .sort((a, b) => a.time.localeCompare(b.time)),
    };
  }

  promQuery(query: string) {
    return promQuery(this.promUrl, query);
  }

  activeAlerts(): Promise<string[]> {
    return activeAlerts(this.amUrl);
  }

  /** Removes the drill's bundle, and the cluster too when the drill started it; the pids still alive. */
  async stop(): Promise<number[]> {
    if (this.kubectl) {
      await this.kubectl(['delete', 'namespace', NS, '--wait=true', '--timeout=120s'], {
        allowFailure: true,
        timeoutMs: 150_000,
      });
    }
    this.deployed?.close();
    const left = await this.processes.stopAll();
    if (this.startedCluster) {
      const result = await down(this.layout);
      left.push(...result.leftProcesses);
    }
    return left;
  }

  private kube(): Kubectl {
    if (!this.kubectl) throw new Error('the cluster stack is not started');
    return this.kubectl;
  }

  private async pods(app: string): Promise<Pod[]> {
    const selector = encodeURIComponent(`${LABEL.name}=${app}`);
    return (
      await getJson<{ items: Pod[] }>(`${this.api}/api/v1/namespaces/${NS}/pods?labelSelector=${selector}`)
    ).items;
  }
}
