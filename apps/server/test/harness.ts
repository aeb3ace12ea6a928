import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IntakeEvent, SubscriptionCreated } from '@callhook/contract';
import { type RunningServer, type StartOptions, startServer } from '../src/index.js';
import { freshDatabase, pgAdminUrl } from './pg.js';

export interface TestServer extends RunningServer {
  /** Gets a token for the demo application. */
  token(): Promise<string>;
  /** fetch against the API base with a bearer token. */
  api(path: string, init?: RequestInit & { token?: string | null; json?: unknown }): Promise<Response>;
  /** Feeds events to the PBX intake (the batch endpoint), as a PBX would. */
  ingest(events: IntakeEvent[]): Promise<{ accepted: number; deliveries: number }>;
  /** Subscribes `url` for extension 175 (or `extension`) and returns the created subscription. */
  subscribe(
    url: string,
    eventType: string,
    method?: 'GET' | 'POST',
    extension?: number,
  ): Promise<SubscriptionCreated>;
  stop(): Promise<void>;
}

/**
 * A real server on a random loopback port with its own SQLite file (or the PostgreSQL database
 * named by CALLHOOK_TEST_DATABASE_URL), responses validated against the spec.
 */
export async function startTestServer(opts: StartOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'callhook-test-'));
  // CALLHOOK_TEST_DATABASE_URL (an admin URL) runs each server on its own fresh PostgreSQL database.
  const database = pgAdminUrl && opts.databaseUrl === undefined ? await freshDatabase() : undefined;
  let server: RunningServer;
  try {
    server = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir: dir,
      ...(database ? { databaseUrl: database.url } : {}),
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
  } catch (err) {
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
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
  const api: TestServer['api'] = async (path, init = {}) => {
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
  };
  return {
    ...server,
    token,
    api,
    async ingest(events) {
      const res = await fetch(`${server.apiUrl}/pbx/event/batch/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-pbx-key': server.pbxKey },
        body: JSON.stringify({ events }),
      });
      if (res.status !== 202) throw new Error(`intake: ${res.status} ${await res.text()}`);
      return (await res.json()) as { accepted: number; deliveries: number };
    },
    async subscribe(url, eventType, method = 'POST', extension = 175) {
      const res = await api(`/extension/${extension}/event/`, {
        method: 'POST',
        json: { url, method, event_type: eventType },
      });
      if (res.status !== 200) throw new Error(`subscribe: ${res.status} ${await res.text()}`);
      return (await res.json()) as SubscriptionCreated;
    },
    async stop() {
      await server.close();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
