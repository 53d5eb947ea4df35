import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-33';
import { Construct } from 'constructs';
import {
  alertScalerSpecSchema,
  API_VERSION,
  crdManifest,
  GROUP,
  KIND,
  onSaleCrdManifest,
  ONSALE_PLURAL,
  PLURAL,
  type AlertScalerSpecInput,
} from '@concert-booking/controller/api';
import { bookingAlertScalerSpec } from '@concert-booking/controller/api';
import { ALERTS } from '@concert-booking/lib';
import { serviceImage } from './booking-service.js';
import {
  clusterIpService,
  containerPort,
  podDisruptionBudget,
  emptyDir,
  httpProbe,
  podScheduling,
  podSecurityContext,
  probeTiming,
  restrictedContainer,
  secretFilesVolume,
  servicePort,
} from './common.js';
import { APPS, appLabelling, appLabels } from './labels.js';
import { APP_UID, BOOKING_ADMIN_SERVICE, COMMANDS, PORTS, SECRETS } from './names.js';
import type { BundleValues } from './values.js';

/** The alert the default AlertScaler reacts to (monitoring/src/rules.ts), routed by its `autoscale` label. */
export const SCALING_ALERT = ALERTS.highP90Latency;
const SECRETS_DIR = '/etc/alertscaler/secrets';
/** The booking service's admin token (its Secret's key, so the two cannot disagree): OnSales are published with it. */
const BOOKING_ADMIN_DIR = '/etc/alertscaler/booking-admin';
const LEASE_NAME = 'alertscaler-leader';
const CONTROLLER_RESOURCES = {
  requests: { cpu: '50m', memory: '96Mi' },
  limits: { cpu: '250m', memory: '192Mi' },
};

/**
 * The Role, rule by rule: exactly the calls the controller makes (controller/test/cluster.test.ts runs
 * the controller under it and checks that broader calls are refused).
 */
export const CONTROLLER_RULES: k8s.PolicyRule[] = [
  // targets/kube-scale.ts: read-modify-write of /scale.
  { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'update'] },
  // reconcile/kube-store.ts: the list+watch cache and fresh reads; status compare-and-swap writes.
  { apiGroups: [GROUP], resources: [PLURAL], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [GROUP], resources: [`${PLURAL}/status`], verbs: ['update'] },
  // onsale/reconciler.ts: a pass lists the OnSales and writes each one's status at the version read.
  { apiGroups: [GROUP], resources: [ONSALE_PLURAL], verbs: ['get', 'list'] },
  { apiGroups: [GROUP], resources: [`${ONSALE_PLURAL}/status`], verbs: ['update'] },
  // reconcile/events.ts.
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
  // leader.ts: create cannot be limited to a name; reading and renewing can.
  { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
  {
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    resourceNames: [LEASE_NAME],
    verbs: ['get', 'update'],
  },
];

/**
 * The controller's CustomResourceDefinitions, AlertScaler and OnSale (cluster-scoped: charts/00-crds), each
 * derived from its zod schema.
 */
export class ControllerCrds extends Construct {
  readonly crds: ApiObject[];

  constructor(scope: Construct, id: string, values: BundleValues) {
    super(scope, id);
    const manifests: [string, Record<string, unknown>][] = [
      ['crd', crdManifest()],
      ['onsale-crd', onSaleCrdManifest()],
    ];
    this.crds = manifests.map(([objectId, manifest]) => {
      const { apiVersion, kind, metadata, ...rest } = manifest as {
        apiVersion: string;
        kind: string;
        metadata: { name: string };
      };
      return new ApiObject(this, objectId, {
        apiVersion,
        kind,
        metadata: { ...metadata, labels: appLabels(values, 'alertscaler') },
        ...rest,
      });
    });
  }
}

/** The default AlertScaler: the booking service between its configured replicas and maxReplicas. */
export function defaultAlertScalerSpec(values: BundleValues): AlertScalerSpecInput {
  return bookingAlertScalerSpec({
    namespace: values.namespace,
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: APPS.bookingService.name },
    minReplicas: values.service.replicas,
    maxReplicas: values.service.maxReplicas,
    ...values.alertscaler.policy,
  });
}

/** The Alertmanager the controller resyncs firing alerts from and the Prometheus it queries (monitoring.mode). */
export function monitoringUrls(values: BundleValues): { ALERTMANAGER_URL: string; PROMETHEUS_URL: string } {
  const { mode, operator } = values.monitoring;
  return mode === 'operator'
    ? { ALERTMANAGER_URL: operator.alertmanagerUrl, PROMETHEUS_URL: operator.prometheusUrl }
    : {
        ALERTMANAGER_URL: `http://${APPS.alertmanager.name}:${PORTS.alertmanager}`,
        PROMETHEUS_URL: `http://${APPS.prometheus.name}:${PORTS.prometheus}`,
      };
}

/**
 * The controller: ServiceAccount + Role + RoleBinding, Deployment (webhook, /metrics and probes on 8080),
 * Service `alertscaler:8080` (Alertmanager's webhook URL), PodDisruptionBudget, and the default AlertScaler
 * (with `alertscaler.scaleBookingService`). The webhook token
 * is the same Secret key Alertmanager sends (`alertmanager-secrets/controller-webhook-token`), and the admin token
 * it publishes OnSales with is the booking service's own (`booking-secrets/admin-token`), so no two can disagree.
 */
export class AlertScalerController extends Construct {
  readonly deployment: k8s.KubeDeployment;
  readonly role: k8s.KubeRole;
  readonly pdb: k8s.KubePodDisruptionBudget;
  readonly scaler: ApiObject | undefined;

  constructor(scope: Construct, id: string, values: BundleValues) {
    super(scope, id);
    const name = APPS.alertscaler.name;
    const a = values.alertscaler;
    const { selector, labels, metadata } = appLabelling(values, 'alertscaler');
    const tokenKey = SECRETS.alertmanager.keys.controllerWebhookToken;
    const adminTokenKey = SECRETS.service.keys.adminToken;

    new k8s.KubeServiceAccount(this, 'service-account', { metadata: metadata() });
    this.role = new k8s.KubeRole(this, 'role', { metadata: metadata(), rules: CONTROLLER_RULES });
    new k8s.KubeRoleBinding(this, 'role-binding', {
      metadata: metadata(),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: values.namespace }],
    });

    const fieldEnv = (envName: string, fieldPath: string): k8s.EnvVar => ({
      name: envName,
      valueFrom: { fieldRef: { fieldPath } },
    });
    const env: Record<string, string> = {
      MODE: 'kubernetes',
      HOST: '0.0.0.0',
      PORT: String(PORTS.alertscaler),
      LOG_LEVEL: values.service.logLevel,
      WEBHOOK_TOKEN_FILE: `${SECRETS_DIR}/${tokenKey}`,
      BOOKING_ADMIN_URL: `http://${BOOKING_ADMIN_SERVICE}:${PORTS.bookingServiceAdmin}`,
      BOOKING_ADMIN_TOKEN_FILE: `${BOOKING_ADMIN_DIR}/${adminTokenKey}`,
      ...monitoringUrls(values),
      LEASE_NAME,
    };
    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: metadata(),
      spec: {
        replicas: a.replicas,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            enableServiceLinks: false,
            securityContext: podSecurityContext(APP_UID),
            ...podScheduling(a.scheduling, selector),
            containers: [
              restrictedContainer(
                {
                  name,
                  image: serviceImage(values),
                  imagePullPolicy: values.image.pullPolicy,
                  command: [...COMMANDS.controller],
                  env: [
                    ...Object.entries(env).map(([envName, value]) => ({ name: envName, value })),
                    fieldEnv('NAMESPACE', 'metadata.namespace'),
                    fieldEnv('POD_NAME', 'metadata.name'),
                  ],
                  ports: [containerPort('http', PORTS.alertscaler)],
                  livenessProbe: httpProbe('/livez', 'http', probeTiming(10, 3, 2)),
                  readinessProbe: httpProbe('/readyz', 'http', probeTiming(5, 2, 2)),
                  volumeMounts: [
                    { name: 'secrets', mountPath: SECRETS_DIR, readOnly: true },
                    { name: 'booking-admin', mountPath: BOOKING_ADMIN_DIR, readOnly: true },
                    { name: 'tmp', mountPath: '/tmp' },
                  ],
                },
                CONTROLLER_RESOURCES,
              ),
            ],
            volumes: [
              secretFilesVolume('secrets', SECRETS.alertmanager.name, [tokenKey]),
              secretFilesVolume('booking-admin', SECRETS.service.name, [adminTokenKey]),
              emptyDir('tmp'),
            ],
          },
        },
      },
    });

    clusterIpService(this, metadata(), selector, servicePort('http', PORTS.alertscaler));

    this.pdb = podDisruptionBudget(this, metadata(), selector, a.pdbMaxUnavailable);

    // Parsed at synth time: the chart cannot carry a spec the controller would reject.
    this.scaler = a.scaleBookingService
      ? new ApiObject(this, 'default-alertscaler', {
          apiVersion: API_VERSION,
          kind: KIND,
          metadata: metadata(APPS.bookingService.name),
          spec: alertScalerSpecSchema.parse(defaultAlertScalerSpec(values)),
        })
      : undefined;
  }
}
