/**
 * `npm run flamegraph -- <profile.cpuprofile> [out.svg]`: the SVG flamegraph of a CPU profile,
 * and beside it the folded stacks (`.folded`) for flamegraph.pl, inferno or speedscope.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseOrExit, UsageError, type CommandLine } from '@concert-booking/lib';

const COMMAND: CommandLine<Record<string, never>> = {
  name: 'npm run flamegraph --',
  usage: `<profile.cpuprofile> [out.svg]
  Draws the profile's flamegraph (default: the profile's name with .svg) and writes its folded stacks beside it.`,
  options: {},
  allowPositionals: true,
};

const [input, output] = parseOrExit(COMMAND, process.argv.slice(2), ({ positionals }) => {
  if (positionals.length === 0) throw new UsageError('a .cpuprofile is needed');
  if (positionals.length > 2) throw new UsageError(`unexpected argument "${positionals[2]}"`);
  return positionals as [string, string | undefined];
});
// vega is imported only once the command line is known good.
const { writeFlamegraph } = await import('./flamegraph.js');
const profile = JSON.parse(await readFile(input, 'utf8'));
const svg = output ?? input.replace(/(\.cpuprofile)?$/, '.svg');
console.log(await writeFlamegraph(profile, svg, { title: `CPU flamegraph: ${path.basename(input)}` }));
