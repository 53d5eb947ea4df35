import type { Redis } from 'ioredis';
import type { AdmittedRound, QueueStore, TokenState } from './store.js';

const WAITING = 'queue:waiting';
const SEQUENCE = 'queue:seq';
const PROMISED = 'queue:promised';
const ACTIVE = 'queue:active';
const ACTIVE_PREFIX = 'queue:active:';
const activeKey = (tokenId: string) => `${ACTIVE_PREFIX}${tokenId}`;
const roundKey = (round: number) => `queue:round:${round}`;

const userKey = (userId: number) => `queue:user:${userId}`;
/** How long a user's token is remembered: longer than any wait, and the key goes once nobody asks. */
const USER_TOKEN_TTL_MS = 24 * 3600_000;

/**
 * Keeps the user's live token (waiting or active) if there is one; otherwise takes a ticket number and
 * joins the queue, in one step, so queue order is arrival order and a user never holds two places.
 */
const JOIN = `
local current = redis.call('HMGET', KEYS[1], 'token', 'id')
if current[1] and current[1] ~= ARGV[5] and (redis.call('ZSCORE', KEYS[2], current[2]) or redis.call('EXISTS', ARGV[4] .. current[2]) == 1) then
  return {current[1], 0}
end
local seq = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[2], seq, ARGV[1])
redis.call('HSET', KEYS[1], 'token', ARGV[2], 'id', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {ARGV[2], 1}`;

/**
 * Moves the head of the queue to active in one step (a token is never in neither place) and hands back the
 * admission times those tokens had been promised ('' for none).
 */
const ACTIVATE = `
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
local promised = {}
for i = 1, #popped, 2 do
  redis.call('SET', ARGV[4] .. popped[i], '1', 'PX', ARGV[2])
  redis.call('ZADD', KEYS[2], ARGV[3], popped[i])
  promised[#promised + 1] = redis.call('HGET', KEYS[3], popped[i]) or ''
  redis.call('HDEL', KEYS[3], popped[i])
end
return promised`;

/** A promise for a token still waiting only: one admitted meanwhile is not promised again. */
const PROMISE = `
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
return 0`;

/**
 * The waiting room in Redis, shared by every replica: a sorted set for the queue (score =
 * ticket number), an expiring key per active token (the truth) and a sorted set of active
 * tokens by expiry (for counting them).
 */
export class RedisQueueStore implements QueueStore {
  constructor(private readonly redis: Redis) {}

  async join(
    userId: number,
    tokenId: string,
    token: string,
    replacing = '',
  ): Promise<{ token: string; created: boolean }> {
    const [live, created] = (await this.redis.eval(
      JOIN,
      3,
      userKey(userId),
      WAITING,
      SEQUENCE,
      tokenId,
      token,
      USER_TOKEN_TTL_MS,
      ACTIVE_PREFIX,
      replacing,
    )) as [string, number];
    return { token: live, created: created === 1 };
  }

  /**
   * An active token, the case of every hold and payment, costs one PTTL. Admission moves a
   * token from the queue to active in one script, so a token that is in neither place at
   * its ZRANK may have been admitted since the first PTTL: a second PTTL tells that from gone.
   */
  async state(tokenId: string, nowMs: number): Promise<TokenState> {
    const active = await this.activeState(tokenId, nowMs);
    if (active) return active;
    const rank = await this.redis.zrank(WAITING, tokenId);
    if (rank !== null) return { kind: 'waiting', position: rank + 1 };
    return (await this.activeState(tokenId, nowMs)) ?? { kind: 'gone' };
  }

  private async activeState(tokenId: string, nowMs: number): Promise<TokenState | undefined> {
    const ttl = await this.redis.pttl(activeKey(tokenId));
    return ttl > 0 ? { kind: 'active', expiresAt: nowMs + ttl } : undefined;
  }

  async promise(tokenId: string, atMs: number): Promise<void> {
    await this.redis.eval(PROMISE, 2, WAITING, PROMISED, tokenId, atMs);
  }

  async admit(
    round: number,
    roundMs: number,
    nowMs: number,
    activeTtlMs: number,
    slots: (active: number, waiting: number) => number,
  ): Promise<AdmittedRound> {
    const none: AdmittedRound = { admitted: 0, promisedAt: [] };
    // One replica runs each round: the others find the round key taken.
    if ((await this.redis.set(roundKey(round), '1', 'PX', roundMs * 2, 'NX')) === null) return none;
    const { active, waiting } = await this.counts(nowMs);
    const count = slots(active, waiting);
    if (count <= 0) return none;
    const promised = (await this.redis.eval(
      ACTIVATE,
      3,
      WAITING,
      ACTIVE,
      PROMISED,
      count,
      activeTtlMs,
      nowMs + activeTtlMs,
      ACTIVE_PREFIX,
    )) as string[];
    return { admitted: promised.length, promisedAt: promised.filter(Boolean).map(Number) };
  }

  async finish(tokenId: string): Promise<void> {
    await this.redis.multi().del(activeKey(tokenId)).zrem(ACTIVE, tokenId).exec();
  }

  async counts(nowMs: number): Promise<{ waiting: number; active: number }> {
    const results = await this.redis
      .multi()
      .zremrangebyscore(ACTIVE, '-inf', nowMs)
      .zcard(ACTIVE)
      .zcard(WAITING)
      .exec();
    const [, [, active] = [], [, waiting] = []] = results ?? [];
    return { waiting: Number(waiting ?? 0), active: Number(active ?? 0) };
  }
}
