import { EventEmitter } from 'node:events';

/** A byte cache shared by replicas (Redis) or private to the process (the embedded default). */
export interface CacheStore {
  /** False for the in-process store: invalidations must then be applied by every replica itself. */
  readonly shared: boolean;
  get(key: string): Promise<Buffer | null>;
  set(key: string, value: Buffer, ttlSeconds: number): Promise<void>;
  del(key: string): Promise<void>;
}

/** Tells every replica that a key changed. */
export interface InvalidationBus {
  publish(key: string): Promise<void>;
  subscribe(handler: (key: string) => void): void;
  close(): Promise<void>;
}

/** Expiring in-process map with a size bound (oldest entry out first). */
export class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: V, ttlMs: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

/** The shared store of the embedded default: private to the one process there is. */
export class MemoryStore implements CacheStore {
  readonly shared = false;
  private readonly entries = new ExpiringMap<Buffer>();

  async get(key: string): Promise<Buffer | null> {
    return this.entries.get(key) ?? null;
  }

  async set(key: string, value: Buffer, ttlSeconds: number): Promise<void> {
    this.entries.set(key, value, ttlSeconds * 1000);
  }

  async del(key: string): Promise<void> {
    this.entries.delete(key);
  }
}

/** Invalidation within one process (no Redis: there is only one replica). */
export class LocalBus implements InvalidationBus {
  private readonly emitter = new EventEmitter();

  async publish(key: string): Promise<void> {
    this.emitter.emit('invalidate', key);
  }

  subscribe(handler: (key: string) => void): void {
    this.emitter.on('invalidate', handler);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}
