import type autocannon from 'autocannon';

/** One measured run of a benchmark: the row of the tables the benches print. */
export interface BenchRow {
  name: string;
  perSecond: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
}

/** Errors count transport failures, timeouts and non-2xx answers alike. */
export const rowFromAutocannon = (name: string, result: autocannon.Result): BenchRow => ({
  name,
  perSecond: result.requests.average,
  p50: result.latency.p50,
  p90: result.latency.p90,
  p99: result.latency.p99,
  errors: result.non2xx + result.errors + result.timeouts,
});

const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 0) : 'n/a');

/** A markdown table, as pasted into docs/benchmarks.md. */
export const markdownTable = (title: string, rows: BenchRow[]) =>
  [
    `| ${title} | per second | p50 ms | p90 ms | p99 ms | errors / non-2xx |`,
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${fmt(r.perSecond)} | ${fmt(r.p50)} | ${fmt(r.p90)} | ${fmt(r.p99)} | ${r.errors} |`,
    ),
  ].join('\n');
