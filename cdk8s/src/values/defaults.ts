import { readFileSync } from 'node:fs';
import { resolveValues, type BundleValues, type ValuesInput } from './schema.js';

const bundleVersion = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Replicas on different nodes when there are several, one node still enough. */
const SPREAD_OVER_NODES: ValuesInput['service']['scheduling'] = {
  podAntiAffinity: 'preferred',
  topologySpread: [
    { topologyKey: 'kubernetes.io/hostname', maxSkew: 1, whenUnsatisfiable: 'ScheduleAnyway' },
  ],
};

export const DEFAULT_VALUES: ValuesInput = {
  namespace: 'concert-booking',
  instance: 'concert-booking',
  partOf: 'concert-booking',
  version: bundleVersion,
  image: { repository: 'concert-booking', tag: bundleVersion, pullPolicy: 'IfNotPresent' },
  service: {
    replicas: 2,
    maxReplicas: 10,
    maxSurge: 1,
    pdbMaxUnavailable: 1,
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    migrationResources: {
      requests: { cpu: '100m', memory: '128Mi' },
      limits: { cpu: '500m', memory: '256Mi' },
    },
    logLevel: 'info',
    shutdownTimeoutMs: 10_000,
    preStopSleepSeconds: 5,
    dbPoolMax: 10,
    nodeMaxOldSpaceMb: 384,
    probes: {
      startup: { periodSeconds: 2, failureThreshold: 30, timeoutSeconds: 2 },
      liveness: { periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 2 },
      readiness: { periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 2 },
    },
    extraEnv: {},
    scheduling: SPREAD_OVER_NODES,
  },
  alertscaler: {
    replicas: 2,
    pdbMaxUnavailable: 1,
    scaleBookingService: true,
    scheduling: SPREAD_OVER_NODES,
  },
  postgres: {
    mode: 'bundled',
    cloudnativePg: { instances: 3, operatorNamespace: 'cnpg-system' },
    image: 'postgres:17.6-alpine',
    storageSize: '10Gi',
    resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '2', memory: '1Gi' } },
    sharedBuffers: '128MB',
    reservedConnections: 10,
  },
  redis: {
    mode: 'bundled',
    image: 'redis:7.4.5-alpine',
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '320Mi' } },
    maxmemory: '256mb',
    // Evict only keys with a TTL (seat-map cache entries): waiting-room state without a TTL is kept.
    maxmemoryPolicy: 'volatile-lru',
  },
  prometheus: {
    image: 'prom/prometheus:v3.5.0',
    resources: { requests: { cpu: '200m', memory: '512Mi' }, limits: { cpu: '1', memory: '1Gi' } },
    storageSize: '10Gi',
    retention: '15d',
    scrapeInterval: '15s',
    evaluationInterval: '15s',
  },
  alertmanager: {
    image: 'prom/alertmanager:v0.28.1',
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
  },
  monitoring: {
    mode: 'bundled',
    grafanaDashboard: true,
    // kube-prometheus-stack's defaults: its namespace as commonly installed, the operator's pod labels, the
    // operator's governing Services (prometheus-operated, alertmanager-operated).
    operator: {
      namespace: 'monitoring',
      prometheusPodLabels: { 'app.kubernetes.io/name': 'prometheus' },
      alertmanagerPodLabels: { 'app.kubernetes.io/name': 'alertmanager' },
      prometheusUrl: 'http://prometheus-operated.monitoring.svc:9090',
      alertmanagerUrl: 'http://alertmanager-operated.monitoring.svc:9093',
      resourceLabels: {},
    },
  },
  networkPolicy: {
    apiServer: { cidrs: ['0.0.0.0/0'], ports: [443, 6443] },
    notificationEgress: { cidrs: ['0.0.0.0/0'], ports: [443, 587] },
    externalPostgres: { cidrs: ['0.0.0.0/0'], ports: [5432] },
    externalRedis: { cidrs: ['0.0.0.0/0'], ports: [6379] },
  },
};

/** The default values, resolved (what the committed charts/ are synthesized from). */
export function defaultValues(): BundleValues {
  return resolveValues(DEFAULT_VALUES);
}
