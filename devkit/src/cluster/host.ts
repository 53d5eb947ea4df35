/**
 * What the local cluster changes on the machine, and how `down` puts it back: the node's bridge (its
 * address is the node's) and the catch-all route that keeps 198.18.0.0/15 on this machine, IP forwarding, the FORWARD rules that
 * keep pod traffic on the bridge, the sysctls kubelet sets, and every mount under the state folder.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { NETWORK } from './layout.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a short host command (ip, iptables, sysctl, umount); throws on a non-zero exit unless `allowFailure`. */
export function host(command: string, args: readonly string[], allowFailure = false): CommandResult {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) throw result.error;
  const outcome = { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  if (outcome.code !== 0 && !allowFailure) {
    throw new Error(`${command} ${args.join(' ')} exited ${outcome.code}: ${outcome.stderr.trim()}`);
  }
  return outcome;
}

/** Sysctls the cluster sets (ip_forward) or kubelet sets at start (its kernel tunables); restored by `down`. */
const TOUCHED_SYSCTLS = [
  'net.ipv4.ip_forward',
  'vm.overcommit_memory',
  'vm.panic_on_oom',
  'kernel.panic',
  'kernel.panic_on_oops',
  'kernel.keys.root_maxkeys',
  'kernel.keys.root_maxbytes',
] as const;

export type SavedSysctls = Record<string, string>;

export function readSysctls(): SavedSysctls {
  return Object.fromEntries(
    TOUCHED_SYSCTLS.map((name) => [name, host('sysctl', ['-n', name]).stdout.trim()]),
  );
}

export function restoreSysctls(saved: SavedSysctls): void {
  for (const [name, value] of Object.entries(saved)) host('sysctl', ['-q', '-w', `${name}=${value}`], true);
}

function ipv4(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function cidrRange(cidr: string): [number, number] {
  const [address, bits] = cidr.includes('/') ? cidr.split('/') : [cidr, '32'];
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipv4(address!) / size) * size;
  return [start, start + size - 1];
}

const overlaps = (a: string, b: string) => {
  const [a0, a1] = cidrRange(a);
  const [b0, b1] = cidrRange(b);
  return a0 <= b1 && b0 <= a1;
};

const OUR_DEVICES = new Set<string>([NETWORK.bridge]);

/** Refuses to start when the machine already routes part of 198.18.0.0/15 somewhere else. */
export function checkNoForeignRoutes(): void {
  const routes = JSON.parse(host('ip', ['-j', 'route', 'show']).stdout) as { dst: string; dev?: string }[];
  const foreign = routes.filter(
    (r) => r.dst !== 'default' && !OUR_DEVICES.has(r.dev ?? '') && overlaps(r.dst, NETWORK.all),
  );
  if (foreign.length > 0) {
    throw new Error(
      `this machine already routes part of ${NETWORK.all}: ${foreign.map((r) => `${r.dst} dev ${r.dev}`).join(', ')}`,
    );
  }
}

/** Sample addresses of every range: each must route to the bridge or loopback. */
export function verifyRoutesStayHere(): void {
  const samples = [NETWORK.nodeIp, '198.18.0.200', '198.18.200.1', NETWORK.kubernetesService, '198.19.128.1'];
  for (const address of samples) {
    const [route] = JSON.parse(host('ip', ['-j', 'route', 'get', address]).stdout) as { dev: string }[];
    if (!route || !(OUR_DEVICES.has(route.dev) || route.dev === 'lo')) {
      throw new Error(`${address} routes through ${route?.dev ?? 'nothing'}: it would leave this machine`);
    }
  }
}

const ISOLATION_CHAIN = 'CB-ISOLATION';

/**
 * The bridge with the node's address (the bridge CNI finds it and its gateway address), the catch-all
 * route, IP forwarding, and FORWARD rules that keep pods on the bridge.
 */
export function setUpHostNetwork(): void {
  const bridge = NETWORK.bridge;
  if (host('ip', ['link', 'show', bridge], true).code !== 0)
    host('ip', ['link', 'add', bridge, 'type', 'bridge']);
  host('ip', ['addr', 'replace', `${NETWORK.podGateway}/${NETWORK.nodePods.split('/')[1]}`, 'dev', bridge]);
  host('ip', ['link', 'set', bridge, 'up']);
  // The pod subnet's own route wins; any other address of the range (Services) ends on the bridge too.
  host('ip', ['route', 'replace', NETWORK.all, 'dev', bridge]);
  // Pod -> ClusterIP -> pod is routed through the host.
  host('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  if (host('iptables', ['-w', '-N', ISOLATION_CHAIN], true).code !== 0) {
    host('iptables', ['-w', '-F', ISOLATION_CHAIN]);
  }
  host('iptables', ['-w', '-A', ISOLATION_CHAIN, '-i', bridge, '-o', bridge, '-j', 'RETURN']);
  host('iptables', ['-w', '-A', ISOLATION_CHAIN, '-i', bridge, '-j', 'DROP']);
  host('iptables', ['-w', '-A', ISOLATION_CHAIN, '-o', bridge, '-j', 'DROP']);
  if (host('iptables', ['-w', '-C', 'FORWARD', '-j', ISOLATION_CHAIN], true).code !== 0) {
    host('iptables', ['-w', '-I', 'FORWARD', '1', '-j', ISOLATION_CHAIN]);
  }
}

/** Chains kubelet and kube-proxy leave (kube-proxy --cleanup removes its own first). */
const LEFTOVER_CHAINS: Record<string, string[]> = {
  filter: [ISOLATION_CHAIN, 'KUBE-FIREWALL', 'KUBE-KUBELET-CANARY'],
  nat: ['KUBE-KUBELET-CANARY'],
  mangle: ['KUBE-IPTABLES-HINT', 'KUBE-KUBELET-CANARY'],
};

export function tearDownHostNetwork(): void {
  host('iptables', ['-w', '-D', 'FORWARD', '-j', ISOLATION_CHAIN], true);
  for (const [table, chains] of Object.entries(LEFTOVER_CHAINS)) {
    // A chain goes only once no rule jumps to it.
    const rules = host('iptables', ['-w', '-t', table, '-S'], true).stdout.split('\n');
    for (const rule of rules.filter((r) =>
      chains.some((chain) => r.startsWith('-A ') && r.endsWith(`-j ${chain}`)),
    )) {
      host('iptables', ['-w', '-t', table, '-D', ...rule.slice(3).split(' ')], true);
    }
    for (const chain of chains) {
      host('iptables', ['-w', '-t', table, '-F', chain], true);
      host('iptables', ['-w', '-t', table, '-X', chain], true);
    }
  }
  host('ip', ['link', 'del', NETWORK.bridge], true);
}

/** Mount points at or under `root`, deepest first (from /proc/self/mountinfo). */
export function mountsUnder(root: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => !!point && (point === root || point.startsWith(`${root}/`)))
    .map((point) => point.replace(/\\040/g, ' '))
    .reverse();
}

/** Unmounts everything under `root`; returns what is still mounted. */
export function unmountAll(root: string): string[] {
  for (let round = 0; round < 5 && mountsUnder(root).length > 0; round++) {
    for (const point of mountsUnder(root)) {
      if (host('umount', [point], true).code !== 0) host('umount', ['--lazy', point], true);
    }
  }
  return mountsUnder(root);
}
