import type { CustomObjectsApi } from '@kubernetes/client-node';
import type { Logger } from '@concert-booking/lib';
import { httpCode } from './kube-errors.js';

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: the holder renews every
 * retry period; another candidate takes over only when the record has not changed for a whole lease
 * duration by ITS OWN clock (no trust in other clocks); every write is a compare-and-swap on the
 * resourceVersion. A leader that cannot renew within the renew deadline stops leading by itself.
 */
export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: LeaseRecord;
}

const LEASES = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' };

/** MicroTime as the API server parses it (RFC 3339 with exactly six fractional digits). */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * May `identity` take the lease? Yes when it holds it, when nobody does, or when the record last
 * changed (observedAtMs, local clock) more than its lease duration ago.
 */
export function mayAcquire(
  record: LeaseRecord,
  identity: string,
  observedAtMs: number,
  nowMs: number,
): boolean {
  if (!record.holderIdentity || record.holderIdentity === identity) return true;
  return nowMs - observedAtMs > (record.leaseDurationSeconds ?? 0) * 1000;
}

/** When the record was last seen to change, by the local clock: a new holder or renewTime restarts it. */
export interface Observation {
  key: string;
  atMs: number;
}

export function observe(previous: Observation | undefined, record: LeaseRecord, nowMs: number): Observation {
  const key = `${record.holderIdentity}|${record.renewTime}`;
  return previous?.key === key ? previous : { key, atMs: nowMs };
}

/** The Lease a candidate creates when there is none: its first term. */
export function newLease(
  config: Pick<LeaderElectionConfig, 'namespace' | 'name' | 'identity' | 'leaseDurationSeconds'>,
  now: Date,
): Lease {
  return {
    apiVersion: `${LEASES.group}/${LEASES.version}`,
    kind: 'Lease',
    metadata: { name: config.name, namespace: config.namespace },
    spec: claimedRecord({}, config.identity, config.leaseDurationSeconds, now),
  };
}

/**
 * The record `identity` writes to take or renew the lease at `now`. Taking it (from another holder, or a lease
 * nobody holds) starts a new term: acquireTime, and one more transition when it had a holder.
 */
export function claimedRecord(
  record: LeaseRecord,
  identity: string,
  leaseDurationSeconds: number,
  now: Date,
): LeaseRecord {
  const takingOver = record.holderIdentity !== identity;
  return {
    ...record,
    holderIdentity: identity,
    leaseDurationSeconds,
    renewTime: microTime(now),
    ...(takingOver
      ? {
          acquireTime: microTime(now),
          leaseTransitions: (record.leaseTransitions ?? 0) + (record.holderIdentity ? 1 : 0),
        }
      : {}),
  };
}

/** A leader whose last successful renewal is older than the renew deadline must stop leading. */
export const renewOverdue = (lastRenewMs: number, nowMs: number, renewDeadlineMs: number): boolean =>
  nowMs - lastRenewMs > renewDeadlineMs;

export class LeaderElector {
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private observed: Observation | undefined;
  private lastRenewMs = 0;
  private stopped = true;
  /** The tick whose requests may still be in flight: stop() lets it land before it releases. */
  private inFlight: Promise<void> | undefined;
  /** A renewal or acquisition that landed after stop() was called: the Lease is ours to release. */
  private heldAfterStop = false;

  constructor(
    private readonly api: CustomObjectsApi,
    private readonly config: LeaderElectionConfig,
    private readonly callbacks: { onStartedLeading: () => void; onStoppedLeading: () => void },
    private readonly logger: Logger,
  ) {}

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stopped = false;
    this.heldAfterStop = false;
    this.inFlight = this.tick();
  }

  /**
   * Stops campaigning; a leader releases the lease so another replica takes over at once. A renewal in
   * flight lands first (for at most the renew deadline): released after it, rather than racing it and losing.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([
      this.inFlight,
      new Promise<void>((resolve) => (deadline = setTimeout(resolve, this.config.renewDeadlineMs))),
    ]);
    clearTimeout(deadline);
    if (!this.leading && !this.heldAfterStop) return;
    this.heldAfterStop = false;
    if (this.leading) this.setLeading(false);
    try {
      const lease = await this.read();
      if (lease?.spec.holderIdentity === this.config.identity) {
        await this.write({ ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 } });
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'could not release the lease');
    }
  }

  private async tick(): Promise<void> {
    try {
      await this.tryAcquireOrRenew();
    } catch (error) {
      this.logger.warn({ err: error }, 'leader election: lease request failed');
    }
    if (this.leading && renewOverdue(this.lastRenewMs, Date.now(), this.config.renewDeadlineMs)) {
      this.logger.warn('could not renew the lease within the renew deadline: stepping down');
      this.setLeading(false);
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => (this.inFlight = this.tick()), this.config.retryPeriodMs);
      this.timer.unref();
    }
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const { identity, leaseDurationSeconds } = this.config;
    const now = new Date();
    const lease = await this.read();
    if (!lease) {
      if (await this.create(newLease(this.config, now))) this.renewed();
      return;
    }
    const record = lease.spec;
    this.observed = observe(this.observed, record, Date.now());
    if (!mayAcquire(record, identity, this.observed.atMs, Date.now())) {
      if (this.leading) this.setLeading(false);
      return;
    }
    const spec = claimedRecord(record, identity, leaseDurationSeconds, now);
    if (await this.write({ ...lease, spec })) this.renewed();
  }

  private renewed(): void {
    this.lastRenewMs = Date.now();
    // Stopping: never lead again (the reconcile loop is shutting down); stop() releases what landed.
    if (this.stopped) this.heldAfterStop = true;
    else if (!this.leading) this.setLeading(true);
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.logger.info(
      { identity: this.config.identity, leading },
      leading ? 'became the leader' : 'stopped leading',
    );
    if (leading) this.callbacks.onStartedLeading();
    else this.callbacks.onStoppedLeading();
  }

  private async read(): Promise<Lease | undefined> {
    try {
      return (await this.api.getNamespacedCustomObject({
        ...LEASES,
        namespace: this.config.namespace,
        name: this.config.name,
      })) as Lease;
    } catch (error) {
      if (httpCode(error) === 404) return undefined;
      throw error;
    }
  }

  /** False when another candidate won the race (409). */
  private async create(lease: Lease): Promise<boolean> {
    try {
      await this.api.createNamespacedCustomObject({
        ...LEASES,
        namespace: this.config.namespace,
        body: lease,
      });
      return true;
    } catch (error) {
      if (httpCode(error) === 409) return false;
      throw error;
    }
  }

  /** Compare-and-swap at the lease's resourceVersion; false when someone else wrote first. */
  private async write(lease: Lease): Promise<boolean> {
    try {
      await this.api.replaceNamespacedCustomObject({
        ...LEASES,
        namespace: this.config.namespace,
        name: this.config.name,
        body: lease,
      });
      return true;
    } catch (error) {
      if (httpCode(error) === 409) return false;
      throw error;
    }
  }
}
