// PromQL building blocks shared by the rule groups.
import { METRICS } from '@concert-booking/lib';
import {
  type AlertingRule,
  type AlertName,
  checkDuration,
  DEFAULT_RULE_PARAMS,
  type RuleParams,
  type Severity,
} from './parameters.js';

/** `le` as exposed: prom-client writes 1 as "1"; Prometheus 3 normalises classic buckets to "1.0". */
export function leMatcher(seconds: number): string {
  const plain = String(seconds);
  return Number.isInteger(seconds) ? `le=~"${plain}|${plain}\\\\.0"` : `le="${plain}"`;
}

/** Builds `{job="...",namespace=~"...",...}`. */
export function selector(p: RuleParams, job: string, extra: string[] = []): string {
  const matchers = [`job="${job}"`];
  if (p.namespaceRegex !== '.*') matchers.push(`namespace=~"${p.namespaceRegex}"`);
  return `{${[...matchers, ...extra].join(',')}}`;
}

export function httpSelector(p: RuleParams, extra: string[] = []): string {
  const excluded = p.excludedRoutes.length > 0 ? [`route!~"${p.excludedRoutes.join('|')}"`] : [];
  return selector(p, p.serviceJob, [...excluded, ...extra]);
}

export function alert(
  p: RuleParams,
  name: AlertName,
  spec: {
    expr: string;
    for?: string;
    severity: Severity;
    labels?: Record<string, string>;
    summary: string;
    description: string;
  },
): AlertingRule {
  return {
    alert: name,
    expr: spec.expr,
    ...(spec.for ? { for: spec.for } : {}),
    labels: { severity: spec.severity, service: p.serviceLabel, ...spec.labels },
    annotations: {
      summary: spec.summary,
      description: spec.description,
      runbook_url: runbookUrl(name, p.runbookBaseUrl),
    },
  };
}

export function runbookUrl(alertName: string, base: string = DEFAULT_RULE_PARAMS.runbookBaseUrl): string {
  return `${base.replace(/\/+$/, '')}/${alertName}.md`;
}

/**
 * Rate of 5xx responses that is 0 rather than absent when no 5xx series exists yet (the service creates a
 * status's series on its first response): `or` adds every non-5xx series multiplied by 0.
 */
export function errorRate(errors: string, all: string, w: string): string {
  return `rate(${METRICS.httpRequestDuration}_count${errors}[${w}]) or 0 * rate(${METRICS.httpRequestDuration}_count${all}[${w}])`;
}

export function uniqueWindows(p: RuleParams): string[] {
  const windows = new Set<string>();
  for (const burn of Object.values(p.burnRates)) {
    for (const w of burn.windows) {
      windows.add(w.long);
      windows.add(w.short);
    }
  }
  return [...windows].sort((a, b) => seconds(a) - seconds(b));
}

const UNIT_SECONDS: Record<string, number> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 604800,
  y: 31536000,
};

/** Seconds in a Prometheus duration such as `1h30m`. */
export function seconds(duration: string): number {
  checkDuration('duration', duration);
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/([0-9]+)(ms|s|m|h|d|w|y)/g))
    total += Number(n) * UNIT_SECONDS[unit!]!;
  return total;
}
