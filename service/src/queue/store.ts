import { saleWindow, type SaleSchedule } from './sale.js';

/** Where a token stands in the waiting room. */
export type TokenState =
  /** `opensAt`: the token is in a sale's pre-queue, its place not final until then. */
  | { kind: 'waiting'; position: number; opensAt?: number }
  | { kind: 'active'; expiresAt: number }
  /** Admitted and used up (paid, or the active time ran out). */
  | { kind: 'gone' };

/** One admission round's outcome: how many were admitted, and when those had been promised admission. */
export interface AdmittedRound {
  admitted: number;
  /** Epoch ms, one per admitted token that had a promise (promise()). */
  promisedAt: number[];
}

/** A waiting token's state; `opensAt` while its sale's pre-queue is still open (its place is not final). */
export function waitingState(rank: number, opensAt: number, nowMs: number): TokenState {
  return nowMs < opensAt
    ? { kind: 'waiting', position: rank + 1, opensAt }
    : { kind: 'waiting', position: rank + 1 };
}

/** A place in the queue (the user's live token, this one if new), or the time a sale's pre-queue opens. */
export type JoinResult = { token: string; created: boolean } | { preQueueStart: number };

/** The waiting room's shared state: Redis across replicas, or in-process for a single one. */
export interface QueueStore {
  /**
   * Queues `tokenId` as `userId`'s token unless the user already has a live one (waiting or active): one
   * place per user, so a user joining again keeps theirs. Returns the user's live token, this one if new.
   * `replacing`: a token of the user to replace even if live (one signed with a retired secret), '' for none.
   * In a sale's pre-queue the new place is at `shuffle` (0..1, random) among the pre-queue; before the
   * pre-queue nobody joins.
   */
  join(
    userId: number,
    tokenId: string,
    token: string,
    replacing: string,
    nowMs: number,
    shuffle: number,
  ): Promise<JoinResult>;
  /**
   * Remembers the first time a waiting token was told it would be admitted, until it is (the ETA's accuracy);
   * not before its sale opens.
   */
  promise(tokenId: string, atMs: number, nowMs: number): Promise<void>;
  /** Publishes the sale (the same sale again changes nobody's place). */
  scheduleSale(sale: SaleSchedule): Promise<void>;
  sale(): Promise<SaleSchedule | undefined>;
  /** True for the one caller that is to warm the cache for the sale opening at `opensAt`. */
  claimWarmUp(opensAt: number): Promise<boolean>;
  state(tokenId: string, nowMs: number): Promise<TokenState>;
  /**
   * Runs admission round `round` unless a replica already did: `slots(active, waiting)` says
   * how many of the head to activate for `activeTtlMs`.
   */
  admit(
    round: number,
    roundMs: number,
    nowMs: number,
    activeTtlMs: number,
    slots: (active: number, waiting: number) => number,
  ): Promise<AdmittedRound>;
  /** Ends a token (its payment completed). */
  finish(tokenId: string): Promise<void>;
  counts(nowMs: number): Promise<{ waiting: number; active: number }>;
}

/** The in-process waiting room of the embedded default (one process, no Redis). */
export class MemoryQueueStore implements QueueStore {
  /** Insertion order is queue order; tokens leave only from the head, so position = seq - head seq + 1. */
  private readonly waiting = new Map<string, number>();
  /** A sale's pre-queue (token -> shuffle), moved behind `waiting` in shuffle order once the sale opens. */
  private readonly preQueued = new Map<string, number>();
  private readonly active = new Map<string, number>();
  private readonly byUser = new Map<number, { tokenId: string; token: string }>();
  private readonly promised = new Map<string, number>();
  private schedule: SaleSchedule | undefined;
  private warmedFor: number | undefined;
  private nextSeq = 0;
  private lastRound = -1;

  async join(
    userId: number,
    tokenId: string,
    token: string,
    replacing: string,
    nowMs: number,
    shuffle: number,
  ): Promise<JoinResult> {
    this.settle(nowMs);
    const current = this.byUser.get(userId);
    const live =
      current &&
      (this.waiting.has(current.tokenId) ||
        this.preQueued.has(current.tokenId) ||
        this.active.has(current.tokenId));
    if (live && current.token !== replacing) {
      return { token: current.token, created: false };
    }
    const window = saleWindow(this.schedule, nowMs);
    if (window === 'before') return { preQueueStart: this.schedule!.preQueueStart };
    if (window === 'pre-queue') this.preQueued.set(tokenId, shuffle);
    else this.waiting.set(tokenId, this.nextSeq++);
    this.byUser.set(userId, { tokenId, token });
    return { token, created: true };
  }

  async promise(tokenId: string, atMs: number, nowMs: number): Promise<void> {
    this.settle(nowMs);
    if (this.waiting.has(tokenId) && !this.promised.has(tokenId)) this.promised.set(tokenId, atMs);
  }

  async scheduleSale(sale: SaleSchedule): Promise<void> {
    this.schedule = sale;
  }

  async sale(): Promise<SaleSchedule | undefined> {
    return this.schedule;
  }

  async claimWarmUp(opensAt: number): Promise<boolean> {
    if (this.warmedFor === opensAt) return false;
    this.warmedFor = opensAt;
    return true;
  }

  async state(tokenId: string, nowMs: number): Promise<TokenState> {
    this.settle(nowMs);
    const expiresAt = this.active.get(tokenId);
    if (expiresAt !== undefined && expiresAt > nowMs) return { kind: 'active', expiresAt };
    const shuffle = this.preQueued.get(tokenId);
    if (shuffle !== undefined) {
      const ahead = [...this.preQueued.values()].filter((other) => other < shuffle).length;
      return waitingState(this.waiting.size + ahead, this.schedule!.opensAt, nowMs);
    }
    const seq = this.waiting.get(tokenId);
    if (seq === undefined) return { kind: 'gone' };
    const headSeq = this.waiting.values().next().value ?? seq;
    return { kind: 'waiting', position: seq - headSeq + 1 };
  }

  async admit(
    round: number,
    _roundMs: number,
    nowMs: number,
    activeTtlMs: number,
    slots: (active: number, waiting: number) => number,
  ): Promise<AdmittedRound> {
    const outcome: AdmittedRound = { admitted: 0, promisedAt: [] };
    if (round <= this.lastRound || this.beforeOpening(nowMs)) return outcome;
    this.lastRound = round;
    this.settle(nowMs);
    this.prune(nowMs);
    const count = slots(this.active.size, this.waiting.size);
    for (const tokenId of this.waiting.keys()) {
      if (outcome.admitted >= count) break;
      this.waiting.delete(tokenId);
      this.active.set(tokenId, nowMs + activeTtlMs);
      outcome.admitted++;
      const promisedAt = this.promised.get(tokenId);
      if (promisedAt !== undefined) outcome.promisedAt.push(promisedAt);
      this.promised.delete(tokenId);
    }
    return outcome;
  }

  async finish(tokenId: string): Promise<void> {
    this.active.delete(tokenId);
  }

  async counts(nowMs: number): Promise<{ waiting: number; active: number }> {
    this.settle(nowMs);
    this.prune(nowMs);
    return { waiting: this.waiting.size + this.preQueued.size, active: this.active.size };
  }

  private beforeOpening(nowMs: number): boolean {
    return !!this.schedule && nowMs < this.schedule.opensAt;
  }

  /** Once the sale has opened, its pre-queue joins the queue in shuffle order, before any later joiner. */
  private settle(nowMs: number): void {
    if (this.preQueued.size === 0 || this.beforeOpening(nowMs)) return;
    const shuffled = [...this.preQueued].sort(([, a], [, b]) => a - b);
    for (const [tokenId] of shuffled) this.waiting.set(tokenId, this.nextSeq++);
    this.preQueued.clear();
  }

  private prune(nowMs: number): void {
    for (const [tokenId, expiresAt] of this.active) if (expiresAt <= nowMs) this.active.delete(tokenId);
  }
}
