import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** apps/server: where the built scripts (`dist/`) run from. */
export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return t;
}

/**
 * CI builds before testing; a checkout whose sources are newer than its build is built here. Test
 * files run two at a time: a lock directory makes one build while the other waits for it.
 */
export async function ensureBuilt(script: string): Promise<void> {
  const lock = join(root, 'dist', '.test-build-lock');
  mkdirSync(join(root, 'dist'), { recursive: true });
  for (;;) {
    if (existsSync(script) && statSync(script).mtimeMs >= newest(join(root, 'src'))) return;
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another file is building (a lock left by a killed run is stale after two minutes).
      const held = statSync(lock, { throwIfNoEntry: false });
      if (held && Date.now() - held.mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const built = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
      cwd: root,
      encoding: 'utf8',
    });
    if (built.status !== 0) throw new Error(`the build failed:\n${built.stdout}${built.stderr}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Default: apps/server. */
  cwd?: string;
  /** The environment `env` is added to (default: this process's). */
  baseEnv?: NodeJS.ProcessEnv;
  /** Killed after this long (default 30 s). */
  timeoutMs?: number;
}

/** Runs a built script as a process of its own, as a person at a terminal would. */
export function runScript(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  { cwd = root, baseEnv = process.env, timeoutMs = 30_000 }: RunOptions = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd,
      env: { ...baseEnv, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill(), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
