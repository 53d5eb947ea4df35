/** k6's durations in milliseconds: strings like `'1m30s'`, `'500ms'`, `'1.5s'`, or a number of milliseconds. */
export function parseDuration(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = typeof value === 'string' ? [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)] : [];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== value) {
    throw new Error(`${what}: ${JSON.stringify(value)} is not a duration like "30s" or "1m30s"`);
  }
  return parts.reduce((sum, [, amount, unit]) => sum + Number(amount) * units[unit!]!, 0);
}
