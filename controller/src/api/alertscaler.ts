import { z } from 'zod';
import { customResourceDefinition, firstIssue } from './crd.js';
import { API_VERSION, GROUP, VERSION } from './group.js';

export { API_VERSION, GROUP, VERSION };

/**
 * The AlertScaler resource: ONE zod schema for the spec (and one for the status) drives the controller's
 * own validation and the CRD's openAPIV3Schema (see crdManifest), so the two cannot drift apart.
 */
export const KIND = 'AlertScaler';
export const PLURAL = 'alertscalers';

const MAX_REPLICAS = 10_000;
const DAY_SECONDS = 86_400;

/** How many pods one scaling step adds or removes: a fixed count, or a share of the current replicas. */
const stepSchema = z.strictObject({
  type: z
    .enum(['Pods', 'Percent'])
    .describe('Pods: a fixed count; Percent: of the current replicas (at least 1 pod)'),
  value: z.int().min(1).max(1000),
});

/** Alertmanager's label matchers (=, !=, =~, !~); regular expressions are anchored as in Alertmanager. */
const matcherSchema = z
  .strictObject({
    name: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name'),
    op: z.enum(['=', '!=', '=~', '!~']).default('='),
    value: z.string().max(1024),
  })
  .refine((m) => !m.op.includes('~') || compiles(m.value), {
    message: 'not a valid regular expression',
    path: ['value'],
  });

function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

/** An alert counts when its alertname is `alertName` and every matcher holds. */
const alertEntrySchema = z.strictObject({
  alertName: z.string().min(1),
  matchers: z.array(matcherSchema).max(20).default([]),
});

export const alertScalerSpecSchema = z
  .strictObject({
    scaleTargetRef: z
      .strictObject({
        apiVersion: z.string().min(1).describe('e.g. apps/v1'),
        kind: z.string().min(1).describe('e.g. Deployment: anything with a /scale subresource'),
        name: z.string().min(1).max(253),
      })
      .describe('The workload to scale, in the AlertScaler namespace'),
    alerts: z
      .array(alertEntrySchema)
      .min(1)
      .max(20)
      .describe('An alert counts when its alertname matches one entry and all that entry matchers hold'),
    saturation: z
      .strictObject({
        alerts: z
          .array(alertEntrySchema)
          .max(20)
          .default([])
          .describe(
            'While one of these fires (a shared dependency such as the database is saturated), do not scale up: more replicas would add load to it',
          ),
        holdSeconds: z
          .int()
          .min(0)
          .max(DAY_SECONDS)
          .default(300)
          .describe(
            'After the last saturation alert ends, keep holding this long: the latency alert still averages over the saturated period (its rate window)',
          ),
      })
      .default({ alerts: [], holdSeconds: 300 }),
    minReplicas: z.int().min(1).max(MAX_REPLICAS),
    maxReplicas: z.int().min(1).max(MAX_REPLICAS),
    scaleUp: z
      .strictObject({
        step: stepSchema.default({ type: 'Pods', value: 1 }),
        cooldownSeconds: z
          .int()
          .min(0)
          .max(DAY_SECONDS)
          .default(120)
          .describe('After a scale-up, before the next'),
      })
      .default({ step: { type: 'Pods', value: 1 }, cooldownSeconds: 120 }),
    scaleDown: z
      .strictObject({
        step: stepSchema.default({ type: 'Pods', value: 1 }),
        stabilizationWindowSeconds: z
          .int()
          .min(0)
          .max(DAY_SECONDS)
          .default(300)
          .describe('No alert may have fired for this long before a scale-down'),
        cooldownSeconds: z
          .int()
          .min(0)
          .max(DAY_SECONDS)
          .default(120)
          .describe('After any scale, before a scale-down'),
      })
      .default({ step: { type: 'Pods', value: 1 }, stabilizationWindowSeconds: 300, cooldownSeconds: 120 }),
    paused: z.boolean().default(false).describe('Change nothing; report Paused'),
    dryRun: z.boolean().default(false).describe('Decide and report (status, Event) without scaling'),
  })
  .refine((spec) => spec.minReplicas <= spec.maxReplicas, {
    message: 'minReplicas must not exceed maxReplicas',
    path: ['maxReplicas'],
  });

export type AlertScalerSpec = z.output<typeof alertScalerSpecSchema>;
export type AlertScalerSpecInput = z.input<typeof alertScalerSpecSchema>;
export type AlertMatcher = z.output<typeof matcherSchema>;

const time = z.iso.datetime();

export const conditionSchema = z.strictObject({
  type: z.enum(['AbleToScale', 'ScalingActive', 'ScalingLimited']),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: time,
});

/** scale: an alert of spec.alerts (scale up while it fires); saturation: of spec.saturation.alerts (hold). */
export const alertRoleSchema = z.enum(['scale', 'saturation']);

export const firingAlertSchema = z.strictObject({
  fingerprint: z.string(),
  startsAt: time,
  alertName: z.string(),
  role: alertRoleSchema.default('scale'),
  /** When a webhook or a resync last reported this episode firing. */
  lastNotifiedTime: time,
});

export const resolvedAlertSchema = z.strictObject({
  fingerprint: z.string(),
  startsAt: time,
  resolvedTime: time,
});

export const alertScalerStatusSchema = z.strictObject({
  observedGeneration: z.int().min(0).optional(),
  currentReplicas: z.int().min(0).optional(),
  desiredReplicas: z.int().min(0).optional(),
  /** Episodes (fingerprint, startsAt) known to be firing: the webhook and the resync write them. */
  firingAlerts: z.array(firingAlertSchema).default([]),
  /** Recently resolved episodes, so a late or duplicated "firing" for them is recognised as stale. */
  resolvedAlerts: z.array(resolvedAlertSchema).default([]),
  /** The last time a matching alert was known to be firing: the scale-down stabilization window starts here. */
  lastFiringTime: time.optional(),
  /** The last time a saturation alert was known to be firing: scale-ups stay held for saturation.holdSeconds. */
  lastSaturatedTime: time.optional(),
  lastScaleTime: time.optional(),
  lastScaleDirection: z.enum(['Up', 'Down']).optional(),
  conditions: z.array(conditionSchema).default([]),
});

export type AlertScalerStatus = z.output<typeof alertScalerStatusSchema>;
export type Condition = z.output<typeof conditionSchema>;
export type FiringAlert = z.output<typeof firingAlertSchema>;
export type AlertRole = z.output<typeof alertRoleSchema>;
export type ResolvedAlert = z.output<typeof resolvedAlertSchema>;

export const emptyStatus = (): AlertScalerStatus => alertScalerStatusSchema.parse({});

/** The object as the API server returns it (spec not yet validated). */
export interface AlertScalerResource {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
  };
  spec?: unknown;
  status?: unknown;
}

/** An AlertScaler with its spec checked by the same schema as the CRD's. */
export interface AlertScaler {
  namespace: string;
  name: string;
  uid: string;
  generation: number;
  resourceVersion: string;
  /** `invalid` holds the first problem when the spec does not pass alertScalerSpecSchema. */
  spec: { valid: true; value: AlertScalerSpec } | { valid: false; problem: string };
  status: AlertScalerStatus;
}

export function scalerKey(scaler: { namespace: string; name: string }): string {
  return `${scaler.namespace}/${scaler.name}`;
}

export function parseAlertScaler(resource: AlertScalerResource): AlertScaler {
  const spec = alertScalerSpecSchema.safeParse(resource.spec);
  const status = alertScalerStatusSchema.safeParse(resource.status ?? {});
  return {
    namespace: resource.metadata.namespace ?? '',
    name: resource.metadata.name ?? '',
    uid: resource.metadata.uid ?? '',
    generation: resource.metadata.generation ?? 0,
    resourceVersion: resource.metadata.resourceVersion ?? '',
    spec: spec.success
      ? { valid: true, value: spec.data }
      : { valid: false, problem: firstIssue(spec.error) },
    // A status this version cannot read (written by another version) starts over rather than wedging the loop.
    status: status.success ? status.data : emptyStatus(),
  };
}

/** The CustomResourceDefinition, derived from the zod schemas above. */
export function crdManifest(): Record<string, unknown> {
  return customResourceDefinition({
    kind: KIND,
    plural: PLURAL,
    singular: 'alertscaler',
    shortNames: ['as'],
    description: 'Scales a workload on firing Alertmanager alerts, within a policy.',
    spec: alertScalerSpecSchema,
    status: alertScalerStatusSchema,
    specValidations: [
      { rule: 'self.minReplicas <= self.maxReplicas', message: 'minReplicas must not exceed maxReplicas' },
    ],
    printerColumns: [
      { name: 'Target', type: 'string', jsonPath: '.spec.scaleTargetRef.name' },
      { name: 'Min', type: 'integer', jsonPath: '.spec.minReplicas' },
      { name: 'Max', type: 'integer', jsonPath: '.spec.maxReplicas' },
      { name: 'Current', type: 'integer', jsonPath: '.status.currentReplicas' },
      { name: 'Desired', type: 'integer', jsonPath: '.status.desiredReplicas' },
      {
        name: 'Active',
        type: 'string',
        jsonPath: '.status.conditions[?(@.type=="ScalingActive")].reason',
      },
      { name: 'Paused', type: 'boolean', jsonPath: '.spec.paused', priority: 1 },
      { name: 'DryRun', type: 'boolean', jsonPath: '.spec.dryRun', priority: 1 },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  });
}
