// Grafana dashboard for the same signals as the rules, written to monitoring/dashboards/booking.json by
// render.ts. Panels read the recording rules where there is one, so the dashboard and the alerts agree.
import { METRICS, RECORDINGS } from '@concert-booking/lib';

import { DEFAULT_RULE_PARAMS, type RuleParams } from './rules.js';

interface Target {
  expr: string;
  legendFormat: string;
  refId: string;
}

interface Panel {
  id: number;
  type: 'timeseries' | 'stat';
  title: string;
  description?: string;
  datasource: { type: 'prometheus'; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  fieldConfig: { defaults: Record<string, unknown>; overrides: unknown[] };
  options: Record<string, unknown>;
  targets: Target[];
}

export interface GrafanaDashboard {
  uid: string;
  title: string;
  tags: string[];
  timezone: string;
  schemaVersion: number;
  version: number;
  refresh: string;
  time: { from: string; to: string };
  templating: { list: unknown[] };
  annotations: { list: unknown[] };
  panels: Panel[];
}

const DATASOURCE = { type: 'prometheus' as const, uid: '${datasource}' };

export function bookingDashboard(overrides: Partial<RuleParams> = {}): GrafanaDashboard {
  const p: RuleParams = { ...DEFAULT_RULE_PARAMS, ...overrides };
  const w = p.rateWindow;
  const ns = 'namespace=~"$namespace"';
  const svc = `job="${p.serviceJob}",${ns}`;
  const ctl = `job="${p.controllerJob}"`;
  let nextId = 1;
  const panel = (
    title: string,
    unit: string,
    gridPos: Panel['gridPos'],
    targets: Array<[expr: string, legend: string]>,
    description?: string,
    extra: Record<string, unknown> = {},
  ): Panel => ({
    id: nextId++,
    type: 'timeseries',
    title,
    ...(description ? { description } : {}),
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: { defaults: { unit, ...extra }, overrides: [] },
    options: { legend: { displayMode: 'table', placement: 'bottom', calcs: ['lastNotNull', 'max'] } },
    targets: targets.map(([expr, legendFormat], i) => ({
      expr,
      legendFormat,
      refId: String.fromCharCode(65 + i),
    })),
  });
  const thresholdLine = (value: number): Record<string, unknown> => ({
    thresholds: {
      mode: 'absolute',
      steps: [
        { color: 'green', value: null },
        { color: 'red', value },
      ],
    },
    custom: { thresholdsStyle: { mode: 'line' } },
  });
  const panels: Panel[] = [
    panel(
      'p90 latency (service) vs alert threshold',
      's',
      { h: 8, w: 12, x: 0, y: 0 },
      [[`${RECORDINGS.latencyQuantile}{quantile="0.9",${ns}}`, 'p90 {{namespace}}']],
      `BookingHighP90Latency fires above ${p.p90ThresholdSeconds}s for ${p.forDuration} (with at least ${p.minRequestRate} req/s).`,
      thresholdLine(p.p90ThresholdSeconds),
    ),
    panel('Request rate per route', 'reqps', { h: 8, w: 12, x: 12, y: 0 }, [
      [`namespace_route:http_requests:rate${w}{${ns}}`, '{{route}}'],
    ]),
    panel('Latency per route (p50 / p90 / p99)', 's', { h: 8, w: 12, x: 0, y: 8 }, [
      [
        `namespace_route_quantile:${METRICS.httpRequestDuration}:histogram_quantile{${ns}}`,
        'p{{quantile}} {{route}}',
      ],
    ]),
    panel('5xx ratio per route', 'percentunit', { h: 8, w: 12, x: 12, y: 8 }, [
      [`namespace_route:http_request_errors:ratio_rate${w}{${ns}}`, '{{route}}'],
    ]),
    panel(
      'DB connection pool',
      'short',
      { h: 8, w: 8, x: 0, y: 16 },
      [
        [`sum by (pod) (${METRICS.dbPoolSize}{${svc}})`, 'size {{pod}}'],
        [`sum by (pod) (${METRICS.dbPoolInUse}{${svc}})`, 'in use {{pod}}'],
        [`sum by (pod) (${METRICS.dbPoolWaiting}{${svc}})`, 'waiting {{pod}}'],
      ],
      'Clients waiting for a connection are the connection timeouts of the incident (800 virtual users).',
    ),
    panel('Seat-map cache hit ratio per layer', 'percentunit', { h: 8, w: 8, x: 8, y: 16 }, [
      [
        `sum by (layer) (rate(${METRICS.seatMapCacheRequests}{${svc},result="hit"}[${w}])) / sum by (layer) (rate(${METRICS.seatMapCacheRequests}{${svc}}[${w}]))`,
        '{{layer}}',
      ],
      [`sum(rate(${METRICS.seatMapDegraded}{${svc}}[${w}]))`, 'degraded (Postgres, Redis failed) req/s'],
    ]),
    panel('Dependencies ready (replicas reporting up)', 'short', { h: 8, w: 8, x: 16, y: 16 }, [
      [`sum by (dependency) (${METRICS.dependencyUp}{${svc}})`, '{{dependency}}'],
      [`sum(up{${svc}})`, 'scrape targets up'],
    ]),
    panel('AlertScaler replicas', 'short', { h: 8, w: 12, x: 0, y: 24 }, [
      [`max by (alertscaler) (${METRICS.scalerDesiredReplicas}{${ctl}})`, 'desired {{alertscaler}}'],
      [`max by (alertscaler) (${METRICS.scalerCurrentReplicas}{${ctl}})`, 'current {{alertscaler}}'],
      [`max by (alertscaler) (${METRICS.scalerMaxReplicas}{${ctl}})`, 'max {{alertscaler}}'],
      [`max by (alertscaler) (${METRICS.scalerMinReplicas}{${ctl}})`, 'min {{alertscaler}}'],
    ]),
    panel('AlertScaler scale operations', 'ops', { h: 8, w: 12, x: 12, y: 24 }, [
      [
        `sum by (direction, result) (rate(${METRICS.scaleOperations}{${ctl}}[${w}]))`,
        '{{direction}} {{result}}',
      ],
    ]),
  ];
  return {
    uid: 'booking-service',
    title: 'Booking service',
    tags: ['booking', 'generated'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-3h', to: 'now' },
    templating: {
      list: [
        { name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Prometheus', current: {} },
        {
          name: 'namespace',
          type: 'query',
          label: 'Namespace',
          datasource: DATASOURCE,
          query: { query: `label_values(up{job="${p.serviceJob}"}, namespace)`, refId: 'namespace' },
          definition: `label_values(up{job="${p.serviceJob}"}, namespace)`,
          refresh: 2,
          includeAll: true,
          multi: true,
          allValue: '.*',
          current: {},
        },
      ],
    },
    annotations: {
      list: [
        {
          name: 'Alerts',
          datasource: DATASOURCE,
          enable: true,
          iconColor: 'red',
          expr: `ALERTS{service="${p.serviceLabel}",alertstate="firing"}`,
          titleFormat: '{{alertname}}',
          tagKeys: 'severity,namespace',
        },
      ],
    },
    panels,
  };
}
