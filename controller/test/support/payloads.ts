/** Alertmanager webhook payloads (version 4) shaped like the ones monitoring/generated/alertmanager.yml sends. */
export interface AlertSpec {
  status: 'firing' | 'resolved';
  fingerprint: string;
  startsAt: string;
  alertname?: string;
  labels?: Record<string, string>;
  endsAt?: string;
}

export const ROUTE_LABELS = { autoscale: 'booking-service', namespace: 'concert-booking', severity: 'page' };

export function payload(
  alerts: AlertSpec[],
  extra: { truncatedAlerts?: number; status?: 'firing' | 'resolved' } = {},
) {
  const built = alerts.map((a) => ({
    status: a.status,
    labels: { alertname: a.alertname ?? 'BookingHighP90Latency', ...ROUTE_LABELS, ...a.labels },
    annotations: { summary: 'Booking service p90 latency is above 0.5s' },
    startsAt: a.startsAt,
    // Alertmanager sends the zero time for an alert that is still firing.
    endsAt: a.endsAt ?? (a.status === 'firing' ? '0001-01-01T00:00:00Z' : new Date().toISOString()),
    generatorURL: 'http://prometheus:9090/graph?g0.expr=namespace_quantile%3Ahttp_request_duration_seconds',
    fingerprint: a.fingerprint,
  }));
  return {
    receiver: 'alertscaler',
    status: extra.status ?? (built.some((a) => a.status === 'firing') ? 'firing' : 'resolved'),
    alerts: built,
    groupLabels: { alertname: 'BookingHighP90Latency', namespace: 'concert-booking' },
    commonLabels: { alertname: 'BookingHighP90Latency', ...ROUTE_LABELS },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    version: '4',
    groupKey:
      '{}/{autoscale="booking-service"}:{alertname="BookingHighP90Latency", namespace="concert-booking"}',
    truncatedAlerts: extra.truncatedAlerts ?? 0,
  };
}

export async function postAlerts(url: string, token: string | undefined, body: unknown): Promise<Response> {
  return fetch(`${url}/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
