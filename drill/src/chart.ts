import type { TopLevelSpec } from 'vega-lite';
import type { ScenarioRecord } from './record.js';
import { activeIntervals } from './scorecard.js';

/**
 * One scenario over time, stacked: p90 (dashed: the threshold), request rate, workers. Red bands: the p90
 * alert active; orange bands: the saturation alert active; green rules: scale writes; blue rules: the drill's
 * actions (the incident's cache fix).
 */
export function drillChartSpec(record: ScenarioRecord, title: string): TopLevelSpec {
  const x = { field: 't', type: 'quantitative', title: 'seconds since the scenario started' };
  const band = (values: { start: number; end: number }[], color: string) => ({
    data: { values },
    mark: { type: 'rect', color, opacity: 0.15 },
    encoding: { x: { field: 'start', type: 'quantitative' }, x2: { field: 'end' } },
  });
  const bands = [
    band(
      activeIntervals(record.samples, (s) => s.alertActive),
      '#e45756',
    ),
    band(
      activeIntervals(record.samples, (s) => s.saturationActive),
      '#f58518',
    ),
  ];
  const rules = (values: { t: number }[], color: string) => ({
    data: { values },
    mark: { type: 'rule', color },
    encoding: { x: { field: 't', type: 'quantitative' } },
  });
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
      ...bands,
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
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    vconcat: [
      panel(
        'p90 (Prometheus), dashed: threshold; red: p90 alert, orange: pool saturated; blue: cache fix',
        'p90',
        'seconds',
        'linear',
        [threshold, rules(record.actions, '#4c78a8')],
      ),
      panel('request rate (Prometheus)', 'rate', 'requests per second', 'linear'),
      panel('workers (desired); green: scale writes', 'desiredWorkers', 'workers', 'step-after', [
        rules(record.scaleEvents, '#54a24b'),
      ]),
    ],
    resolve: { scale: { x: 'shared' } },
    config: { background: 'white' },
  } as TopLevelSpec;
}
