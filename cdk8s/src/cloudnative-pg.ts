import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { APPS, appLabelling } from './labels.js';
import type { BundleValues } from './values.js';

/** The database and its owner CloudNativePG creates (credentials in the Secret `postgres-app`). */
export const CNPG_DATABASE = { name: 'booking', owner: 'booking' } as const;
/** Port of each instance manager's status API, which the operator and the other instances call. */
export const CNPG_STATUS_PORT = 8000;

/** The CloudNativePG Cluster spec of postgres.mode cloudnative-pg, sized like the bundled Postgres. */
export function cloudnativePgClusterSpec(values: BundleValues): Record<string, unknown> {
  const pg = values.postgres;
  const { labels } = appLabelling(values, 'postgres');
  return {
    instances: pg.cloudnativePg.instances,
    // The bundle's labels on every pod, so the NetworkPolicies and Services select them as they do the
    // bundled Postgres.
    inheritedMetadata: { labels },
    postgresql: {
      parameters: { max_connections: String(pg.maxConnections), shared_buffers: pg.sharedBuffers },
    },
    bootstrap: { initdb: { database: CNPG_DATABASE.name, owner: CNPG_DATABASE.owner } },
    enableSuperuserAccess: false,
    storage: { size: pg.storageSize, ...(pg.storageClassName ? { storageClass: pg.storageClassName } : {}) },
    resources: pg.resources,
    affinity: {
      enablePodAntiAffinity: true,
      podAntiAffinityType: 'preferred',
      topologyKey: 'kubernetes.io/hostname',
    },
  };
}

/**
 * postgres.mode cloudnative-pg: a CloudNativePG `Cluster` named `postgres` (the operator is yours to install).
 * It runs a primary and streaming replicas with failover, and creates the Services `postgres-rw` (the service
 * connects there), `postgres-ro`, `postgres-r`, and the Secret `postgres-app`.
 */
export class CloudNativePgCluster extends Construct {
  readonly cluster: ApiObject;

  constructor(scope: Construct, id: string, values: BundleValues) {
    super(scope, id);
    const { metadata } = appLabelling(values, 'postgres');
    this.cluster = new ApiObject(this, 'cluster', {
      apiVersion: 'postgresql.cnpg.io/v1',
      kind: 'Cluster',
      metadata: metadata(APPS.postgres.name),
      spec: cloudnativePgClusterSpec(values),
    });
  }
}
