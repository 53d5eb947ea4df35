import type { IncomingMessage, ServerResponse } from 'node:http';
import { scalerKey, type AlertScaler } from '../api/alertscaler.js';
import {
  bearerMatches,
  BodyTooLarge,
  readBody,
  sendJson,
  sendProblem,
  type Logger,
} from '@concert-booking/lib';
import type { ControllerMetrics } from '../metrics.js';
import type { ScalerStore } from '../reconcile/store.js';
import { alertRole } from '../api/alert-role.js';
import { applyNotification, type Notification, type Outcome } from './episodes.js';
import { webhookPayloadSchema, type WebhookPayload } from './payload.js';

export interface WebhookDeps {
  store: ScalerStore;
  token: string;
  bodyLimitBytes: number;
  metrics: ControllerMetrics;
  logger: Logger;
  clock: () => Date;
  /** Alertmanager left alerts out (truncatedAlerts > 0): ask for a resync from its API. */
  onTruncated: () => void;
}

export type Tally = Record<Outcome | 'unmatched', number>;

const emptyTally = (): Tally => ({
  new: 0,
  repeat: 0,
  resolved: 0,
  stale: 0,
  unknownResolved: 0,
  unmatched: 0,
});

/**
 * Records a payload's alerts in the status of every AlertScaler they match (each alert by its own
 * status, not the group's). Throws when a status write fails: the caller answers 503 so Alertmanager retries.
 */
export async function recordPayload(store: ScalerStore, payload: WebhookPayload, now: Date): Promise<Tally> {
  const tally = emptyTally();
  const byScaler = new Map<string, { scaler: AlertScaler; alerts: Notification[] }>();
  for (const alert of payload.alerts) {
    let matched = false;
    for (const scaler of store.list()) {
      const role = scaler.spec.valid ? alertRole(scaler.spec.value, alert.labels) : undefined;
      if (!role) continue;
      matched = true;
      const entry = byScaler.get(scalerKey(scaler)) ?? { scaler, alerts: [] };
      entry.alerts.push({
        status: alert.status,
        fingerprint: alert.fingerprint,
        startsAt: alert.startsAt,
        endsAt: alert.endsAt,
        alertName: alert.labels.alertname ?? '',
        role,
      });
      byScaler.set(scalerKey(scaler), entry);
    }
    if (!matched) tally.unmatched++;
  }
  for (const { scaler, alerts } of byScaler.values()) {
    let outcomes: Outcome[] = [];
    await store.updateStatus(scaler.namespace, scaler.name, (fresh) => {
      outcomes = [];
      let state = fresh.status;
      for (const alert of alerts) {
        const result = applyNotification(state, alert, now);
        state = { ...state, ...result.state };
        outcomes.push(result.outcome);
      }
      return state;
    });
    for (const outcome of outcomes) tally[outcome]++;
  }
  return tally;
}

/** The outcome label of alertscaler_webhook_requests_total for an accepted payload. */
function payloadOutcome(tally: Tally): string {
  if (tally.new + tally.resolved + tally.unknownResolved > 0) return 'accepted';
  if (tally.repeat > 0) return 'duplicate';
  return 'ignored';
}

/** `POST /alerts`: Alertmanager's webhook (version 4). 2xx for anything recorded or ignored, 503 only when transient. */
export function webhookHandler(deps: WebhookDeps) {
  const { metrics, logger } = deps;
  const count = (outcome: string) => metrics.webhookRequests.inc({ outcome });
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!bearerMatches(req.headers.authorization, deps.token)) {
      count('unauthorized');
      return sendProblem(res, 401, 'Unauthorized', 'a valid bearer token is required', {
        'www-authenticate': 'Bearer realm="alertscaler"',
      });
    }
    let text: string;
    try {
      text = await readBody(req, deps.bodyLimitBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLarge)) throw error;
      count('too_large');
      res.setHeader('connection', 'close');
      return sendProblem(res, 413, 'Content Too Large', `the body limit is ${deps.bodyLimitBytes} bytes`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      count('bad_request');
      return sendProblem(res, 400, 'Bad Request', 'the body is not JSON');
    }
    const parsed = webhookPayloadSchema.safeParse(body);
    if (!parsed.success) {
      count('bad_request');
      const issue = parsed.error.issues[0];
      return sendProblem(res, 400, 'Bad Request', `${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
    }
    if (!deps.store.ready()) {
      count('unavailable');
      return sendProblem(res, 503, 'Service Unavailable', 'AlertScalers not loaded yet', {
        'retry-after': '5',
      });
    }
    const payload = parsed.data;
    if (payload.truncatedAlerts > 0) {
      logger.warn(
        { truncatedAlerts: payload.truncatedAlerts, groupKey: payload.groupKey },
        'truncated payload: resyncing',
      );
      deps.onTruncated();
    }
    let tally: Tally;
    try {
      tally = await recordPayload(deps.store, payload, deps.clock());
    } catch (error) {
      count('unavailable');
      logger.warn({ err: error }, 'could not record the alerts; Alertmanager will retry');
      return sendProblem(res, 503, 'Service Unavailable', 'could not record the alerts, retry', {
        'retry-after': '5',
      });
    }
    const outcome = payloadOutcome(tally);
    count(outcome);
    logger.info({ outcome, tally, groupKey: payload.groupKey }, 'webhook');
    sendJson(res, 200, { outcome, alerts: tally, truncatedAlerts: payload.truncatedAlerts });
  };
}
