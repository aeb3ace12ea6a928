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

/**
 * The environment of a demo server process on loopback `port`, its SQLite file in `dir` (or the
 * PostgreSQL `databaseUrl`): the demo client `demo` with `secret`, no simulator, the given PBX key,
 * errors only in the log; `extra` on top.
 */
export function demoServerEnv(o: {
  port: number;
  dir: string;
  secret: string;
  pbxKey?: string;
  databaseUrl?: string;
  extra?: NodeJS.ProcessEnv;
}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PORT: String(o.port),
    HOST: '127.0.0.1',
    CALLHOOK_DATA_DIR: o.dir,
    CALLHOOK_DEMO: 'true',
    CALLHOOK_SIMULATOR: 'false',
    CALLHOOK_DEMO_CLIENT_ID: 'demo',
    CALLHOOK_DEMO_CLIENT_SECRET: o.secret,
    ...(o.pbxKey ? { CALLHOOK_PBX_KEY: o.pbxKey } : {}),
    LOG_LEVEL: 'error',
    DATABASE_URL: o.databaseUrl ?? '',
    ...o.extra,
  };
}

/** A bearer token for the demo client (`demo`, `secret`) of the server at `url`. */
export async function demoToken(url: string, secret: string): Promise<string> {
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'demo', client_secret: secret }),
  });
  if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}
