/**
 * What a run leaves behind: a table per stage on the terminal, JSON, and a vega-lite chart of latency
 * percentiles and throughput against load, compiled with vega to SVG (headless, no canvas needed).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { loadLabel, loadValue, type StageStats } from './stats.js';

/** One scenario run against one service configuration. */
export interface RunReport {
  /** The series name in charts: `seat-map`, `cache off`, `pessimistic`, ... */
  series: string;
  scenario: string;
  baseUrl: string;
  startedAt: string;
  settings: Record<string, string | number | boolean>;
  stages: StageStats[];
}

const ms = (v: number) => (Number.isNaN(v) ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(1));

function errorsText(stage: StageStats): string {
  const kinds = Object.entries(stage.errors).map(([kind, n]) => `${kind}: ${n}`);
  if (stage.dropped) kinds.push(`dropped: ${stage.dropped}`);
  return kinds.join(', ') || '0';
}

/** A fixed-width table, one row per stage. */
export function formatTable(report: RunReport): string {
  const header = ['load', 'req/s', 'requests', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'timeouts', 'errors'];
  const rows = report.stages.map((s) => [
    loadLabel(s.load),
    s.requestsPerSecond.toFixed(0),
    String(s.requests),
    ms(s.latencyMs.p50),
    ms(s.latencyMs.p90),
    ms(s.latencyMs.p99),
    ms(s.latencyMs.max),
    String(s.timeouts),
    errorsText(s),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padStart(widths[i]!))).join('  ');
  return [`${report.series} (${report.scenario})`, line(header), ...rows.map(line)].join('\n');
}

/** Long-format rows for the chart: one per (run, stage, measure). */
export function chartRows(reports: RunReport[]) {
  return reports.flatMap((r) =>
    r.stages.flatMap((s) => {
      const base = { series: r.series, load: loadValue(s.load) };
      return [
        { ...base, panel: 'latency', measure: 'p50', value: s.latencyMs.p50 },
        { ...base, panel: 'latency', measure: 'p90', value: s.latencyMs.p90 },
        { ...base, panel: 'latency', measure: 'p99', value: s.latencyMs.p99 },
        { ...base, panel: 'throughput', measure: 'req/s', value: s.requestsPerSecond },
      ].filter((row) => Number.isFinite(row.value));
    }),
  );
}

/** Latency percentiles (log scale) and throughput side by side, one colour per series. */
export function chartSpec(reports: RunReport[], title: string): TopLevelSpec {
  const model = reports[0]?.stages[0]?.load.model ?? 'closed';
  const x = {
    field: 'load',
    type: 'quantitative' as const,
    title: model === 'closed' ? 'virtual users' : 'arrivals per second',
  };
  const color = { field: 'series', type: 'nominal' as const, title: null };
  const size = { width: 360, height: 260 };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: chartRows(reports) },
    hconcat: [
      {
        ...size,
        title: 'latency (p50, p90, p99)',
        transform: [{ filter: "datum.panel === 'latency'" }],
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative', title: 'ms (log scale)', scale: { type: 'log' } },
          color,
          strokeDash: { field: 'measure', type: 'nominal', title: 'percentile' },
          detail: { field: 'measure' },
        },
      },
      {
        ...size,
        title: 'throughput',
        transform: [{ filter: "datum.panel === 'throughput'" }],
        mark: { type: 'line', point: true },
        encoding: { x, y: { field: 'value', type: 'quantitative', title: 'requests per second' }, color },
      },
    ],
    config: { background: 'white' },
  };
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes `<prefix>.json` and `<prefix>.svg`; returns their paths. */
export async function writeReport(
  prefix: string,
  reports: RunReport[],
  title: string,
): Promise<{ json: string; svg: string }> {
  const paths = { json: `${prefix}.json`, svg: `${prefix}.svg` };
  mkdirSync(dirname(paths.json), { recursive: true });
  writeFileSync(paths.json, `${JSON.stringify(reports, null, 2)}\n`);
  writeFileSync(paths.svg, await renderSvg(chartSpec(reports, title)));
  return paths;
}
