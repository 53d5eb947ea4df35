/**
 * Reads Prometheus' text exposition of a process (its /metrics) in tests and benches: counting what a
 * server did by its own metrics, not by what the client saw.
 */

/** The sum of a histogram's `_count` series whose labels include every one of `labels`. */
export function histogramCount(text: string, metric: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}_count{`)) continue;
    const close = line.lastIndexOf('}');
    const series = line.slice(metric.length + '_count{'.length, close);
    if (Object.entries(labels).every(([name, value]) => series.includes(`${name}="${value}"`))) {
      sum += Number(line.slice(close + 1));
    }
  }
  return sum;
}

/** GET `url` (a /metrics endpoint) and histogramCount over it. */
export async function fetchHistogramCount(
  url: string,
  metric: string,
  labels: Record<string, string>,
): Promise<number> {
  const response = await fetch(url);
  // A count read from anything but a metrics page would be 0, and every bound on it would hold for nothing.
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}, not a metrics page`);
  return histogramCount(await response.text(), metric, labels);
}
