import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { descendantsOf, isAlive, spawnProcess, type ManagedProcess } from '@concert-booking/devkit/process';
import { ROOT } from '@concert-booking/devkit/programs';
import { waitFor } from '@concert-booking/devkit/wait';

// Whatever a command started dies with it, however it is stopped mid-run: by a timeout (SIGTERM to npx), by
// Ctrl-C (SIGINT to its process group) or by SIGKILL (only the children's parent-death signal is left then).
// Each command runs with small settings and is stopped once the service it started answers /readyz.

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
};

/** The loopback ports `pid` listens on (its socket inodes matched against /proc/net/tcp). */
function listeningPorts(pid: number): number[] {
  let inodes: Set<string>;
  try {
    inodes = new Set(
      readdirSync(`/proc/${pid}/fd`)
        .map((fd) => {
          try {
            return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
          } catch {
            return undefined;
          }
        })
        .filter((inode): inode is string => inode !== undefined),
    );
  } catch {
    return [];
  }
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[3] === '0A' && inodes.has(fields[9] ?? ''))
    .map((fields) => parseInt(fields[1]!.split(':')[1]!, 16));
}

/** A service the command started, listening and ready. */
async function serviceIsUp(command: ManagedProcess): Promise<boolean> {
  for (const pid of descendantsOf(command.pid).filter((p) => cmdline(p).includes('service/src/main.ts'))) {
    for (const port of listeningPorts(pid)) {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) })
        .then((response) => response.ok)
        .catch(() => false);
      if (ready) return true;
    }
  }
  return false;
}

async function stopMidRun(
  args: string[],
  stop: (command: ManagedProcess) => void,
): Promise<{ started: string[]; left: string[] }> {
  const command = spawnProcess({
    name: args.join(' '),
    command: args[0]!,
    args: args.slice(1),
    cwd: ROOT,
    inheritEnv: true,
  });
  try {
    await waitFor(async () => !command.running() || (await serviceIsUp(command)), 240_000, 'its service');
    if (!command.running()) throw new Error(`${args.join(' ')} ended early:\n${command.output()}`);
    const tree = descendantsOf(command.pid);
    const started = tree.map(cmdline).filter((line) => line.includes('service/src/main.ts'));
    stop(command);
    await command.exited;
    const gone = async () => tree.every((pid) => !isAlive(pid));
    await waitFor(gone, 20_000).catch(() => undefined);
    return { started, left: tree.filter(isAlive).map((pid) => `${pid} ${cmdline(pid)}`) };
  } finally {
    await command.stop();
  }
}

test('the drill, stopped by a timeout (SIGTERM to npx), leaves nothing running', async () => {
  const result = await stopMidRun(['npx', 'tsx', 'drill/src/drill.ts', '--scenario', 'incident'], (command) =>
    process.kill(command.pid, 'SIGTERM'),
  );
  expect(result.started.length).toBeGreaterThan(0);
  expect(result.left).toEqual([]);
}, 300_000);

test('the profile command, interrupted by Ctrl-C (SIGINT to its process group), leaves nothing running', async () => {
  const result = await stopMidRun(
    ['npx', 'tsx', 'service/tools/profile-cli.ts', 'seat-map', '--seconds', '1', '--connections', '2'],
    (command) => process.kill(-command.pid, 'SIGINT'),
  );
  expect(result.started.length).toBeGreaterThan(0);
  expect(result.left).toEqual([]);
}, 300_000);

test('a bench, killed outright (SIGKILL), leaves nothing running', async () => {
  const result = await stopMidRun(
    [
      process.execPath,
      '--import',
      'tsx',
      'service/bench/holds.ts',
      '--seats',
      '1000',
      '--seconds',
      '1',
      '--connections',
      '2',
    ],
    (command) => process.kill(command.pid, 'SIGKILL'),
  );
  expect(result.started.length).toBeGreaterThan(0);
  expect(result.left).toEqual([]);
}, 300_000);
