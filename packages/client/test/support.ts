import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IntakeEvent, WebhookPayload } from '@callhook/contract';
import { type RunningServer, startServer } from '@callhook/server';
import { type CallhookClientOptions, createCallhookClient, type FetchLike } from '../src/index.js';

export const DEMO_CLIENT_ID = 'demo-client';
export const DEMO_CLIENT_SECRET = 'demo-secret-for-client-tests';

export interface TestServer extends RunningServer {
  dataDir: string;
  stop(): Promise<void>;
}

type StartOptions = NonNullable<Parameters<typeof startServer>[0]>;

/** The real server on a loopback port, demo mode (extensions 175, 200, ...), its own SQLite file. */
export async function startTestServer(opts: StartOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'callhook-client-'));
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    demo: true,
    logLevel: 'silent',
    ...opts,
    dataDir,
    config: { demoClientId: DEMO_CLIENT_ID, demoClientSecret: DEMO_CLIENT_SECRET, ...opts.config },
    env: {},
  });
  return {
    ...server,
    dataDir,
    async stop() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fetch that counts what goes through it, by kind, before handing it to the real one. */
export function countingFetch(inner: FetchLike = (r) => fetch(r)) {
  const counts = { token: 0, api: 0, unauthorized: 0 };
  const wrapped: FetchLike = async (request) => {
    if (new URL(request.url).pathname === '/oauth/token') counts.token++;
    else counts.api++;
    const response = await inner(request);
    if (response.status === 401) counts.unauthorized++;
    return response;
  };
  return { fetch: wrapped, counts };
}

export function demoClient(server: { url: string }, extra: Partial<CallhookClientOptions> = {}) {
  return createCallhookClient({
    baseUrl: server.url,
    clientId: DEMO_CLIENT_ID,
    clientSecret: DEMO_CLIENT_SECRET,
    ...extra,
  } as CallhookClientOptions);
}

/** A webhook target: records what arrives and answers with `status()`. */
export async function startTarget(status: () => number = () => 204, body: () => string = () => '') {
  const received: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(status()).end(body());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook?myid=175`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A hangup of extension 175 as a PBX reports it to the intake. */
export function hangupEvent(callId: string): IntakeEvent {
  const data: WebhookPayload<'hangup'> = {
    EventType: 'hangup',
    CallID: callId,
    EventTime: Date.now() * 1000,
    CallStatus: 'ANSWER',
    CallFlow: 'out',
    CallerIDNum: '000*099',
    CalledNumber: '00010005',
    Duration: 4_239_900,
  };
  return { event_type: 'hangup', extension_id: 175, data };
}

/** Polls `check` until it returns something other than undefined. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
