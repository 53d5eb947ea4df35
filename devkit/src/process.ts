/**
 * The one process harness (in the spirit of envtest's process package): start a program, wait until it is
 * ready, keep its log, stop it with SIGTERM and then SIGKILL after a deadline, and never leave anything behind.
 *
 * - Every child runs in a process group of its own, so stopping it also reaches what it started (cluster
 *   workers, Postgres backends); its descendants are collected before it is signalled and killed if they
 *   outlive it.
 * - Where util-linux's `setpriv` exists, a child gets SIGTERM when its parent dies (PR_SET_PDEATHSIG), so
 *   even a SIGKILLed command leaves no child running.
 * - `ProcessGroup.interruptible()` stops everything on SIGINT, SIGTERM and SIGHUP and exits 128+signal, and
 *   also when a process that started this one dies: `npx` and `npm exec` exit on SIGTERM without passing it
 *   to the `tsx` they run, which would leave this command (and all it started) running.
 * - Daemons (`daemon: { pidFile }`) outlive the command that started them (the local cluster's servers): no
 *   parent-death signal, output to the log file only, a pid file; `stopDaemon` stops one from that pid file
 *   with the same SIGTERM-then-SIGKILL steps.
 * Used by the tests, benches, tools, experiments, drills and the local cluster; never by runtime code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, join } from 'node:path';
import { waitFor } from './wait.js';

/** How a started process tells it is ready. */
export type ReadyCheck =
  { url: string; headers?: Record<string, string> } | ((process: ManagedProcess) => Promise<boolean>);

export interface ProcessSpec {
  /** For messages and logs: 'service', 'prometheus', ... */
  name: string;
  command: string;
  args?: readonly string[];
  /** Added to a minimal environment (PATH, HOME); nothing else of ours leaks in unless `inheritEnv`. */
  env?: Record<string, string | undefined>;
  inheritEnv?: boolean;
  cwd?: string;
  uid?: number;
  gid?: number;
  /** Also append the output to this file (the tail is always kept in memory). */
  logFile?: string;
  ready?: ReadyCheck;
  /** Default 60 s. */
  readyTimeoutMs?: number;
  /** Between SIGTERM and SIGKILL; default 10 s. */
  stopTimeoutMs?: number;
  /**
   * Outlive this process: no parent-death signal, stdout and stderr go to `logFile` (required) only, and the
   * pid goes to `pidFile` for `stopDaemon`.
   */
  daemon?: { pidFile: string };
  /** Written to the child's stdin, which is then closed (default: no stdin). */
  stdin?: string;
  /** What `stop` sends first; default SIGTERM (Postgres takes SIGINT for its fast shutdown). */
  stopSignal?: NodeJS.Signals;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The last output (stdout and stderr interleaved), at most OUTPUT_LIMIT characters. */
  output(): string;
  running(): boolean;
  readonly exited: Promise<ExitStatus>;
  /** SIGTERM (or the spec's stopSignal), SIGKILL after its deadline, then SIGKILL to any descendant left. */
  stop(): Promise<ExitStatus>;
}

/** The process exited before it was ready, or did not become ready in time. */
export class ProcessStartError extends Error {
  constructor(
    readonly processName: string,
    reason: string,
    readonly log: string,
  ) {
    super(`${processName} ${reason}\n--- last output of ${processName} ---\n${log.slice(-4000)}`);
  }
}

const OUTPUT_LIMIT = 1_000_000;
const DEFAULT_READY_TIMEOUT_MS = 60_000;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;

/** util-linux's setpriv, for --pdeathsig (Linux only). */
const hasSetpriv = () =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, 'setpriv')));

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The parent of `pid`, from /proc (undefined once it is gone). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Parent, grandparent, ... of `pid`, up to (not including) init. */
export function ancestorsOf(pid: number): number[] {
  const found: number[] = [];
  for (let parent = parentOf(pid); parent !== undefined && parent > 1; parent = parentOf(parent)) {
    found.push(parent);
  }
  return found;
}

/** Descendants of `root` (not itself), from /proc. */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentOf(Number(entry));
    if (ppid === undefined) continue; // exited meanwhile
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.pop()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** Field 22 of /proc/PID/stat (clock ticks after boot): with the pid, it names one process for good. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** The last `limit` characters of a file ('' when it cannot be read). */
export function fileTail(path: string, limit = OUTPUT_LIMIT): string {
  try {
    return readFileSync(path, 'utf8').slice(-limit);
  } catch {
    return '';
  }
}

function signalQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

async function isReady(check: ReadyCheck, managed: ManagedProcess): Promise<boolean> {
  if (typeof check === 'function') return check(managed);
  const response = await fetch(check.url, { headers: check.headers, signal: AbortSignal.timeout(2000) });
  await response.body?.cancel();
  return response.ok;
}

/** Spawns one process (not waiting for readiness). */
export function spawnProcess(spec: ProcessSpec): ManagedProcess {
  const args = spec.args ?? [];
  const { daemon, logFile } = spec;
  if (daemon && !logFile) throw new Error(`${spec.name}: a daemon needs a logFile`);
  const [command, argv] =
    hasSetpriv() && !daemon
      ? ['setpriv', ['--pdeathsig', 'TERM', '--', spec.command, ...args]]
      : [spec.command, [...args]];
  const base = spec.inheritEnv
    ? process.env
    : { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR };
  const logFd = daemon ? openSync(logFile!, 'a') : undefined;
  const child = spawn(command, argv, {
    cwd: spec.cwd,
    env: { ...base, ...spec.env },
    stdio: [spec.stdin === undefined ? 'ignore' : 'pipe', logFd ?? 'pipe', logFd ?? 'pipe'],
    detached: true, // a process group of its own: see stop()
    uid: spec.uid,
    gid: spec.gid,
  });
  // A child may exit, or close its stdin, before reading it (kubectl get): that EPIPE is no failure of ours.
  child.stdin?.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  child.stdin?.end(spec.stdin);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
    if (logFile) appendFileSync(logFile, chunk);
  };
  if (logFd === undefined) {
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
  } else {
    closeSync(logFd);
    child.unref();
    if (child.pid) writeFileSync(daemon!.pidFile, `${child.pid} ${startTimeOf(child.pid)}\n`);
  }
  let status: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('error', (error) => {
      keep(Buffer.from(`${error.message}\n`));
      resolve((status ??= { code: 127, signal: null }));
    });
    child.once('exit', (code, signal) => resolve((status ??= { code, signal })));
  });
  const pid = child.pid ?? -1;
  let stopping: Promise<ExitStatus> | undefined;
  const managed: ManagedProcess = {
    name: spec.name,
    pid,
    child,
    output: () => (daemon ? fileTail(logFile!) : output),
    running: () => status === undefined && pid > 0,
    exited,
    stop: () =>
      (stopping ??= (async () => {
        if (!managed.running()) return exited;
        const descendants = descendantsOf(pid);
        signalQuietly(pid, spec.stopSignal ?? 'SIGTERM');
        const timer = setTimeout(() => {
          signalQuietly(-pid, 'SIGKILL');
          signalQuietly(pid, 'SIGKILL');
        }, spec.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
        const result = await exited;
        clearTimeout(timer);
        // Whatever outlived it (its group, or children that left the group) goes too.
        signalQuietly(-pid, 'SIGKILL');
        for (const left of descendants.filter(isAlive)) signalQuietly(left, 'SIGKILL');
        return result;
      })()),
  };
  return managed;
}

/** Waits until `spec.ready` answers; throws ProcessStartError (after stopping it) otherwise. */
export async function waitReady(managed: ManagedProcess, spec: ProcessSpec): Promise<ManagedProcess> {
  const check = spec.ready;
  if (!check) return managed;
  const timeoutMs = spec.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  // Stops waiting as soon as it exits: an exit is an answer too.
  const ready = await waitFor(
    async () => !managed.running() || (await isReady(check, managed)),
    timeoutMs,
    `${spec.name} to be ready`,
  ).then(
    () => managed.running(),
    () => false,
  );
  if (ready) return managed;
  const exitedEarly = !managed.running();
  const { code, signal } = exitedEarly ? await managed.exited : await managed.stop();
  throw new ProcessStartError(
    spec.name,
    exitedEarly
      ? `exited before it was ready (code ${code}, signal ${signal})`
      : `was not ready after ${timeoutMs} ms`,
    managed.output(),
  );
}

/** Spawns and waits until it is ready. */
export async function startProcess(spec: ProcessSpec): Promise<ManagedProcess> {
  return waitReady(spawnProcess(spec), spec);
}

/** The daemon a pid file names, if it still runs (a pid reused by another process does not count). */
export function daemonPid(pidFile: string): number | undefined {
  const [pid, startTime] = fileTail(pidFile).trim().split(' ');
  const number = Number(pid);
  if (!Number.isInteger(number) || number <= 0) return undefined;
  return startTimeOf(number) === startTime ? number : undefined;
}

/**
 * Stops the daemon of a pid file as `ManagedProcess.stop` stops a child: SIGTERM, SIGKILL to its group
 * after `stopTimeoutMs`, then SIGKILL to any descendant left. Removes the pid file. Resolves false when
 * nothing was running.
 */
export async function stopDaemon(pidFile: string, stopTimeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<boolean> {
  const pid = daemonPid(pidFile);
  rmSync(pidFile, { force: true });
  if (pid === undefined) return false;
  const descendants = descendantsOf(pid);
  signalQuietly(pid, 'SIGTERM');
  await waitFor(async () => !isAlive(pid), stopTimeoutMs).catch(() => undefined);
  signalQuietly(-pid, 'SIGKILL');
  signalQuietly(pid, 'SIGKILL');
  for (const left of descendants.filter(isAlive)) signalQuietly(left, 'SIGKILL');
  await waitFor(async () => !isAlive(pid), 5_000).catch(() => undefined);
  return true;
}

const INTERRUPTS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;

/**
 * Everything one command (a test file, a bench, a drill) started. `stopAll` stops them in reverse order and
 * reports any pid still alive afterwards.
 */
export class ProcessGroup {
  private readonly members: ManagedProcess[] = [];
  private readonly pids = new Set<number>();

  /** Tracked from the spawn on, so an interrupt during a slow start stops it too. */
  async start(spec: ProcessSpec): Promise<ManagedProcess> {
    return waitReady(this.spawn(spec), spec);
  }

  spawn(spec: ProcessSpec): ManagedProcess {
    return this.track(spawnProcess(spec));
  }

  /** Remembers the current descendants too, so `stopAll` can tell whether they are gone. */
  noteDescendants(): void {
    for (const member of this.members) for (const pid of descendantsOf(member.pid)) this.pids.add(pid);
  }

  get processes(): readonly ManagedProcess[] {
    return this.members;
  }

  async stopAll(): Promise<number[]> {
    this.noteDescendants();
    for (const member of [...this.members].reverse()) await member.stop();
    await waitFor(async () => [...this.pids].every((pid) => !isAlive(pid)), 5_000).catch(() => undefined);
    const left = [...this.pids].filter(isAlive);
    for (const pid of left) signalQuietly(pid, 'SIGKILL');
    return left;
  }

  /**
   * Until the returned function is called: on SIGINT, SIGTERM or SIGHUP, await `onInterrupt` (e.g. abort the
   * work, drop what was created), stop everything and exit with 128 + the signal's number.
   */
  interruptible(onInterrupt?: (signal: NodeJS.Signals) => void | Promise<void>): () => void {
    let interrupted = false;
    const interrupt = (signal: keyof typeof INTERRUPTS) => {
      if (interrupted) return;
      interrupted = true;
      void (async () => {
        await Promise.resolve(onInterrupt?.(signal)).catch(() => undefined);
        await this.stopAll();
        process.exit(128 + INTERRUPTS[signal]);
      })();
    };
    const removers = (Object.keys(INTERRUPTS) as (keyof typeof INTERRUPTS)[]).map((signal) => {
      const handler = () => interrupt(signal);
      process.once(signal, handler);
      return () => process.removeListener(signal, handler);
    });
    // An ancestor gone is a hangup: whoever ran this command has stopped it.
    const ancestors = ancestorsOf(process.pid);
    const watch = setInterval(() => {
      if (ancestors.some((pid) => !isAlive(pid))) interrupt('SIGHUP');
    }, 500);
    watch.unref();
    return () => {
      clearInterval(watch);
      removers.forEach((remove) => remove());
    };
  }

  private track(managed: ManagedProcess): ManagedProcess {
    this.members.push(managed);
    if (managed.pid > 0) this.pids.add(managed.pid);
    return managed;
  }
}

/** A command that runs to completion (initdb, a seed): resolves with its output, or throws with it. */
export async function runProcess(spec: ProcessSpec, group?: ProcessGroup): Promise<string> {
  const managed = group ? group.spawn(spec) : spawnProcess(spec);
  const { code, signal } = await managed.exited;
  if (code !== 0) {
    throw new ProcessStartError(spec.name, `failed (code ${code}, signal ${signal})`, managed.output());
  }
  return managed.output();
}
