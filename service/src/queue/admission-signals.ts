import { ALERTS, RECORDINGS, labelEquals, queryScalar } from '@concert-booking/lib';
import type { AdmissionSignals } from './capacity-admission.js';

export interface PrometheusSignalsOptions {
  /** Prometheus' base URL, e.g. http://prometheus:9090. */
  url: string;
  /** Only this namespace's series; unset: every namespace the Prometheus sees. */
  namespace?: string;
  timeoutMs: number;
}

/** The queries, one per signal: each answers one sample or none. */
export function signalQueries(namespace: string | undefined): Record<keyof AdmissionSignals, string> {
  const ns = namespace === undefined ? '' : labelEquals('namespace', namespace);
  const join = (...matchers: string[]) => `{${matchers.filter(Boolean).join(',')}}`;
  return {
    readyReplicas: `sum(${RECORDINGS.readyReplicas}${join(ns)})`,
    p90Seconds: `max(${RECORDINGS.latencyQuantile}${join('quantile="0.9"', ns)})`,
    p90AlertFiring: `count(ALERTS${join(`alertname="${ALERTS.highP90Latency}"`, 'alertstate="firing"', ns)})`,
  };
}

/**
 * Reads the admission signals from Prometheus' recording rules over HTTP. Undefined when Prometheus does not
 * answer, answers an error, or has no ready-replica series (then the capacity is unknown, not zero).
 */
export function prometheusSignals(
  options: PrometheusSignalsOptions,
): () => Promise<AdmissionSignals | undefined> {
  const queries = signalQueries(options.namespace);
  const sample = (query: string) => queryScalar(options.url, query, options.timeoutMs);
  return async () => {
    try {
      const [readyReplicas, p90Seconds, firing] = await Promise.all([
        sample(queries.readyReplicas),
        sample(queries.p90Seconds),
        sample(queries.p90AlertFiring),
      ]);
      if (readyReplicas === null) return undefined;
      return { readyReplicas, p90Seconds, p90AlertFiring: (firing ?? 0) > 0 };
    } catch {
      return undefined;
    }
  };
}
