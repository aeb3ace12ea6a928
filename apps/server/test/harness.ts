import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningServer, type StartOptions, startServer } from '../src/index.js';

export interface TestServer extends RunningServer {
  /** Gets a token for the demo application. */
  token(): Promise<string>;
  /** fetch against the API base with a bearer token. */
  api(path: string, init?: RequestInit & { token?: string | null; json?: unknown }): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * A real server on a random loopback port with its own SQLite file (or the PostgreSQL database
 * named by CALLHOOK_TEST_DATABASE_URL), responses validated against the spec.
 */
export async function startTestServer(opts: StartOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'callhook-test-'));
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir: dir,
    demo: true,
    logLevel: 'silent',
    ...opts,
    config: {
      validateResponses: true,
      demoClientId: 'demo',
      demoClientSecret: 'demo-secret-for-tests-only',
      simulator: false,
      ...opts.config,
    },
    env: opts.env ?? {},
  });
  let cached: string | undefined;
  const token = async () => {
    if (cached) return cached;
    const res = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: server.demo!.clientId,
        client_secret: server.demo!.clientSecret,
      }),
    });
    if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
    cached = ((await res.json()) as { access_token: string }).access_token;
    return cached;
  };
  return {
    ...server,
    token,
    async api(path, init = {}) {
      const { token: given, json, ...rest } = init;
      const headers = new Headers(rest.headers);
      const t = given === undefined ? await token() : given;
      if (t !== null) headers.set('authorization', `Bearer ${t}`);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return fetch(`${server.apiUrl}${path}`, {
        ...rest,
        headers,
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      });
    },
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
