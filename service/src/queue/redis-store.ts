import type { Redis } from 'ioredis';
import type { SaleSchedule } from './sale.js';
import {
  waitingState,
  type AdmittedRound,
  type JoinResult,
  type QueueStore,
  type TokenState,
} from './store.js';

const WAITING = 'queue:waiting';
const SEQUENCE = 'queue:seq';
const PROMISED = 'queue:promised';
const ACTIVE = 'queue:active';
const ACTIVE_PREFIX = 'queue:active:';
/** The scheduled sale: opensAt, preQueueStart, base (the ticket number its pre-queue sorts after), timeslots. */
const SALE = 'queue:sale';
const warmUpKey = (opensAt: number) => `queue:sale:warmed:${opensAt}`;
/** A sale is forgotten this long after it opened. */
const SALE_TTL_MS = 7 * 24 * 3600_000;
const activeKey = (tokenId: string) => `${ACTIVE_PREFIX}${tokenId}`;
const roundKey = (round: number) => `queue:round:${round}`;

const userKey = (userId: number) => `queue:user:${userId}`;
/** How long a user's token is remembered: longer than any wait, and the key goes once nobody asks. */
const USER_TOKEN_TTL_MS = 24 * 3600_000;

/**
 * Keeps the user's live token (waiting or active) if there is one; otherwise joins the queue, in one step, so
 * a user never holds two places. Outside a sale's pre-queue the score is a new ticket number (arrival order);
 * in it, the sale's base plus a random fraction (ARGV[7]): the pre-queue sorts after whoever waited before it,
 * in random order, and before every later joiner (their tickets are above the base). Before the pre-queue
 * opens nobody joins: {preQueueStart, -1}.
 */
const JOIN = `
local current = redis.call('HMGET', KEYS[1], 'token', 'id')
if current[1] and current[1] ~= ARGV[5] and (redis.call('ZSCORE', KEYS[2], current[2]) or redis.call('EXISTS', ARGV[4] .. current[2]) == 1) then
  return {current[1], 0}
end
local sale = redis.call('HMGET', KEYS[4], 'opensAt', 'preQueueStart', 'base')
local now = tonumber(ARGV[6])
local score
if sale[1] and now < tonumber(sale[1]) then
  if now < tonumber(sale[2]) then return {sale[2], -1} end
  score = string.format('%.17g', tonumber(sale[3]) + tonumber(ARGV[7]))
else
  score = redis.call('INCR', KEYS[3])
end
redis.call('ZADD', KEYS[2], score, ARGV[1])
redis.call('HSET', KEYS[1], 'token', ARGV[2], 'id', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {ARGV[2], 1}`;

/**
 * Publishes a sale. A new opensAt takes the current ticket number as the pre-queue's base; the same sale
 * published again (the controller does so every pass) keeps its base, so nobody's place moves.
 */
const SCHEDULE = `
if redis.call('HGET', KEYS[1], 'opensAt') ~= ARGV[1] then
  redis.call('HSET', KEYS[1], 'base', redis.call('GET', KEYS[2]) or '0')
end
redis.call('HSET', KEYS[1], 'opensAt', ARGV[1], 'preQueueStart', ARGV[2], 'timeslots', ARGV[3])
redis.call('PEXPIREAT', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[4]))
return 0`;

/**
 * Moves the head of the queue to active in one step (a token is never in neither place) and hands back the
 * admission times those tokens had been promised ('' for none). Nobody is admitted before a sale opens.
 */
const ACTIVATE = `
local opensAt = redis.call('HGET', KEYS[4], 'opensAt')
if opensAt and tonumber(ARGV[5]) < tonumber(opensAt) then return {} end
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
local promised = {}
for i = 1, #popped, 2 do
  redis.call('SET', ARGV[4] .. popped[i], '1', 'PX', ARGV[2])
  redis.call('ZADD', KEYS[2], ARGV[3], popped[i])
  promised[#promised + 1] = redis.call('HGET', KEYS[3], popped[i]) or ''
  redis.call('HDEL', KEYS[3], popped[i])
end
return promised`;

/**
 * The first promise of a token still waiting (one admitted meanwhile is not promised again). None before a
 * sale opens: a pre-queued place is only known once the pre-queue is complete.
 */
const PROMISE = `
local opensAt = redis.call('HGET', KEYS[3], 'opensAt')
if opensAt and tonumber(ARGV[3]) < tonumber(opensAt) then return 0 end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) end
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
    replacing: string,
    nowMs: number,
    shuffle: number,
  ): Promise<JoinResult> {
    const [live, created] = (await this.redis.eval(
      JOIN,
      4,
      userKey(userId),
      WAITING,
      SEQUENCE,
      SALE,
      tokenId,
      token,
      USER_TOKEN_TTL_MS,
      ACTIVE_PREFIX,
      replacing,
      nowMs,
      shuffle,
    )) as [string, number];
    if (created === -1) return { preQueueStart: Number(live) };
    return { token: live, created: created === 1 };
  }

  async scheduleSale(sale: SaleSchedule): Promise<void> {
    await this.redis.eval(
      SCHEDULE,
      2,
      SALE,
      SEQUENCE,
      sale.opensAt,
      sale.preQueueStart,
      JSON.stringify(sale.timeslotIds),
      SALE_TTL_MS,
    );
  }

  async sale(): Promise<SaleSchedule | undefined> {
    const { opensAt, preQueueStart, timeslots } = await this.redis.hgetall(SALE);
    if (!opensAt || !preQueueStart || !timeslots) return undefined;
    return {
      opensAt: Number(opensAt),
      preQueueStart: Number(preQueueStart),
      timeslotIds: JSON.parse(timeslots) as number[],
    };
  }

  async claimWarmUp(opensAt: number): Promise<boolean> {
    return (await this.redis.set(warmUpKey(opensAt), '1', 'PX', SALE_TTL_MS, 'NX')) !== null;
  }

  /**
   * An active token, the case of every hold and payment, costs one PTTL. Admission moves a
   * token from the queue to active in one script, so a token that is in neither place at
   * its ZRANK may have been admitted since the first PTTL: a second PTTL tells that from gone.
   */
  async state(tokenId: string, nowMs: number): Promise<TokenState> {
    const active = await this.activeState(tokenId, nowMs);
    if (active) return active;
    const [[, rank] = [], [, opensAt] = []] =
      (await this.redis.multi().zrank(WAITING, tokenId).hget(SALE, 'opensAt').exec()) ?? [];
    if (rank !== null && rank !== undefined) return waitingState(Number(rank), Number(opensAt), nowMs);
    return (await this.activeState(tokenId, nowMs)) ?? { kind: 'gone' };
  }

  private async activeState(tokenId: string, nowMs: number): Promise<TokenState | undefined> {
    const ttl = await this.redis.pttl(activeKey(tokenId));
    return ttl > 0 ? { kind: 'active', expiresAt: nowMs + ttl } : undefined;
  }

  async promise(tokenId: string, atMs: number, nowMs: number): Promise<void> {
    await this.redis.eval(PROMISE, 3, WAITING, PROMISED, SALE, tokenId, atMs, nowMs);
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
      4,
      WAITING,
      ACTIVE,
      PROMISED,
      SALE,
      count,
      activeTtlMs,
      nowMs + activeTtlMs,
      ACTIVE_PREFIX,
      nowMs,
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
