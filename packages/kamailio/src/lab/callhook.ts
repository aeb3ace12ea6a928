import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_BASE_PATH } from '@callhook/contract/servers';
import { sleep } from './tools.js';

/** The callhook server as an operator runs it (the built CLI of apps/server), in demo mode. */
const cli = fileURLToPath(new URL('../../../../apps/server/dist/cli.js', import.meta.url));

export interface Callhook {
  url: string;
  apiUrl: string;
  /** The page's subscription: `event_type` of `extension` sent to `target` with `method`. */
  subscribe(
    extension: number,
    eventType: string,
    target: string,
    method?: 'GET' | 'POST',
  ): Promise<{ id: number; secret: string }>;
  /** A counter of the Kamailio source from /metrics (`messages`, `events`, `repeats`, …). */
  counted(what: string): Promise<number>;
  stop(): Promise<void>;
}

function freeTcpPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function startCallhook(opts: {
  natsUrl: string;
  stream: string;
  subject: string;
  databaseUrl?: string;
  logLevel?: string;
  env?: Record<string, string>;
}): Promise<Callhook> {
  const dir = mkdtempSync(join(tmpdir(), 'callhook-lab-'));
  const port = await freeTcpPort();
  const url = `http://127.0.0.1:${port}`;
  const secret = randomBytes(16).toString('hex');
  const child: ChildProcess = spawn(process.execPath, [cli, 'start'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      CALLHOOK_DATA_DIR: dir,
      DATABASE_URL: opts.databaseUrl ?? '',
      CALLHOOK_DEMO: 'true',
      CALLHOOK_SIMULATOR: 'false',
      CALLHOOK_DEMO_CLIENT_ID: 'demo',
      CALLHOOK_DEMO_CLIENT_SECRET: secret,
      LOG_LEVEL: opts.logLevel ?? 'warn',
      CALLHOOK_KAMAILIO_NATS_URL: opts.natsUrl,
      CALLHOOK_KAMAILIO_STREAM: opts.stream,
      CALLHOOK_KAMAILIO_SUBJECT: opts.subject,
      ...opts.env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const until = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {}
    if (child.exitCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`callhook exited with ${child.exitCode} (is apps/server built? npm run build)`);
    }
    if (Date.now() > until) throw new Error('callhook did not start');
    await sleep(100);
  }
  const tokenRes = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'demo', client_secret: secret }),
  });
  const { access_token } = (await tokenRes.json()) as { access_token: string };
  const apiUrl = `${url}${API_BASE_PATH}`;
  return {
    url,
    apiUrl,
    async subscribe(extension, eventType, target, method = 'POST') {
      const res = await fetch(`${apiUrl}/extension/${extension}/event/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: target, method, event_type: eventType }),
      });
      if (res.status !== 200) throw new Error(`subscribe: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: number; secret: string };
    },
    async counted(what) {
      const text = await (await fetch(`${url}/metrics`)).text();
      const m = new RegExp(`callhook_kamailio_total\\{what="${what}"\\} (\\d+)`).exec(text);
      return Number(m?.[1] ?? 0);
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
