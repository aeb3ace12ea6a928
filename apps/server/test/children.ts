import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built server's command line, run as a separate process (what an operator runs). */
const cli = join(dirname(fileURLToPath(import.meta.url)), '../dist/cli.js');

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Every server process a test file started; `killAll` in its afterAll leaves none behind. */
const children: ChildProcess[] = [];

export function killAll(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
}

/** Starts `callhook-server start` with `env` and resolves once `url`/healthz answers. */
export async function startServerProcess(env: NodeJS.ProcessEnv, url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [cli, 'start'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  const until = Date.now() + 20_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return child;
    } catch {}
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    if (Date.now() > until) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}
