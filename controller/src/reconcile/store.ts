import { isDeepStrictEqual } from 'node:util';
import {
  parseAlertScaler,
  type AlertScaler,
  type AlertScalerResource,
  type AlertScalerStatus,
} from '../api/alertscaler.js';

/**
 * Where AlertScalers live: the API server (KubeScalerStore) or, for the local drill on one machine,
 * memory (MemoryScalerStore). The webhook and the reconcile loop only see this interface.
 */
export interface ScalerStore {
  /** The cached AlertScalers (for matching alerts and the periodic resync). */
  list(): AlertScaler[];
  /** A fresh read; undefined when it does not exist. */
  get(namespace: string, name: string): Promise<AlertScaler | undefined>;
  /**
   * Read-modify-write of the status at the version read, retried on conflict, skipped when `mutate`
   * changes nothing. Resolves false when the object is gone.
   */
  updateStatus(
    namespace: string,
    name: string,
    mutate: (scaler: AlertScaler) => AlertScalerStatus,
  ): Promise<boolean>;
  /** Called for each added or changed AlertScaler. */
  onChange(listener: (scaler: AlertScaler) => void): void;
  /** False until the first list has been loaded. */
  ready(): boolean;
}

export const sameStatus = (a: AlertScalerStatus, b: AlertScalerStatus): boolean => isDeepStrictEqual(a, b);

/** AlertScalers held in memory: the local drill's store (the resources come from a file). */
export class MemoryScalerStore implements ScalerStore {
  private readonly scalers = new Map<string, AlertScaler>();
  private readonly listeners: ((scaler: AlertScaler) => void)[] = [];
  private version = 0;

  constructor(resources: readonly AlertScalerResource[]) {
    for (const resource of resources) {
      const scaler = parseAlertScaler({
        ...resource,
        metadata: {
          generation: 1,
          uid: `local-${resource.metadata.name}`,
          namespace: 'local',
          ...resource.metadata,
        },
      });
      this.scalers.set(`${scaler.namespace}/${scaler.name}`, {
        ...scaler,
        resourceVersion: String(++this.version),
      });
    }
  }

  list(): AlertScaler[] {
    return [...this.scalers.values()];
  }

  async get(namespace: string, name: string): Promise<AlertScaler | undefined> {
    return this.scalers.get(`${namespace}/${name}`);
  }

  async updateStatus(namespace: string, name: string, mutate: (scaler: AlertScaler) => AlertScalerStatus) {
    const key = `${namespace}/${name}`;
    const scaler = this.scalers.get(key);
    if (!scaler) return false;
    const status = mutate(scaler);
    if (sameStatus(status, scaler.status)) return true;
    const updated = { ...scaler, status, resourceVersion: String(++this.version) };
    this.scalers.set(key, updated);
    for (const listener of this.listeners) listener(updated);
    return true;
  }

  onChange(listener: (scaler: AlertScaler) => void): void {
    this.listeners.push(listener);
  }

  ready(): boolean {
    return true;
  }
}
