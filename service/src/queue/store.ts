/** Where a token stands in the waiting room. */
export type TokenState =
  | { kind: 'waiting'; position: number }
  | { kind: 'active'; expiresAt: number }
  /** Admitted and used up (paid, or the active time ran out). */
  | { kind: 'gone' };

/** The waiting room's shared state: Redis across replicas, or in-process for a single one. */
/** One admission round's outcome: how many were admitted, and when those had been promised admission. */
export interface AdmittedRound {
  admitted: number;
  /** Epoch ms, one per admitted token that had a promise (promise()). */
  promisedAt: number[];
}

export interface QueueStore {
  /**
   * Queues `tokenId` as `userId`'s token unless the user already has a live one (waiting or active): one
   * place per user, so a user joining again keeps theirs. Returns the user's live token, this one if new.
   * `replacing`: a token of the user to replace even if live (one signed with a retired secret).
   */
  join(
    userId: number,
    tokenId: string,
    token: string,
    replacing?: string,
  ): Promise<{ token: string; created: boolean }>;
  /** Remembers when a waiting token was told it would be admitted, until it is (the ETA's accuracy). */
  promise(tokenId: string, atMs: number): Promise<void>;
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
  private readonly active = new Map<string, number>();
  private readonly byUser = new Map<number, { tokenId: string; token: string }>();
  private readonly promised = new Map<string, number>();
  private nextSeq = 0;
  private lastRound = -1;

  async join(
    userId: number,
    tokenId: string,
    token: string,
    replacing?: string,
  ): Promise<{ token: string; created: boolean }> {
    const current = this.byUser.get(userId);
    const live = current && (this.waiting.has(current.tokenId) || this.active.has(current.tokenId));
    if (live && current.token !== replacing) {
      return { token: current.token, created: false };
    }
    this.waiting.set(tokenId, this.nextSeq++);
    this.byUser.set(userId, { tokenId, token });
    return { token, created: true };
  }

  async promise(tokenId: string, atMs: number): Promise<void> {
    if (this.waiting.has(tokenId)) this.promised.set(tokenId, atMs);
  }

  async state(tokenId: string, nowMs: number): Promise<TokenState> {
    const expiresAt = this.active.get(tokenId);
    if (expiresAt !== undefined && expiresAt > nowMs) return { kind: 'active', expiresAt };
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
    if (round <= this.lastRound) return outcome;
    this.lastRound = round;
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
    this.prune(nowMs);
    return { waiting: this.waiting.size, active: this.active.size };
  }

  private prune(nowMs: number): void {
    for (const [tokenId, expiresAt] of this.active) if (expiresAt <= nowMs) this.active.delete(tokenId);
  }
}
