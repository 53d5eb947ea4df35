import {
  makeInformer,
  type CustomObjectsApi,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type ObjectCache,
} from '@kubernetes/client-node';
import {
  API_VERSION,
  GROUP,
  KIND,
  parseAlertScaler,
  PLURAL,
  VERSION,
  type AlertScaler,
  type AlertScalerResource,
  type AlertScalerStatus,
} from '../api/alertscaler.js';
import { httpCode } from '../kube-errors.js';
import type { Logger } from '../logger.js';
import { FIELD_MANAGER } from '../targets/kube-scale.js';
import { sameStatus, type ScalerStore } from './store.js';

const MAX_CONFLICT_RETRIES = 5;
const INFORMER_RESTART_MS = 1000;

type Resource = AlertScalerResource & { metadata: { name: string; namespace: string } };

/** AlertScalers of one namespace on the API server: a list+watch cache, fresh reads, status writes. */
export class KubeScalerStore implements ScalerStore {
  private readonly informer: Informer<Resource> & ObjectCache<Resource>;
  private readonly listeners: ((scaler: AlertScaler) => void)[] = [];
  private synced = false;
  private stopped = false;

  constructor(
    kubeConfig: KubeConfig,
    private readonly api: CustomObjectsApi,
    private readonly namespace: string,
    private readonly logger: Logger,
  ) {
    const path = { group: GROUP, version: VERSION, namespace, plural: PLURAL };
    this.informer = makeInformer<Resource>(
      kubeConfig,
      `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`,
      () => api.listNamespacedCustomObject(path) as Promise<KubernetesListObject<Resource>>,
    ) as Informer<Resource> & ObjectCache<Resource>; // makeInformer's ListWatch is also the cache
    const notify = (resource: Resource) => {
      const scaler = parseAlertScaler(resource);
      for (const listener of this.listeners) listener(scaler);
    };
    this.informer.on('add', notify);
    this.informer.on('update', notify);
    this.informer.on('error', (error: unknown) => {
      if (this.stopped) return;
      this.logger.warn({ err: error }, 'AlertScaler watch failed; restarting');
      setTimeout(() => void this.start().catch(() => undefined), INFORMER_RESTART_MS).unref();
    });
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.informer.start();
    this.synced = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer.stop();
  }

  list(): AlertScaler[] {
    return this.informer.list(this.namespace).map(parseAlertScaler);
  }

  ready(): boolean {
    return this.synced;
  }

  onChange(listener: (scaler: AlertScaler) => void): void {
    this.listeners.push(listener);
  }

  private async read(name: string): Promise<Resource | undefined> {
    try {
      return (await this.api.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: this.namespace,
        plural: PLURAL,
        name,
      })) as Resource;
    } catch (error) {
      if (httpCode(error) === 404) return undefined;
      throw error;
    }
  }

  async get(namespace: string, name: string): Promise<AlertScaler | undefined> {
    if (namespace !== this.namespace) return undefined;
    const resource = await this.read(name);
    return resource && parseAlertScaler(resource);
  }

  async updateStatus(
    namespace: string,
    name: string,
    mutate: (scaler: AlertScaler) => AlertScalerStatus,
  ): Promise<boolean> {
    if (namespace !== this.namespace) return false;
    for (let attempt = 1; ; attempt++) {
      const resource = await this.read(name);
      if (!resource) return false;
      const scaler = parseAlertScaler(resource);
      const status = mutate(scaler);
      if (sameStatus(status, scaler.status)) return true;
      try {
        await this.api.replaceNamespacedCustomObjectStatus({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name,
          // The resourceVersion read makes this a compare-and-swap: 409 when anyone wrote in between.
          body: { ...resource, apiVersion: API_VERSION, kind: KIND, status },
          fieldManager: FIELD_MANAGER,
        });
        return true;
      } catch (error) {
        const code = httpCode(error);
        if (code === 404) return false;
        if (code !== 409 || attempt >= MAX_CONFLICT_RETRIES) throw error;
      }
    }
  }
}
