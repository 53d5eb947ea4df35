/**
 * `npm run flamegraph -- <profile.cpuprofile> [out.svg]`: the SVG flamegraph of a CPU profile,
 * and beside it the folded stacks (`.folded`) for flamegraph.pl, inferno or speedscope.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFlamegraph } from './flamegraph.js';

const [input, output] = process.argv.slice(2);
if (!input || input.startsWith('-')) {
  console.error('usage: npm run flamegraph -- <profile.cpuprofile> [out.svg]');
  process.exit(2);
}
const profile = JSON.parse(await readFile(input, 'utf8'));
const svg = output ?? input.replace(/(\.cpuprofile)?$/, '.svg');
console.log(await writeFlamegraph(profile, svg, { title: `CPU flamegraph: ${path.basename(input)}` }));
