import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '@concert-booking/lib';
import { ProblemError, forbidden, unauthorized } from '../http/problem.js';
import { admissionRound, admissionSlots, estimatedWaitSeconds, type AdmissionPolicy } from './admission.js';
import type { AdmissionRate } from './adaptive-rate.js';
import { shuffleFraction, type SaleSchedule } from './sale.js';
import type { QueueStore } from './store.js';
import { issueToken, verifyToken, type QueueToken } from './tokens.js';
import { SERVICE_METRICS } from '../metrics.js';

export type QueueStatus =
  | { state: 'WAITING'; position: number; estimatedWaitSeconds: number }
  | { state: 'ACTIVE'; expiresAt: string };

export interface WaitingRoomOptions {
  store: QueueStore;
  secret: string;
  policy: AdmissionPolicy;
  /** The admissions per round now (it overrides `policy.perInterval`): fixed, or following the capacity. */
  rate: AdmissionRate;
  activeTtlMs: number;
  registry: Registry;
  logger: Logger;
  now?: () => number;
}

/**
 * Issues and checks waiting-room tokens and runs admission rounds on a timer. Every replica
 * runs the timer; the store lets only one of them run each round.
 */
export class WaitingRoom {
  private timer: NodeJS.Timeout | undefined;
  private readonly admitted: Counter;
  private readonly etaError: Histogram;
  private readonly jumpAttempts: Counter;
  private readonly now: () => number;
  private roundFailing = false;

  constructor(private readonly options: WaitingRoomOptions) {
    this.now = options.now ?? Date.now;
    const { store, registry } = options;
    const counts = () => store.counts(this.now());
    new Gauge({
      ...SERVICE_METRICS.queueWaiting,
      registers: [registry],
      async collect() {
        this.set((await counts().catch(() => ({ waiting: Number.NaN }))).waiting);
      },
    });
    new Gauge({
      ...SERVICE_METRICS.queueActiveTokens,
      registers: [registry],
      async collect() {
        this.set((await counts().catch(() => ({ active: Number.NaN }))).active);
      },
    });
    this.admitted = new Counter({
      ...SERVICE_METRICS.queueAdmitted,
      registers: [registry],
    });
    this.etaError = new Histogram({ ...SERVICE_METRICS.queueEtaError, registers: [registry] });
    this.jumpAttempts = new Counter({ ...SERVICE_METRICS.queueJumpAttempts, registers: [registry] });
  }

  start(): void {
    this.timer ??= setInterval(() => void this.runRound(), this.options.policy.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One admission round (the timer calls this; tests may too). */
  async runRound(): Promise<number> {
    const { store, activeTtlMs, logger } = this.options;
    const policy = this.currentPolicy();
    const now = this.now();
    try {
      const { admitted, promisedAt } = await store.admit(
        admissionRound(policy, now),
        policy.intervalMs,
        now,
        activeTtlMs,
        (active, waiting) => admissionSlots(policy, active, waiting),
      );
      this.admitted.inc(admitted);
      for (const promised of promisedAt) this.etaError.observe((now - promised) / 1000);
      this.roundFailing = false;
      return admitted;
    } catch (error) {
      if (!this.roundFailing) logger.warn({ err: (error as Error).message }, 'queue admission round failed');
      this.roundFailing = true;
      return 0;
    }
  }

  /** The user's place in the queue: a new token, or the live one they already have (`created` false). */
  async issue(userId: number): Promise<{ token: string; status: QueueStatus; created: boolean }> {
    const { secret } = this.options;
    const { token, claims } = issueToken(secret, userId, this.now());
    let joined = await this.join(userId, claims.jti, token, '');
    let live = joined.created ? claims : verifyToken(secret, joined.token);
    if (!live) {
      // The user's place was signed with a secret since replaced: its holder could not use it, so it goes.
      joined = await this.join(userId, claims.jti, token, joined.token);
      live = joined.created ? claims : verifyToken(secret, joined.token);
      if (!live) throw unavailable(new Error('the queue keeps a token this replica cannot verify'));
    }
    return { token: joined.token, status: await this.statusOf(live), created: joined.created };
  }

  /** Publishes a scheduled sale (PUT /queue/sale on the admin port): its pre-queue, opening and seat maps. */
  async scheduleSale(sale: SaleSchedule): Promise<void> {
    await this.options.store.scheduleSale(sale).catch(unavailable);
  }

  private async join(userId: number, tokenId: string, token: string, replacing: string) {
    const joined = await this.options.store
      .join(userId, tokenId, token, replacing, this.now(), shuffleFraction())
      .catch(unavailable);
    if ('preQueueStart' in joined) {
      throw forbidden(
        'queue-not-open',
        `the sale's waiting room opens at ${new Date(joined.preQueueStart).toISOString()}`,
      );
    }
    return joined;
  }

  /**
   * The claims of a genuine token of `userId`, whatever its state: 401 when forged or missing, 403 when
   * issued to someone else (a token is no bearer instrument: it works only with its user's credential).
   */
  identify(header: string | undefined, userId: number): QueueToken {
    if (!header)
      throw unauthorized('queue-token-missing', 'send the waiting-room token in the Queue-Token header');
    const claims = verifyToken(this.options.secret, header);
    if (!claims)
      throw unauthorized('queue-token-invalid', 'the waiting-room token is forged, altered or malformed');
    if (claims.sub !== userId)
      throw forbidden('queue-token-foreign', 'the waiting-room token was issued to another user');
    return claims;
  }

  async status(header: string | undefined, userId: number): Promise<QueueStatus> {
    return this.statusOf(this.identify(header, userId));
  }

  /** The claims of the user's ACTIVE token: 403 while it waits, 401 once used up or expired. */
  async requireActive(header: string | undefined, userId: number): Promise<QueueToken> {
    const claims = this.identify(header, userId);
    const status = await this.statusOf(claims);
    if (status.state === 'WAITING') {
      this.jumpAttempts.inc();
      throw forbidden(
        'queue-token-not-active',
        `the token is still waiting in the queue at position ${status.position}`,
      );
    }
    return claims;
  }

  /** Ends a token once its payment committed; a failure only leaves it active until it expires. */
  async finish(claims: QueueToken): Promise<void> {
    await this.options.store.finish(claims.jti).catch((error: Error) => {
      this.options.logger.warn({ err: error.message }, 'could not end the waiting-room token');
    });
  }

  /** The policy at the current rate: rounds and the waiting users' estimates follow it. */
  private currentPolicy(): AdmissionPolicy {
    return { ...this.options.policy, perInterval: this.options.rate.perInterval() };
  }

  private async statusOf(claims: QueueToken): Promise<QueueStatus> {
    const state = await this.options.store.state(claims.jti, this.now()).catch(unavailable);
    switch (state.kind) {
      case 'active':
        return { state: 'ACTIVE', expiresAt: new Date(state.expiresAt).toISOString() };
      case 'waiting': {
        const now = this.now();
        // In a pre-queue the wait runs from the opening; the place is final then, and so is the promise.
        const untilOpen = state.opensAt === undefined ? 0 : Math.ceil((state.opensAt - now) / 1000);
        const wait = untilOpen + estimatedWaitSeconds(this.currentPolicy(), state.position);
        // Only the ETA histogram needs it: a failure costs one sample, not the user's place.
        await this.options.store.promise(claims.jti, now + wait * 1000, now).catch(() => undefined);
        return { state: 'WAITING', position: state.position, estimatedWaitSeconds: wait };
      }
      case 'gone':
        throw unauthorized(
          'queue-token-expired',
          'the token was used up or its active time ran out: queue again',
        );
    }
  }
}

/** The waiting room has no fallback: without its store nobody can be admitted, so say so. */
function unavailable(error: Error): never {
  throw new ProblemError(
    503,
    'queue-unavailable',
    'Service Unavailable',
    `the waiting room is unavailable: ${error.message}`,
  );
}
