import { z } from 'zod';
import { customResourceDefinition, firstIssue } from './crd.js';

/**
 * The OnSale resource: a scheduled sale of some timeslots. Like AlertScaler, ONE zod schema for the spec (and
 * one for the status) drives the controller's validation and the CRD's openAPIV3Schema (onSaleCrdManifest).
 */
export const ONSALE_KIND = 'OnSale';
export const ONSALE_PLURAL = 'onsales';

const DAY_SECONDS = 86_400;
const time = z.iso.datetime();

export const ONSALE_PHASES = ['Scheduled', 'PreQueue', 'Open', 'Draining', 'Done'] as const;
export type OnSalePhase = (typeof ONSALE_PHASES)[number];

export const onSaleSpecSchema = z
  .strictObject({
    timeslotIds: z.array(z.int().min(1)).min(1).max(1000).describe('The timeslots on sale'),
    opensAt: time.describe('When admission starts; users who join before it are shuffled then'),
    closesAt: time.describe('When the sale stops taking new users; it is Done once the queue has drained'),
    preQueueSeconds: z
      .int()
      .min(0)
      .max(DAY_SECONDS)
      .default(900)
      .describe('The waiting room takes users this long before opensAt (the pre-queue)'),
    scaling: z
      .strictObject({
        alertScalerName: z.string().min(1).max(253).describe('The AlertScaler of this namespace to hold'),
        minReplicas: z.int().min(1).max(10_000).describe('Replicas to hold from leadSeconds before opensAt'),
        leadSeconds: z
          .int()
          .min(0)
          .max(DAY_SECONDS)
          .default(600)
          .describe('How long before opensAt the floor is raised: longer than replicas take to become Ready'),
      })
      .describe('While the sale holds, the AlertScaler keeps at least minReplicas and scales in no replica'),
  })
  .refine((spec) => Date.parse(spec.opensAt) < Date.parse(spec.closesAt), {
    message: 'opensAt must be before closesAt',
    path: ['closesAt'],
  });

export type OnSaleSpec = z.output<typeof onSaleSpecSchema>;
export type OnSaleSpecInput = z.input<typeof onSaleSpecSchema>;

export const onSaleStatusSchema = z.strictObject({
  observedGeneration: z.int().min(0).optional(),
  phase: z.enum(ONSALE_PHASES).optional(),
  lastTransitionTime: time.optional(),
  /** True while the AlertScaler is held at scaling.minReplicas with scale-in paused. */
  holdingReplicas: z.boolean().optional(),
  /** Users admitted from the queue since opensAt. */
  admitted: z.int().min(0).optional(),
  /** Admissions per round the waiting room runs at now. */
  admissionRate: z.number().min(0).optional(),
  /** Users waiting in the queue now. */
  waiting: z.int().min(0).optional(),
  /** Why the spec was refused, when it was. */
  problem: z.string().optional(),
});

export type OnSaleStatus = z.output<typeof onSaleStatusSchema>;

export interface OnSaleResource {
  metadata: { name?: string; namespace?: string; generation?: number };
  spec?: unknown;
  status?: unknown;
}

export interface OnSale {
  namespace: string;
  name: string;
  generation: number;
  spec: { valid: true; value: OnSaleSpec } | { valid: false; problem: string };
  status: OnSaleStatus;
}

export function parseOnSale(resource: OnSaleResource): OnSale {
  const spec = onSaleSpecSchema.safeParse(resource.spec);
  const status = onSaleStatusSchema.safeParse(resource.status ?? {});
  return {
    namespace: resource.metadata.namespace ?? '',
    name: resource.metadata.name ?? '',
    generation: resource.metadata.generation ?? 0,
    spec: spec.success
      ? { valid: true, value: spec.data }
      : { valid: false, problem: firstIssue(spec.error) },
    status: status.success ? status.data : {},
  };
}

/** The OnSale CustomResourceDefinition, derived from the zod schemas above. */
export function onSaleCrdManifest(): Record<string, unknown> {
  return customResourceDefinition({
    kind: ONSALE_KIND,
    plural: ONSALE_PLURAL,
    singular: 'onsale',
    description: 'A scheduled sale: pre-queue, pre-scaling, admission, drain.',
    spec: onSaleSpecSchema,
    status: onSaleStatusSchema,
    specValidations: [
      {
        rule: 'timestamp(self.opensAt) < timestamp(self.closesAt)',
        message: 'opensAt must be before closesAt',
      },
    ],
    printerColumns: [
      { name: 'Opens', type: 'date', jsonPath: '.spec.opensAt' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Admitted', type: 'integer', jsonPath: '.status.admitted' },
      { name: 'Rate', type: 'number', jsonPath: '.status.admissionRate' },
      { name: 'Waiting', type: 'integer', jsonPath: '.status.waiting', priority: 1 },
    ],
  });
}
