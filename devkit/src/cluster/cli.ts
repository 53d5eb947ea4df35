/**
 * `npm run cluster -- prepare|up|down|status|kubeconfig|values`: the local single-node cluster (docs/cluster.md).
 *   prepare     install the packages, build the binaries and images (what `up` does before it starts anything)
 *   up          start (or finish starting) the cluster; prints how long it took
 *   down        stop it and remove its containers, mounts, interfaces, rules and state (keeps logs and images)
 *   status      which daemons run (exit 1 unless all do)
 *   kubeconfig  the admin kubeconfig's path (export KUBECONFIG="$(npm run -s cluster -- kubeconfig)")
 *   values      the bundle values file for the local images (BUNDLE_VALUES=...; written by `up`)
 */
import { existsSync } from 'node:fs';
import { parseCommandLine, runMain, UsageError, type CommandLine } from '@concert-booking/lib';
import { ClusterUpError, down, prepare, status, up } from './cluster.js';
import { clusterLayout } from './layout.js';

const COMMAND: CommandLine<Record<string, never>> = {
  name: 'npm run cluster --',
  usage: 'prepare|up|down|status|kubeconfig|values',
  options: {},
  allowPositionals: true,
};

async function main(): Promise<number> {
  const { positionals } = parseCommandLine(COMMAND, process.argv.slice(2));
  const [command, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  const layout = clusterLayout();
  switch (command) {
    case 'prepare':
    case 'up':
      try {
        await (command === 'up' ? up(layout) : prepare());
        return 0;
      } catch (error) {
        if (!(error instanceof ClusterUpError)) throw error;
        console.error(error.message);
        console.error(`logs: ${layout.logs}; stop what started with: npm run cluster -- down`);
        return 1;
      }
    case 'down': {
      const result = await down(layout);
      console.error(`cluster: stopped ${result.stopped.join(', ') || 'nothing (not running)'}`);
      if (result.leftProcesses.length > 0 || result.leftMounts.length > 0) {
        console.error(
          `cluster: still there: processes ${result.leftProcesses.join(' ')} mounts ${result.leftMounts.join(' ')}`,
        );
        return 1;
      }
      return 0;
    }
    case 'status': {
      const { daemons, running } = status(layout);
      for (const [daemon, pid] of Object.entries(daemons)) {
        console.log(`${daemon.padEnd(24)} ${pid ? `running (pid ${pid})` : 'stopped'}`);
      }
      console.log(`logs: ${layout.logs}`);
      return running ? 0 : 1;
    }
    case 'kubeconfig':
    case 'values': {
      const path = command === 'kubeconfig' ? layout.adminKubeconfig : layout.valuesFile;
      if (!existsSync(path)) {
        console.error(`no ${path}: run npm run cluster -- up first`);
        return 1;
      }
      console.log(path);
      return 0;
    }
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'a command is needed');
  }
}

runMain(COMMAND, main);
