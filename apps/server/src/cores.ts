import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, posix } from 'node:path';

/**
 * How many cores this process can keep busy: those it may run on (`availableParallelism`, the
 * affinity mask) and, in a container, no more than its CPU quota, rounded down, at least 1.
 *
 * Node 20's libuv (1.46) does not read the quota: in a container given one CPU on a host of many
 * (`docker run --cpus=1`, a Kubernetes limit of `1`), `availableParallelism()` says the host's
 * count. Node 22's (libuv 1.49 and later) reads it, as Rust's `available_parallelism` does; this
 * reads it the same way on either, so that a server that can use one core does not start a
 * second thread to compete with its first for it.
 */
export function usableCores(root = '/', cores = availableParallelism()): number {
  const quota = cpuQuota(root);
  return quota === undefined ? cores : Math.min(cores, Math.max(1, Math.floor(quota)));
}

/**
 * The CPU quota of this process's cgroup in cores (1.5: a CPU and a half each period), the
 * smallest along its path up to the hierarchy's root; undefined when there is none (no cgroup
 * with the `cpu` controller, or `max` / `-1` all the way up). `root` is where `/proc` and `/sys`
 * are read from (the tests give a directory of such files).
 *
 * Read as Rust's standard library does: the cgroup's path from `/proc/self/cgroup` (v2: the `0::`
 * line; v1: the hierarchy whose controllers include `cpu`), where that hierarchy is mounted from
 * `/proc/self/mountinfo` (its mount point, and the cgroup it shows there: inside a container
 * without a cgroup namespace, the container's own), and in each directory from there up to the
 * mount point: v2 `cpu.max` (`<quota> <period>` or `max <period>`), v1 `cpu.cfs_quota_us` (-1:
 * none) over `cpu.cfs_period_us`.
 */
export function cpuQuota(root = '/'): number | undefined {
  const read = (path: string): string | undefined => {
    try {
      return readFileSync(join(root, path), 'utf8');
    } catch {
      return undefined;
    }
  };
  const cgroups = read('proc/self/cgroup');
  const mounts = read('proc/self/mountinfo');
  if (cgroups === undefined || mounts === undefined) return undefined;

  /** Each hierarchy's path for this process: '' for v2, else its controllers. */
  const paths = cgroups
    .split('\n')
    .map((line) => /^(\d+):([^:]*):(.*)$/.exec(line))
    .filter((m) => m !== null)
    .map((m) => ({ controllers: m[2]!.split(','), path: m[3]! }));

  let limit: number | undefined;
  for (const line of mounts.split('\n')) {
    // `id parent major:minor root mount-point options [optional fields] - fstype source super-options`
    const [before, after] = line.split(' - ');
    if (after === undefined) continue;
    const fields = before!.split(' ');
    const [fstype, , superOptions = ''] = after.split(' ');
    const mountRoot = fields[3];
    const mountPoint = fields[4];
    if (mountRoot === undefined || mountPoint === undefined) continue;
    const v2 = fstype === 'cgroup2';
    if (!v2 && !(fstype === 'cgroup' && superOptions.split(',').includes('cpu'))) continue;
    const own = paths.find((p) =>
      v2 ? p.controllers.length === 1 && p.controllers[0] === '' : p.controllers.includes('cpu'),
    );
    if (own === undefined) continue;
    // The cgroup's directory under the mount point. A path outside what the mount shows (a
    // container's view of a host's path) leaves only the mount point itself: the container's.
    const relative = posix.relative(mountRoot, own.path);
    let dir = relative.startsWith('..') ? '' : relative;
    for (;;) {
      const quota = v2
        ? quotaV2(read(join(mountPoint, dir, 'cpu.max')))
        : quotaV1(read, join(mountPoint, dir));
      if (quota !== undefined) limit = limit === undefined ? quota : Math.min(limit, quota);
      if (dir === '' || dir === '.') break;
      dir = posix.dirname(dir);
      if (dir === '.' || dir === '/') dir = '';
    }
  }
  return limit;
}

/** `cpu.max`: `<quota> <period>` in µs, or `max <period>` for none. */
function quotaV2(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const [quota, period] = text.trim().split(/\s+/);
  return ratio(quota, period);
}

function quotaV1(read: (path: string) => string | undefined, dir: string): number | undefined {
  const quota = read(join(dir, 'cpu.cfs_quota_us'));
  const period = read(join(dir, 'cpu.cfs_period_us'));
  return quota === undefined || period === undefined ? undefined : ratio(quota.trim(), period.trim());
}

function ratio(quota: string | undefined, period: string | undefined): number | undefined {
  const q = Number(quota);
  const p = Number(period);
  // `max`, -1 (none) and anything unreadable set no limit.
  return Number.isFinite(q) && q > 0 && Number.isFinite(p) && p > 0 ? q / p : undefined;
}
