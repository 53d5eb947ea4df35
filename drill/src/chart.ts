import type { TopLevelSpec } from 'vega-lite';
import { firingIntervals, type DrillRecord } from './analysis.js';

/** p90, request rate and worker count over time, stacked, with the alert's firing intervals shaded. */
export function drillChartSpec(record: DrillRecord, title: string): TopLevelSpec {
  const x = { field: 't', type: 'quantitative', title: 'seconds since start' };
  const shade = {
    data: { values: firingIntervals(record.samples) },
    mark: { type: 'rect', color: '#e45756', opacity: 0.15 },
    encoding: { x: { field: 'start', type: 'quantitative' }, x2: { field: 'end' } },
  };
  const panel = (
    panelTitle: string,
    field: 'p90' | 'rate' | 'desiredWorkers',
    yTitle: string,
    interpolate: string,
    extra: object[] = [],
  ) => ({
    width: 640,
    height: 150,
    title: panelTitle,
    layer: [
      shade,
      {
        data: { values: record.samples.filter((s) => s[field] !== null) },
        mark: { type: 'line', interpolate },
        encoding: { x, y: { field, type: 'quantitative', title: yTitle } },
      },
      ...extra,
    ],
  });
  const threshold = {
    data: { values: [{ threshold: record.thresholdSeconds }] },
    mark: { type: 'rule', strokeDash: [4, 4] },
    encoding: { y: { field: 'threshold', type: 'quantitative' } },
  };
  const decisions = {
    data: { values: record.scaleEvents },
    mark: { type: 'rule', color: '#54a24b' },
    encoding: { x: { field: 't', type: 'quantitative' } },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    vconcat: [
      panel(
        'p90 latency (Prometheus), dashed: alert threshold; red band: alert firing',
        'p90',
        'seconds',
        'linear',
        [threshold],
      ),
      panel('request rate (Prometheus)', 'rate', 'requests per second', 'linear'),
      panel('workers (desired); green: scale decisions', 'desiredWorkers', 'workers', 'step-after', [
        decisions,
      ]),
    ],
    resolve: { scale: { x: 'shared' } },
    config: { background: 'white' },
  } as TopLevelSpec;
}
