import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '@concert-booking/lib';
import type { CpuLimiter } from './cpu-limit.js';

export interface WorkerPoolStatus {
  desired: number;
  /** Workers alive and not retiring (some may still be starting). */
  running: number;
  /** Of those, the ones accepting requests. */
  listening: number;
  /** Cores each worker may use (WORKER_CPU_LIMIT); null: no limit. */
  cpuLimit: number | null;
}

export interface WorkerPoolOptions {
  env: NodeJS.ProcessEnv;
  retireTimeoutMs: number;
  logger: Logger;
  limiter?: CpuLimiter;
  /** A worker could not be capped: the pool must not run it uncapped, so the primary stops. */
  onFatal: (error: Error) => void;
}

/** A message the primary sends every worker (and every later one, see `setWorkerEnv`). */
export interface SettingsMessage {
  type: 'settings';
  seatMapCache: boolean;
}

/**
 * The local cluster mode's replicas: N worker processes sharing one port. `resize` forks or
 * retires workers; a retiring worker drains like a pod on SIGTERM. A worker that dies
 * unasked is replaced. With a CpuLimiter each worker runs in a capped cgroup of its own.
 */
export class WorkerPool {
  private desired = 0;
  private readonly retiring = new Set<Worker>();
  private readonly listening = new Set<Worker>();
  private stopping = false;
  private env: NodeJS.ProcessEnv;

  constructor(private readonly options: WorkerPoolOptions) {
    this.env = options.env;
    cluster.on('listening', (worker) => this.listening.add(worker));
    cluster.on('exit', (worker, code, signal) => {
      this.listening.delete(worker);
      options.limiter?.release(worker.id);
      const expected = this.retiring.delete(worker);
      if (!expected && !this.stopping) {
        options.logger.warn({ pid: worker.process.pid, code, signal }, 'worker died, replacing it');
        this.reconcile();
      }
    });
  }

  status(): WorkerPoolStatus {
    const live = this.live();
    return {
      desired: this.desired,
      running: live.length,
      listening: live.filter((worker) => this.listening.has(worker)).length,
      cpuLimit: this.options.limiter?.cores ?? null,
    };
  }

  resize(count: number): WorkerPoolStatus {
    this.desired = count;
    this.reconcile();
    return this.status();
  }

  /** Sends `message` to every live worker; `env` is what workers forked from now on start with. */
  broadcast(message: SettingsMessage, env: NodeJS.ProcessEnv): void {
    this.env = { ...this.env, ...env };
    for (const worker of this.live()) worker.send(message);
  }

  /** Retires every worker and resolves when all have exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.desired = 0;
    const exits = Object.values(cluster.workers ?? {}).map(
      (worker) =>
        new Promise<void>((resolve) =>
          worker!.isDead() ? resolve() : worker!.once('exit', () => resolve()),
        ),
    );
    this.reconcile();
    await Promise.all(exits);
    this.options.limiter?.close();
  }

  private live(): Worker[] {
    return Object.values(cluster.workers ?? {}).filter(
      (worker): worker is Worker => worker !== undefined && !worker.isDead() && !this.retiring.has(worker),
    );
  }

  private reconcile(): void {
    const live = this.live();
    for (let i = live.length; i < this.desired && !this.stopping; i++) this.fork();
    for (const worker of live.slice(this.desired).reverse()) this.retire(worker);
  }

  private fork(): void {
    const worker = cluster.fork(this.env);
    const { limiter } = this.options;
    if (!limiter) return;
    try {
      limiter.limit(worker.id, worker.process.pid!);
    } catch (error) {
      this.stopping = true;
      worker.process.kill('SIGKILL');
      this.options.onFatal(error as Error);
    }
  }

  private retire(worker: Worker): void {
    this.retiring.add(worker);
    worker.send({ type: 'shutdown' });
    const timer = setTimeout(() => worker.isDead() || worker.kill('SIGKILL'), this.options.retireTimeoutMs);
    timer.unref();
    worker.once('exit', () => clearTimeout(timer));
  }
}
