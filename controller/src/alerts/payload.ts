import { z } from 'zod';

/** An RFC 3339 time as Alertmanager writes it (nanoseconds, any offset), normalised to ISO with milliseconds. */
const rfc3339 = z
  .string()
  .refine((text) => !Number.isNaN(Date.parse(text)), 'must be an RFC 3339 time')
  .transform((text) => new Date(text).toISOString());

const labels = z.record(z.string(), z.string());

/** One alert of Alertmanager's webhook payload (version 4). */
export const webhookAlertSchema = z.object({
  status: z.enum(['firing', 'resolved']),
  labels,
  annotations: labels.default({}),
  startsAt: rfc3339,
  endsAt: rfc3339.optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().min(1),
});

/** Alertmanager's webhook payload, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export const webhookPayloadSchema = z.object({
  version: z.literal('4'),
  groupKey: z.string(),
  truncatedAlerts: z.int().min(0).default(0),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: labels.default({}),
  commonLabels: labels.default({}),
  commonAnnotations: labels.default({}),
  externalURL: z.string().default(''),
  alerts: z.array(webhookAlertSchema),
});

export type WebhookAlert = z.output<typeof webhookAlertSchema>;
export type WebhookPayload = z.output<typeof webhookPayloadSchema>;

/** One alert of Alertmanager's `GET /api/v2/alerts` (gettableAlerts). */
export const apiAlertSchema = z.object({
  labels,
  startsAt: rfc3339,
  fingerprint: z.string().min(1),
  status: z.object({ state: z.enum(['active', 'suppressed', 'unprocessed']) }),
});

export const apiAlertsSchema = z.array(apiAlertSchema);
export type ApiAlert = z.output<typeof apiAlertSchema>;
