import { Redis } from 'ioredis';
import type { Logger } from '@concert-booking/lib';
import type { CacheStore, InvalidationBus } from './store.js';

export type { Redis };

/**
 * The one place that builds Redis clients. Commands fail fast (no offline queue, short timeout)
 * so a dead or slow Redis degrades the cache instead of stalling requests.
 */
export function createRedis(url: string, commandTimeoutMs: number, logger: Logger): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2_000),
  });
  let healthy = true;
  client.on('error', (error) => {
    if (healthy) logger.warn({ err: error.message }, 'redis connection error');
    healthy = false;
  });
  client.on('ready', () => {
    if (!healthy) logger.info('redis connection restored');
    healthy = true;
  });
  return client;
}

export class RedisStore implements CacheStore {
  readonly shared = true;
  constructor(private readonly redis: Redis) {}

  get(key: string): Promise<Buffer | null> {
    return this.redis.getBuffer(key);
  }

  async set(key: string, value: Buffer, ttlSeconds: number): Promise<void> {
    await this.redis.set(key, value, 'EX', ttlSeconds);
  }

  async del(key: string): Promise<void> {
    await this.redis.del(key);
  }
}

const CHANNEL = 'booking:cache-invalidation';

/** Pub/sub on a dedicated connection (a subscribed connection can run no other command). */
export class RedisBus implements InvalidationBus {
  private readonly subscriber: Redis;

  constructor(
    private readonly publisher: Redis,
    logger: Logger,
  ) {
    // The subscriber may queue its SUBSCRIBE until connected; it re-subscribes after reconnects.
    this.subscriber = publisher.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
    this.subscriber.on('error', () => undefined);
    this.subscriber
      .subscribe(CHANNEL)
      .catch((error: Error) => logger.warn({ err: error.message }, 'subscribe failed'));
  }

  async publish(key: string): Promise<void> {
    await this.publisher.publish(CHANNEL, key);
  }

  subscribe(handler: (key: string) => void): void {
    this.subscriber.on('message', (channel: string, key: string) => {
      if (channel === CHANNEL) handler(key);
    });
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
  }
}
