import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A CPU limit per worker of the local cluster mode, the way a pod's CPU limit works: the Linux CFS quota of a
 * cgroup of its own (cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`, cgroup v2 `cpu.max`). Each added
 * worker then brings its own share of the machine, and one worker's capacity no longer depends on what else
 * runs beside it. Needs a writable cgroup hierarchy (root, or a delegated subtree).
 */
export class CpuLimitError extends Error {}

/** The kubelet's default CFS period. */
const PERIOD_US = 100_000;

type Layout = { version: 1; root: string } | { version: 2; root: string };

function detectLayout(cgroupRoot: string): Layout {
  if (existsSync(join(cgroupRoot, 'cpu', 'cpu.cfs_quota_us')))
    return { version: 1, root: join(cgroupRoot, 'cpu') };
  const controllers = join(cgroupRoot, 'cgroup.controllers');
  if (existsSync(controllers) && readFileSync(controllers, 'utf8').split(/\s+/).includes('cpu')) {
    return { version: 2, root: cgroupRoot };
  }
  throw new CpuLimitError(
    `no cgroup CPU controller under ${cgroupRoot} (neither cgroup v1 cpu/cpu.cfs_quota_us nor cgroup v2 with "cpu" in cgroup.controllers)`,
  );
}

function write(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (error) {
    throw new CpuLimitError(`cannot write ${value.trim()} to ${path}: ${(error as Error).message}`);
  }
}

/** The cgroups of one primary's workers: `<root>/concert-booking-<primary pid>/worker-<id>`. */
export class CpuLimiter {
  private constructor(
    private readonly layout: Layout,
    private readonly parent: string,
    readonly cores: number,
  ) {}

  /**
   * Creates the primary's parent cgroup (and removes empty ones of primaries no longer alive). Throws
   * CpuLimitError, naming the path, when no cgroup can be made here: the caller must stop rather than run
   * uncapped workers, which would change what the workers' capacity means.
   */
  static create(cores: number, cgroupRoot = '/sys/fs/cgroup'): CpuLimiter {
    const layout = detectLayout(cgroupRoot);
    removeStaleParents(layout.root);
    const parent = join(layout.root, `concert-booking-${process.pid}`);
    try {
      mkdirSync(parent, { recursive: true });
    } catch (error) {
      throw new CpuLimitError(`cannot create the cgroup ${parent}: ${(error as Error).message}`);
    }
    // cgroup v2: a child's cpu.max exists only where the parent delegates the cpu controller.
    if (layout.version === 2) write(join(parent, 'cgroup.subtree_control'), '+cpu');
    return new CpuLimiter(layout, parent, cores);
  }

  /** The cgroup directory of worker `id`. */
  groupOf(id: number): string {
    return join(this.parent, `worker-${id}`);
  }

  /** Moves process `pid` (the worker's, with all its threads) into its own capped cgroup. */
  limit(id: number, pid: number): void {
    const group = this.groupOf(id);
    mkdirSync(group, { recursive: true });
    const quota = String(Math.max(1000, Math.round(this.cores * PERIOD_US)));
    if (this.layout.version === 1) {
      write(join(group, 'cpu.cfs_period_us'), String(PERIOD_US));
      write(join(group, 'cpu.cfs_quota_us'), quota);
    } else {
      write(join(group, 'cpu.max'), `${quota} ${PERIOD_US}`);
    }
    write(join(group, 'cgroup.procs'), String(pid));
  }

  /** Removes a worker's cgroup once its process has exited (an empty cgroup can be removed). */
  release(id: number): void {
    rmdirQuietly(this.groupOf(id));
  }

  close(): void {
    if (!existsSync(this.parent)) return;
    for (const entry of readdirSync(this.parent, { withFileTypes: true })) {
      if (entry.isDirectory()) rmdirQuietly(join(this.parent, entry.name));
    }
    rmdirQuietly(this.parent);
  }
}

function rmdirQuietly(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // still has a process (it is exiting) or already gone: a later start removes it
  }
}

/** Parents left by primaries that were killed before they could remove them. */
function removeStaleParents(root: string): void {
  for (const entry of readdirSync(root)) {
    const owner = /^concert-booking-(\d+)$/.exec(entry);
    if (!owner || isAlive(Number(owner[1]))) continue;
    const parent = join(root, entry);
    for (const child of readdirSync(parent, { withFileTypes: true })) {
      if (child.isDirectory()) rmdirQuietly(join(parent, child.name));
    }
    rmdirQuietly(parent);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
