import { isDeepStrictEqual } from 'node:util';
import {
  parseAlertScaler,
  scalerKey,
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
  /** Called for each added, changed or deleted AlertScaler (a deleted one as it last was). */
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
    for (const resource of resources) this.apply(resource);
  }

  /** Creates or replaces an AlertScaler (its status is kept), as `kubectl apply` would. */
  apply(resource: AlertScalerResource): void {
    const scaler = parseAlertScaler({
      ...resource,
      metadata: {
        generation: 1,
        uid: `local-${resource.metadata.name}`,
        namespace: 'local',
        ...resource.metadata,
      },
    });
    const key = scalerKey(scaler);
    const status = this.scalers.get(key)?.status ?? scaler.status;
    this.changed({ ...scaler, status, resourceVersion: String(++this.version) });
  }

  delete(namespace: string, name: string): void {
    const scaler = this.scalers.get(`${namespace}/${name}`);
    if (!scaler) return;
    this.scalers.delete(scalerKey(scaler));
    for (const listener of this.listeners) listener(scaler);
  }

  private changed(scaler: AlertScaler): void {
    this.scalers.set(scalerKey(scaler), scaler);
    for (const listener of this.listeners) listener(scaler);
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
    this.changed({ ...scaler, status, resourceVersion: String(++this.version) });
    return true;
  }

  onChange(listener: (scaler: AlertScaler) => void): void {
    this.listeners.push(listener);
  }

  ready(): boolean {
    return true;
  }
}
