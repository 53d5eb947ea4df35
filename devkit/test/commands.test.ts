// Every `npm run` command line, spawned with the harness as npm would run it: `--help` prints the usage on stdout
// and exits 0, an unknown or malformed flag prints one line naming it plus the usage on stderr and exits 64, and
// neither starts any work: no Postgres or Redis started, nothing reached, no file written.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { EX_USAGE } from '@concert-booking/lib';
import { spawnProcess } from '../src/process.js';
import { npmScriptProcess, ROOT } from '../src/programs.js';

interface Command {
  script: string;
  /** Arguments before --help (a subcommand). */
  prefix?: string[];
  /** A bad command line (an unknown or malformed flag), and what the line naming it must say. */
  bad: [args: string[], message: string];
}

const COMMANDS: Command[] = [
  { script: 'seed', bad: [['--seats', 'many'], '--seats must be an integer above 0, got "many"'] },
  {
    script: 'token',
    bad: [['--user', 'x'], '--user must be an integer above 0 and at most 100000000000000, got "x"'],
  },
  { script: 'migrate', bad: [['--bogus'], `Unknown option '--bogus'`] },
  { script: 'load', bad: [['seat-map', '--bogus'], `Unknown option '--bogus'`] },
  {
    script: 'load',
    prefix: ['k6'],
    bad: [['k6', 'load/k6/seat-map.ts', '-e', 'STAGES'], '-e must be NAME=VALUE, got "STAGES"'],
  },
  { script: 'experiments', bad: [['--bogus'], `Unknown option '--bogus'`] },
  { script: 'profile', bad: [['seat-map', '--cache', 'maybe'], '--cache must be on or off, got "maybe"'] },
  { script: 'flamegraph', bad: [['--bogus'], `Unknown option '--bogus'`] },
  { script: 'drill', bad: [['--max-workers', '0'], '--max-workers must be an integer at least 1, got "0"'] },
  { script: 'bench:seatmap', bad: [['--seconds', '0'], '--seconds must be an integer above 0, got "0"'] },
  { script: 'bench:holds', bad: [['--bogus'], `Unknown option '--bogus'`] },
  {
    script: 'bench:controller',
    bad: [['--episodes', '1.5'], '--episodes must be an integer above 0, got "1.5"'],
  },
  { script: 'synth', bad: [['--out'], `Option '--out <value>' argument missing`] },
  { script: 'monitoring:render', bad: [['--bogus'], `Unknown option '--bogus'`] },
  { script: 'cluster', bad: [['--bogus'], `Unknown option '--bogus'`] },
];

/** npm scripts that are no command line of ours: the service (configured by its environment) and shell scripts. */
const NOT_COMMAND_LINES = ['start'];

const scripts = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;

/** Where the commands write when they work: none of it may change. */
const OUTPUTS = ['charts', 'monitoring/generated', 'monitoring/dashboards', 'reports', 'docs'];
const dir = mkdtempSync(join(tmpdir(), 'commands-'));
const marker = join(dir, 'marker');
writeFileSync(marker, '');
/** A services directory of its own: a command that started Postgres or Redis would fill it. */
const servicesDir = join(dir, 'services');

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What a command left behind: files under OUTPUTS newer than the marker, and a filled services directory. */
function workLeft(): string[] {
  let services: string[] = [];
  try {
    services = readdirSync(servicesDir).map((entry) => `services/${entry}`);
  } catch {
    // never created: nothing was started
  }
  return [...filesNewerThanMarker(), ...services];
}

function filesNewerThanMarker(): string[] {
  const since = statSync(marker).mtimeMs;
  const walk = (path: string): string[] => {
    let entries;
    try {
      entries = readdirSync(path, { withFileTypes: true });
    } catch {
      return [];
    }
    return entries.flatMap((entry) => {
      const full = join(path, entry.name);
      if (entry.isDirectory()) return walk(full);
      return statSync(full).mtimeMs > since ? [relative(ROOT, full)] : [];
    });
  };
  return OUTPUTS.flatMap((output) => walk(join(ROOT, output)));
}

/** Runs `npm run <script> -- <args>` (as package.json defines it); stdout and stderr apart. */
async function run(script: string, args: string[]) {
  const started = Date.now();
  const managed = spawnProcess({
    ...npmScriptProcess(script, args, {
      // Unreachable: a command that went past its command line would fail on these, not exit 0 or 64.
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
      REDIS_URL: 'redis://127.0.0.1:1',
      BOOKING_SERVICES_DIR: servicesDir,
      KUBECONFIG: join(dir, 'no-kubeconfig'),
    }),
  });
  let stdout = '';
  let stderr = '';
  managed.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  managed.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  const { code } = await managed.exited;
  return { code, stdout, stderr, seconds: (Date.now() - started) / 1000 };
}

test('every npm script that runs a program of ours is in the table', () => {
  const programs = Object.entries(scripts)
    .filter(([, command]) => command.includes('tsx '))
    .map(([name]) => name);
  const covered = new Set([...COMMANDS.map((c) => c.script), ...NOT_COMMAND_LINES]);
  expect(programs.filter((name) => !covered.has(name))).toEqual([]);
});

const present = COMMANDS.filter((c) => scripts[c.script]).map((c) => ({
  ...c,
  title: ['npm run', c.script, ...(c.prefix ?? [])].join(' '),
}));

describe.each(present)('$title', ({ script, prefix = [], bad }) => {
  const usagePrefix = `usage: npm run ${script}`;

  test.concurrent(
    '--help: the usage on stdout, exit 0, nothing started',
    async () => {
      const help = await run(script, [...prefix, '--help']);
      expect({ code: help.code, stderr: help.stderr }).toEqual({ code: 0, stderr: '' });
      expect(help.stdout.startsWith(usagePrefix)).toBe(true);
      expect(workLeft()).toEqual([]);
    },
    60_000,
  );

  test.concurrent(
    `${bad[0].join(' ') || '(no arguments)'}: one line naming it, the usage, exit 64, nothing started`,
    async () => {
      const [args, message] = bad;
      const wrong = await run(script, args);
      expect({ code: wrong.code, stdout: wrong.stdout }).toEqual({ code: EX_USAGE, stdout: '' });
      const [first, ...rest] = wrong.stderr.split('\n');
      expect(first).toContain(message);
      expect(first!.startsWith(`npm run ${script}`)).toBe(true);
      expect(rest.join('\n').startsWith(usagePrefix)).toBe(true);
      // No stack trace.
      expect(wrong.stderr).not.toMatch(/^\s+at /m);
      expect(workLeft()).toEqual([]);
    },
    60_000,
  );
});
