import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test } from 'vitest';
import { cpuQuota, usableCores } from '../../src/cores.js';

// CALLHOOK_SEND_THREADS=auto starts a sending thread where the process has a second core. Node
// 20's availableParallelism() does not read a container's CPU quota: a container given one CPU
// on a host of many would start a thread to compete with its main one for that CPU.

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** A directory standing for `/`: the given files under it, by path. */
function fakeRoot(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'callhook-cores-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const v2Mount = '30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n';

test('cgroup v2 in a container (its own namespace): cpu.max at the mount point', () => {
  const files = { 'proc/self/cgroup': '0::/\n', 'proc/self/mountinfo': v2Mount };
  expect(cpuQuota(fakeRoot({ ...files, 'sys/fs/cgroup/cpu.max': '100000 100000\n' }))).toBe(1);
  expect(cpuQuota(fakeRoot({ ...files, 'sys/fs/cgroup/cpu.max': '150000 100000\n' }))).toBe(1.5);
  expect(cpuQuota(fakeRoot({ ...files, 'sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBeUndefined();
  expect(cpuQuota(fakeRoot(files))).toBeUndefined();

  // Rounded down, never below one; never more than the cores the process may run on.
  const one = fakeRoot({ ...files, 'sys/fs/cgroup/cpu.max': '150000 100000\n' });
  expect(usableCores(one, 8)).toBe(1);
  expect(usableCores(fakeRoot({ ...files, 'sys/fs/cgroup/cpu.max': '50000 100000\n' }), 8)).toBe(1);
  expect(usableCores(fakeRoot({ ...files, 'sys/fs/cgroup/cpu.max': '400000 100000\n' }), 2)).toBe(2);
  expect(usableCores(fakeRoot({ ...files, 'sys/fs/cgroup/cpu.max': '250000 100000\n' }), 8)).toBe(2);
  expect(usableCores(fakeRoot(files), 8)).toBe(8);
});

test('cgroup v2 on a host: the smallest quota from the process cgroup up to the root', () => {
  const files = {
    'proc/self/cgroup': '0::/system.slice/callhook.service\n',
    'proc/self/mountinfo': v2Mount,
    'sys/fs/cgroup/system.slice/callhook.service/cpu.max': 'max 100000\n',
    'sys/fs/cgroup/system.slice/cpu.max': '100000 100000\n',
  };
  expect(cpuQuota(fakeRoot(files))).toBe(1);
  expect(
    cpuQuota(fakeRoot({ ...files, 'sys/fs/cgroup/system.slice/callhook.service/cpu.max': '50000 100000\n' })),
  ).toBe(0.5);
});

test('cgroup v1: the hierarchy with the cpu controller, where the container sees its own cgroup', () => {
  // Docker without a cgroup namespace: /proc/self/cgroup names the host's path, and the
  // container's mount shows that cgroup at its mount point.
  const files = {
    'proc/self/cgroup': '12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/docker/abc\n',
    'proc/self/mountinfo': [
      '25 20 0:22 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755',
      '31 25 0:28 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory',
      '32 25 0:29 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct',
      '',
    ].join('\n'),
    'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '200000\n',
    'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
    'sys/fs/cgroup/memory/cpu.cfs_quota_us': '50000\n',
    'sys/fs/cgroup/memory/cpu.cfs_period_us': '100000\n',
  };
  expect(cpuQuota(fakeRoot(files))).toBe(2);
  expect(
    cpuQuota(fakeRoot({ ...files, 'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '-1\n' })),
  ).toBeUndefined();
});

test('nothing to read (not Linux, no cgroups, unreadable files): the cores as Node counts them', () => {
  expect(cpuQuota(fakeRoot({}))).toBeUndefined();
  expect(usableCores(fakeRoot({}), 4)).toBe(4);
  expect(
    cpuQuota(fakeRoot({ 'proc/self/cgroup': 'garbage\n', 'proc/self/mountinfo': 'x - y\n' })),
  ).toBeUndefined();
  expect(usableCores()).toBeLessThanOrEqual(availableParallelism());
});

// The real thing, where this machine lets a test make a cgroup (root, a writable cgroup v1 `cpu`
// hierarchy or cgroup v2 with the cpu controller): the built server started inside a cgroup given
// one CPU sends on its main thread, and says so; outside it, with two cores, it starts a thread.
const server = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli.js');

/**
 * Where this machine lets a test make a cgroup limited to one CPU: cgroup v1's `cpu` hierarchy,
 * or v2 with the cpu controller, writable (as root). Undefined elsewhere.
 */
function cgroupKind(): 'v1' | 'v2' | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  if (existsSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')) return 'v1';
  try {
    if (readFileSync('/sys/fs/cgroup/cgroup.subtree_control', 'utf8').split(/\s+/).includes('cpu'))
      return 'v2';
  } catch {}
  return undefined;
}

/** A new cgroup of one CPU: its directory, and the file a process joins it by. */
function oneCpuCgroup(kind: 'v1' | 'v2'): { dir: string; join: string } {
  const name = `callhook-test-${process.pid}`;
  if (kind === 'v1') {
    const dir = `/sys/fs/cgroup/cpu/${name}`;
    mkdirSync(dir);
    writeFileSync(`${dir}/cpu.cfs_period_us`, '100000');
    writeFileSync(`${dir}/cpu.cfs_quota_us`, '100000');
    return { dir, join: `${dir}/tasks` };
  }
  const dir = `/sys/fs/cgroup/${name}`;
  mkdirSync(dir);
  writeFileSync(`${dir}/cpu.max`, '100000 100000');
  return { dir, join: `${dir}/cgroup.procs` };
}

/** The built server's start banner's `sending:` line, the server started by `sh -c '<prefix> exec node cli.js'`. */
async function sendingLine(prefix: string): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'callhook-cores-data-'));
  roots.push(dataDir);
  const env: NodeJS.ProcessEnv = { ...process.env, CALLHOOK_DATA_DIR: dataDir };
  delete env.CALLHOOK_SEND_THREADS;
  const child = spawn(
    'sh',
    ['-c', `${prefix} exec "${process.execPath}" "${server}" start --demo --port 0`],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const exited = new Promise((r) => child.once('exit', r));
  try {
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner in 30 s:\n${out}`)), 30_000);
      const take = (chunk: Buffer) => {
        out += chunk.toString();
        const line = /^\s*sending:.*$/m.exec(out);
        if (line) {
          clearTimeout(timer);
          resolve(line[0].trim());
        }
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      child.once('exit', (code) => reject(new Error(`the server exited (${code}):\n${out}`)));
    });
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

const kind = availableParallelism() > 1 && usableCores() > 1 ? cgroupKind() : undefined;

test.skipIf(kind === undefined)(
  'the built server in a cgroup of one CPU sends on its main thread; outside it, on a thread',
  async () => {
    const cgroup = oneCpuCgroup(kind!);
    try {
      expect(await sendingLine(`echo $$ > ${cgroup.join} &&`)).toBe(
        'sending:      on the main thread (CALLHOOK_SEND_THREADS=auto)',
      );
      expect(await sendingLine('')).toBe('sending:      1 thread (CALLHOOK_SEND_THREADS=auto)');
    } finally {
      // Empty once the server in it has exited.
      rmdirSync(cgroup.dir);
    }
  },
  90_000,
);
