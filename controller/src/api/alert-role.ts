import type { AlertMatcher, AlertRole, AlertScalerSpec } from './alertscaler.js';

// Which alerts an AlertScaler's spec selects, with Alertmanager's matcher semantics (regexes anchored).

function matcherHolds(matcher: AlertMatcher, labels: Record<string, string>): boolean {
  const value = labels[matcher.name] ?? '';
  switch (matcher.op) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return new RegExp(`^(?:${matcher.value})$`).test(value);
    case '!~':
      return !new RegExp(`^(?:${matcher.value})$`).test(value);
  }
}

type AlertEntry = AlertScalerSpec['alerts'][number];

const entryMatches = (entry: AlertEntry, labels: Record<string, string>) =>
  labels.alertname === entry.alertName && entry.matchers.every((m) => matcherHolds(m, labels));

/** What an alert with these labels means to this AlertScaler: scale, saturation, or nothing (undefined). */
export function alertRole(
  spec: Pick<AlertScalerSpec, 'alerts' | 'saturation'>,
  labels: Record<string, string>,
): AlertRole | undefined {
  if (spec.alerts.some((entry) => entryMatches(entry, labels))) return 'scale';
  if (spec.saturation.alerts.some((entry) => entryMatches(entry, labels))) return 'saturation';
  return undefined;
}
