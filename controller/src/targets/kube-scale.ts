import type { CustomObjectsApi } from '@kubernetes/client-node';
import { describeApiFailure, httpCode } from '../kube-errors.js';
import { ConflictError, TargetError, type ScaleState, type ScaleTarget } from './scale-target.js';

export interface ScaleTargetRef {
  apiVersion: string;
  kind: string;
  name: string;
}

/** Resource names of the built-in kinds with a /scale subresource; others: lower-case kind + "s" (CRD convention). */
const KNOWN_PLURALS: Record<string, string> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  ReplicaSet: 'replicasets',
};

export const FIELD_MANAGER = 'alertscaler';

interface Scale {
  metadata?: { resourceVersion?: string };
  spec?: { replicas?: number };
}

/**
 * The `/scale` subresource of a namespaced object (`/apis/GROUP/VERSION/namespaces/NS/PLURAL/NAME/scale`):
 * the write carries the resourceVersion read, so the API server answers 409 when anyone changed the
 * object in between.
 */
export class KubeScaleTarget implements ScaleTarget {
  readonly description: string;
  private readonly path: { group: string; version: string; plural: string; namespace: string; name: string };

  constructor(
    private readonly api: CustomObjectsApi,
    namespace: string,
    ref: ScaleTargetRef,
  ) {
    const [group, version] = ref.apiVersion.split('/');
    if (!group || !version) {
      throw new TargetError(
        'get',
        `${ref.kind}/${ref.name}`,
        `apiVersion "${ref.apiVersion}" has no group (core kinds are not supported)`,
      );
    }
    this.description = `${ref.kind}/${ref.name}`;
    const plural = KNOWN_PLURALS[ref.kind] ?? `${ref.kind.toLowerCase()}s`;
    this.path = { group, version, plural, namespace, name: ref.name };
  }

  async get(): Promise<ScaleState> {
    let scale: Scale;
    try {
      scale = (await this.api.getNamespacedCustomObjectScale(this.path)) as Scale;
    } catch (error) {
      throw new TargetError('get', this.description, describeApiFailure(error));
    }
    return { replicas: scale.spec?.replicas ?? 0, resourceVersion: scale.metadata?.resourceVersion ?? '' };
  }

  async set(replicas: number, resourceVersion: string): Promise<void> {
    const body = {
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name: this.path.name, namespace: this.path.namespace, resourceVersion },
      spec: { replicas },
    };
    try {
      await this.api.replaceNamespacedCustomObjectScale({ ...this.path, body, fieldManager: FIELD_MANAGER });
    } catch (error) {
      if (httpCode(error) === 409) throw new ConflictError(this.description);
      throw new TargetError('set', this.description, describeApiFailure(error));
    }
  }
}
