import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '@concert-booking/lib';
import { Coalescer, SingleFlight } from '../cache/single-flight.js';
import { ExpiringMap, type CacheStore, type InvalidationBus } from '../cache/store.js';
import { compressedRepresentations, identityOnly, type Representations } from '../http/representations.js';
import { SERVICE_METRICS } from '../metrics.js';

export interface SeatMapCacheOptions {
  enabled: boolean;
  store: CacheStore;
  bus: InvalidationBus;
  /** Reads the serialized seat map from Postgres; null when the timeslot does not exist. */
  load: (timeslotId: number) => Promise<Buffer | null>;
  ttlSeconds: number;
  memoryTtlMs: number;
  registry: Registry;
  logger: Logger;
}

/** The key of the incident document's `@Cacheable(value = "concert:timeslot:seat", key = "#timeslotId")`. */
export const seatMapKey = (timeslotId: number) => `concert:timeslot:seat:${timeslotId}`;

/**
 * A late second delete removes a value that a fill racing the first delete wrote back. It runs
 * this long after the last invalidation of a key; during a burst each invalidation's first
 * delete already removes what an earlier racing fill wrote.
 */
const SECOND_DELETE_MS = 500;
/** About 45 KB each (a 500-seat map and its two codings): at most 45 MB. */
const ENCODED_MAX_ENTRIES = 1_000;
const ENCODED_TTL_MS = 60_000;

/**
 * Cache-aside for the seat map, in two layers: a short-lived in-process copy (a hot seat map
 * costs no network hop; the body with its gzip and brotli codings) in front of the shared store (Redis). Misses are single-flighted, so
 * a stampede costs one query; a Redis failure falls back to Postgres and is counted, never
 * surfaced. Invalidations travel on the bus so every replica drops its in-process copy.
 */
export class SeatMapCache {
  private readonly memory = new ExpiringMap<Representations>();
  /**
   * The last representations of each recently read key, kept past the memory layer's expiry: a refill that
   * brings the same bytes (most do, a hot seat map refills every second) reuses their compressed codings.
   */
  private readonly encoded = new ExpiringMap<Representations>(ENCODED_MAX_ENTRIES);
  private readonly flights = new SingleFlight<Representations | null>();
  /** Bumped by every invalidation of a key: a fill that saw a bump while loading does not write. */
  private readonly generations = new Map<string, number>();
  private readonly requests: Counter<'layer' | 'result'>;
  /** Counted on every request: made once, not looked up by their labels each time. */
  private readonly memoryHits: Counter.Internal;
  private readonly memoryMisses: Counter.Internal;
  private readonly degraded: Counter;
  /** Concurrent invalidations of one key share the Redis round trips (one in flight, one queued). */
  private readonly invalidations = new Coalescer();
  /** One pending second delete per key, pushed back by each invalidation instead of one timer per hold. */
  private readonly secondDeletes = new Map<string, { due: number; timer: NodeJS.Timeout }>();
  private on: boolean;

  constructor(private readonly options: SeatMapCacheOptions) {
    this.on = options.enabled;
    const isOn = () => this.on;
    new Gauge({
      ...SERVICE_METRICS.seatMapCacheEnabled,
      registers: [options.registry],
      collect() {
        this.set(isOn() ? 1 : 0);
      },
    });
    this.requests = new Counter({
      ...SERVICE_METRICS.seatMapCacheRequests,
      registers: [options.registry],
    });
    this.memoryHits = this.requests.labels('memory', 'hit');
    this.memoryMisses = this.requests.labels('memory', 'miss');
    this.degraded = new Counter({
      ...SERVICE_METRICS.seatMapDegraded,
      registers: [options.registry],
    });
    options.bus.subscribe((key) => this.forget(key, !options.store.shared));
  }

  get enabled(): boolean {
    return this.on;
  }

  /**
   * Switches the cache on or off at run time (the incident's fix, applied without a restart). Invalidations
   * keep running while it is off, so the shared layer holds nothing stale when it comes back on.
   */
  setEnabled(enabled: boolean): void {
    if (enabled === this.on) return;
    this.on = enabled;
    this.memory.clear();
    this.options.logger.info({ enabled }, 'seat-map cache switched');
  }

  async get(timeslotId: number): Promise<Representations | null> {
    if (!this.on) {
      const body = await this.options.load(timeslotId);
      // Every request reads Postgres: compressing each would only add to its cost.
      return body && identityOnly(body);
    }
    const key = seatMapKey(timeslotId);
    if (this.options.memoryTtlMs > 0) {
      const cached = this.memory.get(key);
      if (cached) {
        this.memoryHits.inc();
        return cached;
      }
      this.memoryMisses.inc();
    }
    return this.flights.run(key, () => this.fill(key, timeslotId));
  }

  /**
   * Called after a seat status change has committed; resolves once a Redis delete and publish
   * sent after this call are done.
   */
  async invalidate(timeslotId: number): Promise<void> {
    const key = seatMapKey(timeslotId);
    this.forget(key, true);
    await this.invalidations.run(key, () => this.invalidateShared(key));
  }

  close(): void {
    for (const { timer } of this.secondDeletes.values()) clearTimeout(timer);
    this.secondDeletes.clear();
  }

  private async invalidateShared(key: string): Promise<void> {
    try {
      await this.options.store.del(key);
      await this.options.bus.publish(key);
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message, key }, 'seat-map invalidation failed');
    }
    const pending = this.secondDeletes.get(key);
    if (pending) pending.due = Date.now() + SECOND_DELETE_MS;
    else this.scheduleSecondDelete(key, Date.now() + SECOND_DELETE_MS);
  }

  private scheduleSecondDelete(key: string, due: number): void {
    const timer = setTimeout(
      () => {
        const { due: latest } = this.secondDeletes.get(key)!;
        if (latest > Date.now()) return this.scheduleSecondDelete(key, latest);
        this.secondDeletes.delete(key);
        this.options.store.del(key).catch(() => undefined);
      },
      Math.max(0, due - Date.now()),
    );
    timer.unref();
    this.secondDeletes.set(key, { due, timer });
  }

  private forget(key: string, alsoStore: boolean): void {
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
    this.memory.delete(key);
    if (alsoStore && !this.options.store.shared) void this.options.store.del(key);
  }

  private async fill(key: string, timeslotId: number): Promise<Representations | null> {
    const generation = this.generations.get(key) ?? 0;
    let storeHealthy = true;
    try {
      const shared = await this.options.store.get(key);
      if (shared) {
        this.requests.inc({ layer: 'redis', result: 'hit' });
        return this.remember(key, shared, generation);
      }
      this.requests.inc({ layer: 'redis', result: 'miss' });
    } catch (error) {
      storeHealthy = false;
      this.requests.inc({ layer: 'redis', result: 'error' });
      this.degraded.inc();
      this.options.logger.warn(
        { err: (error as Error).message, key },
        'seat-map cache unavailable, reading Postgres',
      );
    }
    const body = await this.options.load(timeslotId);
    if (!body) return null;
    if (storeHealthy && (this.generations.get(key) ?? 0) === generation) {
      this.options.store.set(key, body, this.options.ttlSeconds).catch((error: Error) => {
        this.requests.inc({ layer: 'redis', result: 'error' });
        this.options.logger.warn({ err: error.message, key }, 'seat-map cache write failed');
      });
    }
    return this.remember(key, body, generation);
  }

  /** The fill's compressed codings are made here, once per new content, for every request the entry serves. */
  private async remember(key: string, body: Buffer, generation: number): Promise<Representations> {
    const previous = this.encoded.get(key);
    const cached = previous?.identity.body.equals(body) ? previous : await compressedRepresentations(body);
    this.encoded.set(key, cached, ENCODED_TTL_MS);
    if (this.options.memoryTtlMs > 0 && (this.generations.get(key) ?? 0) === generation) {
      this.memory.set(key, cached, this.options.memoryTtlMs);
    }
    return cached;
  }
}
