// The process harness against real processes: readiness, logs, SIGTERM then SIGKILL, descendants, and
// nothing left behind when the command that started them is interrupted or killed.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  daemonPid,
  descendantsOf,
  isAlive,
  ProcessGroup,
  ProcessStartError,
  spawnProcess,
  startProcess,
  stopDaemon,
} from '../src/process.js';
import { freePort, waitFor } from '../src/wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'devkit-process-'));
const group = new ProcessGroup();
afterAll(() => group.stopAll());

const node = (source: string) => ({ command: process.execPath, args: ['-e', source] });

describe('startProcess', () => {
  it('waits for the health check, keeps the log, and stops with SIGTERM', async () => {
    const port = await freePort();
    const server = await group.start({
      name: 'http',
      ...node(`
        const server = require('node:http').createServer((q, s) => s.end('ok'));
        setTimeout(() => server.listen(${port}, '127.0.0.1', () => console.log('listening')), 300);
        process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); });`),
      ready: { url: `http://127.0.0.1:${port}/` },
      logFile: join(dir, 'http.log'),
    });
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok');
    expect(await server.stop()).toEqual({ code: 0, signal: null });
    expect(server.output()).toContain('listening\ngot SIGTERM');
    expect(readFileSync(join(dir, 'http.log'), 'utf8')).toBe(server.output());
  });

  it('names a process that exits before it is ready, with its last output', async () => {
    const error = await startProcess({
      name: 'broken',
      ...node(`console.error('invalid configuration: PORT'); process.exit(78)`),
      ready: { url: 'http://127.0.0.1:1/' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProcessStartError);
    expect((error as Error).message).toMatch(/^broken exited before it was ready \(code 78/);
    expect((error as Error).message).toContain('invalid configuration: PORT');
  });

  it('stops a process that is never ready, and says so', async () => {
    const error = await startProcess({
      name: 'silent',
      ...node('setInterval(() => {}, 1000)'),
      ready: async () => false,
      readyTimeoutMs: 500,
    }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^silent was not ready after 500 ms/);
  });

  it('kills with SIGKILL after the deadline when SIGTERM is ignored', async () => {
    const stubborn = spawnProcess({
      name: 'stubborn',
      ...node(
        `process.on('SIGTERM', () => console.log('ignored')); setInterval(() => {}, 1000); console.log('up')`,
      ),
      stopTimeoutMs: 300,
    });
    await waitFor(async () => stubborn.output().includes('up'), 10_000);
    expect(await stubborn.stop()).toEqual({ code: null, signal: 'SIGKILL' });
    expect(stubborn.output()).toContain('ignored');
  });

  it('leaves none of its descendants running', async () => {
    const parent = spawnProcess({
      name: 'parent',
      command: 'bash',
      args: ['-c', 'sleep 600 & sleep 600 & (trap "" TERM; sleep 600) & wait'],
    });
    await waitFor(async () => descendantsOf(parent.pid).length >= 3, 10_000);
    const children = descendantsOf(parent.pid);
    await parent.stop();
    await waitFor(async () => children.every((pid) => !isAlive(pid)), 5_000);
  });
});

describe('stdin', () => {
  it('is written to the child, and a child that exits without reading it is no error (EPIPE)', async () => {
    const echo = spawnProcess({ name: 'cat', ...node(`process.stdin.pipe(process.stdout)`), stdin: 'hello' });
    expect(await echo.exited).toEqual({ code: 0, signal: null });
    expect(echo.output()).toBe('hello');
    // More than a pipe holds, to a child that never reads: the write fails once it has exited.
    const quick = spawnProcess({ name: 'quick', ...node('process.exit(0)'), stdin: 'x'.repeat(4_000_000) });
    expect(await quick.exited).toEqual({ code: 0, signal: null });
  });
});

describe('a command using the harness', () => {
  // A command that starts a long-lived child through a ProcessGroup, then works until it is stopped.
  const script = join(dir, 'command.ts');
  writeFileSync(
    script,
    `import { ProcessGroup } from '${join(ROOT, 'devkit/src/process.ts')}';
     const group = new ProcessGroup();
     group.interruptible(() => console.log('interrupted'));
     const child = group.spawn({ name: 'child', command: 'sleep', args: ['600'] });
     console.log('child ' + child.pid);
     setInterval(() => {}, 1000);`,
  );
  /** `through`: a wrapper that does not pass signals on, as npx is to the tsx it runs. */
  const runCommand = async (through: string[] = []) => {
    const [command_, ...args] = [...through, process.execPath, '--import', 'tsx', script];
    const command = spawnProcess({ name: 'command', command: command_!, args, cwd: ROOT });
    await waitFor(async () => /child \d+/.test(command.output()), 30_000, 'the command to start its child');
    const childPid = Number(/child (\d+)/.exec(command.output())![1]);
    expect(isAlive(childPid)).toBe(true);
    return { command, childPid };
  };

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
    'stops its children and exits 128+n on %s',
    async (signal) => {
      const { command, childPid } = await runCommand();
      process.kill(command.pid, signal);
      const { code } = await command.exited;
      expect(code).toBe(128 + { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[signal]);
      expect(command.output()).toContain('interrupted');
      expect(isAlive(childPid)).toBe(false);
    },
  );

  it('leaves no child when it is killed outright (SIGKILL)', async () => {
    const { command, childPid } = await runCommand();
    process.kill(command.pid, 'SIGKILL');
    await command.exited;
    await waitFor(async () => !isAlive(childPid), 5_000, 'the orphan to get its parent-death signal');
  });

  it('stops its children when the process that ran it dies without passing the signal on', async () => {
    // `sh -c 'node ...; true'` keeps sh as the parent; SIGKILL to sh reaches neither node nor its child.
    const { command, childPid } = await runCommand(['sh', '-c', '"$0" "$@"; true']);
    process.kill(command.pid, 'SIGKILL');
    await waitFor(async () => !isAlive(childPid), 10_000, 'the child to be stopped');
  });
});

describe('daemons', () => {
  it('outlive the command that started them, and stopDaemon stops them from the pid file', async () => {
    const pidFile = join(dir, 'daemon.pid');
    const logFile = join(dir, 'daemon.log');
    const port = await freePort();
    // A short-lived command starts the daemon and exits, as `npm run cluster -- up` does.
    const starter = spawnProcess({
      name: 'starter',
      command: process.execPath,
      args: [
        '--import',
        'tsx',
        '-e',
        `const { startProcess } = await import(${JSON.stringify(join(ROOT, 'devkit/src/process.ts'))});
         await startProcess({
           name: 'daemon', command: process.execPath,
           args: ['-e', "require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1', () => console.log('serving'));"
             + "process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); })"],
           logFile: ${JSON.stringify(logFile)}, daemon: { pidFile: ${JSON.stringify(pidFile)} },
           ready: { url: 'http://127.0.0.1:${port}/' },
         });`,
      ],
      cwd: ROOT,
      inheritEnv: true,
    });
    expect((await starter.exited).code).toBe(0);
    const pid = daemonPid(pidFile);
    expect(pid).toBeDefined();
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok');
    expect(await stopDaemon(pidFile)).toBe(true);
    expect(isAlive(pid!)).toBe(false);
    expect(readFileSync(logFile, 'utf8')).toBe('serving\ngot SIGTERM\n');
    expect(await stopDaemon(pidFile)).toBe(false);
  });

  it('get SIGKILL when SIGTERM is not enough, and a reused pid is not theirs', async () => {
    const pidFile = join(dir, 'stubborn.pid');
    const stubborn = spawnProcess({
      name: 'stubborn',
      ...node(
        `process.on('SIGTERM', () => console.log('ignored')); console.log('ready'); setInterval(() => {}, 1000)`,
      ),
      logFile: join(dir, 'stubborn.log'),
      daemon: { pidFile },
    });
    await waitFor(async () => stubborn.output() === 'ready\n', 5_000);
    const started = Date.now();
    expect(await stopDaemon(pidFile, 500)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await stubborn.exited).signal).toBe('SIGKILL');
    writeFileSync(pidFile, `${process.pid} 0\n`);
    expect(daemonPid(pidFile)).toBeUndefined();
  });
});
