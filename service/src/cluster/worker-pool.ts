import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../logger.js';

export interface WorkerPoolStatus {
  desired: number;
  /** Workers alive and not retiring (some may still be starting). */
  running: number;
  /** Of those, the ones accepting requests. */
  listening: number;
}

/**
 * The local cluster mode's replicas: N worker processes sharing one port. `resize` forks or
 * retires workers; a retiring worker drains like a pod on SIGTERM. A worker that dies
 * unasked is replaced.
 */
export class WorkerPool {
  private desired = 0;
  private readonly retiring = new Set<Worker>();
  private readonly listening = new Set<Worker>();
  private stopping = false;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly retireTimeoutMs: number,
    private readonly logger: Logger,
  ) {
    cluster.on('listening', (worker) => this.listening.add(worker));
    cluster.on('exit', (worker, code, signal) => {
      this.listening.delete(worker);
      const expected = this.retiring.delete(worker);
      if (!expected && !this.stopping) {
        this.logger.warn({ pid: worker.process.pid, code, signal }, 'worker died, replacing it');
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
    };
  }

  resize(count: number): WorkerPoolStatus {
    this.desired = count;
    this.reconcile();
    return this.status();
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
  }

  private live(): Worker[] {
    return Object.values(cluster.workers ?? {}).filter(
      (worker): worker is Worker => worker !== undefined && !worker.isDead() && !this.retiring.has(worker),
    );
  }

  private reconcile(): void {
    const live = this.live();
    for (let i = live.length; i < this.desired; i++) cluster.fork(this.env);
    for (const worker of live.slice(this.desired).reverse()) this.retire(worker);
  }

  private retire(worker: Worker): void {
    this.retiring.add(worker);
    worker.send({ type: 'shutdown' });
    const timer = setTimeout(() => worker.isDead() || worker.kill('SIGKILL'), this.retireTimeoutMs);
    timer.unref();
    worker.once('exit', () => clearTimeout(timer));
  }
}
