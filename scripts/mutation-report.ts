// The score of each mutated module from Stryker's JSON report, and every mutant that was not detected, as
// markdown (docs/testing.md quotes it). Exits 1 when a module scores below MIN_SCORE.
//   npx tsx scripts/mutation-report.ts reports/mutation/controller.json reports/mutation/service.json
import { readFileSync } from 'node:fs';

const MIN_SCORE = 85;

interface Mutant {
  mutatorName: string;
  replacement?: string;
  status:
    | 'Killed'
    | 'Timeout'
    | 'Survived'
    | 'NoCoverage'
    | 'CompileError'
    | 'RuntimeError'
    | 'Ignored'
    | 'Pending';
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}

interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>;
}

const count = (mutants: Mutant[], ...statuses: Mutant['status'][]) =>
  mutants.filter((m) => statuses.includes(m.status)).length;

/** Stryker's mutation score: detected (killed or timed out) over every mutant that ran or had no test. */
function score(mutants: Mutant[]): number {
  const detected = count(mutants, 'Killed', 'Timeout');
  const valid = detected + count(mutants, 'Survived', 'NoCoverage');
  return valid === 0 ? 100 : (100 * detected) / valid;
}

/** The mutated text, on one line, as Stryker shows it: `original` -> `replacement`. */
function change(source: string, mutant: Mutant): string {
  const lines = source.split('\n');
  const { start, end } = mutant.location;
  const original =
    start.line === end.line
      ? lines[start.line - 1]!.slice(start.column - 1, end.column - 1)
      : [
          lines[start.line - 1]!.slice(start.column - 1),
          ...lines.slice(start.line, end.line - 1),
          lines[end.line - 1]!.slice(0, end.column - 1),
        ].join('\n');
  const oneLine = (text: string) => {
    const flat = text.replace(/\s+/g, ' ').trim();
    return flat.length > 90 ? `${flat.slice(0, 87)}...` : flat;
  };
  return `\`${oneLine(original)}\` -> \`${oneLine(mutant.replacement ?? '')}\``;
}

function render(report: Report): { markdown: string; failing: string[] } {
  const rows = [
    '| module | score | killed | timeout | survived | no coverage |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  const survivors: string[] = [];
  const failing: string[] = [];
  for (const [file, { source, mutants }] of Object.entries(report.files).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    const value = score(mutants);
    if (value < MIN_SCORE) failing.push(`${file} (${value.toFixed(2)} %)`);
    rows.push(
      `| ${file} | ${value.toFixed(2)} % | ${count(mutants, 'Killed')} | ${count(mutants, 'Timeout')} | ${count(mutants, 'Survived')} | ${count(mutants, 'NoCoverage')} |`,
    );
    for (const mutant of mutants.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage')) {
      const { line, column } = mutant.location.start;
      survivors.push(
        `- ${file}:${line}:${column} ${mutant.mutatorName} (${mutant.status}): ${change(source, mutant)}`,
      );
    }
  }
  const all = Object.values(report.files).flatMap((f) => f.mutants);
  rows.push(
    `| all | ${score(all).toFixed(2)} % | ${count(all, 'Killed')} | ${count(all, 'Timeout')} | ${count(all, 'Survived')} | ${count(all, 'NoCoverage')} |`,
  );
  const markdown = [...rows, '', `Not detected (${survivors.length}):`, '', ...survivors, ''].join('\n');
  return { markdown, failing };
}

const paths = process.argv.slice(2);
if (paths.length === 0) throw new Error('usage: mutation-report.ts REPORT.json...');
const merged: Report = { files: {} };
for (const path of paths)
  Object.assign(merged.files, (JSON.parse(readFileSync(path, 'utf8')) as Report).files);
const { markdown, failing } = render(merged);
process.stdout.write(markdown);
if (failing.length > 0) {
  process.stderr.write(`mutation: below ${MIN_SCORE} %: ${failing.join(', ')}\n`);
  process.exit(1);
}
