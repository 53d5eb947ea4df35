// The hand-written mutants of issue 21's spot-check (bugs Stryker does not generate: SQL text, a removed
// subscription, a changed rounding), each applied to a copy of the repository and run against the tests meant
// to catch it. Every one must make those tests fail; the script exits 1 when one survives or no longer applies.
//   npx tsx scripts/listed-mutants.ts [name-filter]
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ListedMutant {
  name: string;
  file: string;
  /** Replaced once; the text must occur exactly once in the file. */
  from: string;
  to: string;
  tests: string[];
}

const SEAT_MAP = 'service/src/catalog/seat-map-cache.ts';
const QUERIES = 'service/src/reservations/queries.ts';
const POLICY = 'controller/src/policy.ts';
const EPISODES = 'controller/src/alerts/episodes.ts';

const mutants: ListedMutant[] = [
  {
    name: 'seat-map cache: no pub/sub subscription',
    file: SEAT_MAP,
    from: '    options.bus.subscribe((key) => this.forget(key, !options.store.shared));\n',
    to: '',
    tests: ['service/test/seat-map-cache.test.ts'],
  },
  {
    name: 'seat-map cache: no generation guard on the Redis write',
    file: SEAT_MAP,
    from: 'if (storeHealthy && (this.generations.get(key) ?? 0) === generation) {',
    to: 'if (storeHealthy) {',
    tests: ['service/test/seat-map-cache.test.ts'],
  },
  {
    name: 'seat-map cache: no generation guard on the memory write',
    file: SEAT_MAP,
    from: 'if (this.options.memoryTtlMs > 0 && (this.generations.get(key) ?? 0) === generation) {',
    to: 'if (this.options.memoryTtlMs > 0) {',
    tests: ['service/test/seat-map-cache.test.ts'],
  },
  {
    name: "HOLD_SQL: a seat held under another timeslot's id",
    file: QUERIES,
    from: 'where id = :seatId and timeslot_id = :timeslotId',
    to: 'where id = :seatId',
    tests: ['service/test/statements.test.ts'],
  },
  {
    name: 'HOLD_SQL: the lapsed step expires every reservation of the seat',
    file: QUERIES,
    from: "from seat where r.seat_id = seat.id and r.status = 'HELD'",
    to: 'from seat where r.seat_id = seat.id',
    tests: ['service/test/statements.test.ts'],
  },
  {
    name: 'HOLD_SQL: a hold counts as lapsed 2 s early',
    file: QUERIES,
    from: "(status = 'HELD' and hold_expires_at <= now())",
    to: "(status = 'HELD' and hold_expires_at <= now() + interval '2 seconds')",
    tests: ['service/test/statements.test.ts'],
  },
  {
    name: 'idempotency: take-over without the locked_at guard',
    file: 'service/src/payments/idempotency.ts',
    from: '.where({ scope, key, locked_at: row!.locked_at })',
    to: '.where({ scope, key })',
    tests: ['service/test/idempotency.test.ts'],
  },
  {
    name: 'reconciler: no lastFiringTime (stabilization ignored)',
    file: 'controller/src/reconcile/reconciler.ts',
    from: 'lastFiringTime: date(status.lastFiringTime),',
    to: 'lastFiringTime: undefined,',
    tests: ['controller/test/reconciler.unit.test.ts', 'controller/test/reconciler.test.ts'],
  },
  {
    name: 'status write: no retry on a conflict',
    file: 'controller/src/reconcile/kube-store.ts',
    from: 'if (code !== 409 || attempt >= MAX_CONFLICT_RETRIES) throw error;',
    to: 'throw error;',
    tests: ['controller/test/kube-store.test.ts'],
  },
  {
    name: 'leader: an expired lease is never taken over',
    file: 'controller/src/leader.ts',
    from: 'return nowMs - observedAtMs > (record.leaseDurationSeconds ?? 0) * 1000;',
    to: 'return false;',
    tests: ['controller/test/leader.unit.test.ts', 'controller/test/leader.test.ts'],
  },
  {
    name: 'leader: missing the renew deadline never steps down',
    file: 'controller/src/leader.ts',
    from: '  nowMs - lastRenewMs > renewDeadlineMs;',
    to: '  false;',
    tests: ['controller/test/leader.unit.test.ts', 'controller/test/leader.test.ts'],
  },
  {
    name: 'policy: the scale-down step rounds up',
    file: POLICY,
    from: 'stepSize(spec.scaleDown.step, current, Math.floor)',
    to: 'stepSize(spec.scaleDown.step, current, Math.ceil)',
    tests: ['controller/test/policy.unit.test.ts'],
  },
  {
    name: 'policy: a percent step may be 0 pods',
    file: POLICY,
    from: 'Math.max(1, round((current * step.value) / 100))',
    to: 'round((current * step.value) / 100)',
    tests: ['controller/test/policy.unit.test.ts'],
  },
  {
    name: 'policy: the scale-down cooldown follows only a scale-down',
    file: POLICY,
    from: 'const cooldown = remaining(lastScale?.time, spec.scaleDown.cooldownSeconds, now);',
    to: "const cooldown = lastScale?.direction === 'Down' ? remaining(lastScale.time, spec.scaleDown.cooldownSeconds, now) : undefined;",
    tests: ['controller/test/policy.unit.test.ts'],
  },
  {
    name: 'episodes: lastFiringTime may move backwards',
    file: EPISODES,
    from: '(a && a > b ? a : b)',
    to: '(b)',
    tests: ['controller/test/episodes.unit.test.ts'],
  },
  {
    name: 'episodes: no "resolved repeated" branch',
    file: EPISODES,
    from: "  if (resolvedBefore) return { state, outcome: 'repeat' };\n",
    to: '',
    tests: ['controller/test/episodes.unit.test.ts'],
  },
  {
    name: 'episodes: the cap keeps the oldest',
    file: EPISODES,
    from: 'firingAlerts: state.firingAlerts.slice(-MAX_EPISODES),',
    to: 'firingAlerts: state.firingAlerts.slice(0, MAX_EPISODES),',
    tests: ['controller/test/episodes.unit.test.ts'],
  },
  {
    name: 'episodes: a one-minute resolved memory',
    file: EPISODES,
    from: 'RESOLVED_MEMORY_MS = 60 * 60_000;',
    to: 'RESOLVED_MEMORY_MS = 60_000;',
    tests: ['controller/test/episodes.unit.test.ts'],
  },
  // Both places that answer: the middleware chain (/readyz, the routes) and the hot route (the seat map).
  {
    name: 'drain: no Connection: close while draining, on the middleware chain',
    file: 'service/src/app.ts',
    from: "if (lifecycle.draining) ctx.set('Connection', 'close');",
    to: '',
    tests: ['service/test/lifecycle.test.ts'],
  },
  {
    name: 'drain: no Connection: close while draining, on the hot route',
    file: 'service/src/http/hot-route.ts',
    from: "if (deps.lifecycle.draining) ctx.set('Connection', 'close');",
    to: '',
    tests: ['service/test/lifecycle.test.ts'],
  },
];

const root = fileURLToPath(new URL('..', import.meta.url));
const WORKSPACE_SCOPE = '@concert-booking';

/**
 * A copy of the working tree (tracked and new files, not ignored ones) sharing the installed packages, except
 * the workspace packages (@concert-booking/*): those resolve to the copy's own, so a test that reaches the
 * mutated code through a package (devkit's programs start `service/src/main.ts` from devkit's own root) runs
 * the mutant, not the original tree.
 */
function sandbox(): string {
  const dir = mkdtempSync(join(tmpdir(), 'listed-mutant-'));
  const listed = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (listed.status !== 0) throw new Error(`git ls-files failed: ${listed.stderr}`);
  for (const file of listed.stdout.split('\0').filter(Boolean)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    cpSync(join(root, file), join(dir, file), { dereference: false });
  }
  linkPackages(root, dir);
  return dir;
}

function linkPackages(from: string, to: string): void {
  const modules = join(from, 'node_modules');
  mkdirSync(join(to, 'node_modules', WORKSPACE_SCOPE), { recursive: true });
  for (const entry of readdirSync(modules)) {
    if (entry !== WORKSPACE_SCOPE) symlinkSync(join(modules, entry), join(to, 'node_modules', entry));
  }
  // npm links each workspace package relatively (../../service), so the same link points into the copy.
  for (const name of readdirSync(join(modules, WORKSPACE_SCOPE))) {
    const link = join(WORKSPACE_SCOPE, name);
    symlinkSync(readlinkSync(join(modules, link)), join(to, 'node_modules', link));
  }
  // A workspace's own node_modules (versions that differ from the root's).
  const { workspaces } = JSON.parse(readFileSync(join(from, 'package.json'), 'utf8')) as {
    workspaces: string[];
  };
  for (const workspace of workspaces) {
    const own = join(from, workspace, 'node_modules');
    if (existsSync(own)) symlinkSync(own, join(to, workspace, 'node_modules'));
  }
}

/** Killed only by a failing test: a suite that could not run (a syntax error, no server) is an error. */
function run(mutant: ListedMutant): 'killed' | 'survived' | 'error' | 'not applicable' {
  const source = readFileSync(join(root, mutant.file), 'utf8');
  if (source.split(mutant.from).length !== 2) return 'not applicable';
  const dir = sandbox();
  try {
    writeFileSync(join(dir, mutant.file), source.replace(mutant.from, mutant.to));
    const jest = spawnSync(
      process.execPath,
      [
        '--experimental-vm-modules',
        'node_modules/jest/bin/jest.js',
        '--forceExit',
        '--json',
        ...mutant.tests,
      ],
      { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    const result = JSON.parse(jest.stdout || '{}') as {
      numFailedTests?: number;
      numRuntimeErrorTestSuites?: number;
    };
    if ((result.numFailedTests ?? 0) > 0) return 'killed';
    return jest.status === 0 && result.numRuntimeErrorTestSuites === 0 ? 'survived' : 'error';
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const filter = process.argv[2] ?? '';
let failed = 0;
for (const mutant of mutants.filter((m) => m.name.includes(filter))) {
  const result = run(mutant);
  if (result !== 'killed') failed++;
  process.stdout.write(
    `${result === 'killed' ? 'killed  ' : result.toUpperCase()}  ${mutant.name}  (${mutant.tests.join(', ')})\n`,
  );
}
if (failed > 0) {
  process.stderr.write(`listed mutants: ${failed} not killed\n`);
  process.exit(1);
}
