import type { Context } from 'koa';
import type { Redis } from 'ioredis';
import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { tooManyRequests } from './problem.js';

/** The actions a client could repeat to crowd others out. */
export type LimitedAction = 'queue-token' | 'hold' | 'payment';

export interface RateLimitSettings {
  userPerMinute: number;
  ipPerMinute: number;
}

/**
 * Per-user and per-address budgets for each limited action, in Redis so that every replica spends from
 * the same one (in the process on the embedded default). While Redis fails, each replica keeps counting
 * in memory (rate-limiter-flexible's insurance limiter) rather than letting everything through.
 */
export class RateLimits {
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  constructor(
    private readonly redis: Redis | undefined,
    private readonly settings: RateLimitSettings,
  ) {}

  /** Spends one request of `userId` and of the client's address on `action`; 429 once either is spent. */
  async consume(ctx: Context, action: LimitedAction, userId: number): Promise<void> {
    const byUser = this.limiter(action, 'user', this.settings.userPerMinute);
    const byAddress = this.limiter(action, 'ip', this.settings.ipPerMinute);
    try {
      const [user] = await Promise.all([byUser.consume(String(userId)), byAddress.consume(ctx.ip)]);
      ctx.set({ 'RateLimit-Limit': String(this.settings.userPerMinute), ...rateLimitHeaders(user) });
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      const seconds = Math.max(1, Math.ceil(error.msBeforeNext / 1000));
      const problem = tooManyRequests(
        'rate-limited',
        `too many ${action} requests: retry in ${seconds} s`,
        seconds,
      );
      Object.assign(problem.headers, rateLimitHeaders(error));
      throw problem;
    }
  }

  private limiter(action: LimitedAction, by: 'user' | 'ip', points: number): RateLimiterAbstract {
    const keyPrefix = `ratelimit:${action}:${by}`;
    let limiter = this.limiters.get(keyPrefix);
    if (!limiter) {
      const options = { keyPrefix, points, duration: 60 };
      limiter = this.redis
        ? new RateLimiterRedis({
            ...options,
            storeClient: this.redis,
            insuranceLimiter: new RateLimiterMemory(options),
          })
        : new RateLimiterMemory(options);
      this.limiters.set(keyPrefix, limiter);
    }
    return limiter;
  }
}

/** The IETF httpapi RateLimit header fields, in their widely deployed RateLimit-* form. */
function rateLimitHeaders(result: RateLimiterRes): Record<string, string> {
  return {
    'RateLimit-Remaining': String(Math.max(0, result.remainingPoints)),
    'RateLimit-Reset': String(Math.ceil(result.msBeforeNext / 1000)),
  };
}
