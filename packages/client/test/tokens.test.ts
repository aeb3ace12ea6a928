import { afterEach, describe, expect, it } from 'vitest';
import { CallhookApiError, CallhookAuthError, createCallhookClient } from '../src/index.js';
import {
  countingFetch,
  DEMO_CLIENT_ID,
  DEMO_CLIENT_SECRET,
  demoClient,
  startTestServer,
  type TestServer,
} from './support.js';

const servers: TestServer[] = [];
async function server(opts: Parameters<typeof startTestServer>[0] = {}) {
  const s = await startTestServer({ ...opts, config: { simulator: false, ...opts.config } });
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('tokens', () => {
  it('fetches one token on first use, however many calls wait for it, and reuses it', async () => {
    const s = await server();
    const { fetch, counts } = countingFetch();
    const client = demoClient(s, { fetch });
    expect(counts.token).toBe(0);
    const lists = await Promise.all(Array.from({ length: 20 }, () => client.subscriptions.list(175)));
    expect(lists).toHaveLength(20);
    expect(counts).toEqual({ token: 1, api: 20, unauthorized: 0 });
    await client.limits();
    expect(counts.token).toBe(1);
  });

  it('renews the token shortly before it expires, without waiting for a 401', async () => {
    const s = await server({ config: { tokenTtlSeconds: 5 } });
    const { fetch, counts } = countingFetch();
    const client = demoClient(s, { fetch });
    await client.subscriptions.list(175);
    const first = await client.token();
    await new Promise((r) => setTimeout(r, 3_000));
    await client.subscriptions.list(175);
    expect(counts.token).toBe(1);
    // A tenth of the lifetime (0.5 s) before the end, the next call gets a new one.
    await new Promise((r) => setTimeout(r, 1_700));
    await Promise.all([client.subscriptions.list(175), client.limits()]);
    expect(counts.token).toBe(2);
    expect(counts.unauthorized).toBe(0);
    expect(await client.token()).not.toBe(first);
  });

  it('on 401 gets a new token once for all the calls refused, and retries each call', async () => {
    // A server whose data is reset no longer knows the tokens it gave out: every call gets a 401.
    const first = await server();
    const port = Number(new URL(first.url).port);
    const { fetch, counts } = countingFetch();
    const client = demoClient(first, { fetch });
    await client.subscriptions.list(175);
    const stale = await client.token();
    await first.stop();
    servers.splice(servers.indexOf(first), 1);
    const second = await server({ port });
    const sub = await demoClient(second).subscriptions.create(175, {
      url: 'https://example.com/hook',
      event_type: 'hangup',
      method: 'POST',
    });

    const results = await Promise.all(
      Array.from({ length: 10 }, () => client.subscriptions.get(175, sub.id)),
    );
    expect(results.every((r) => r.id === sub.id)).toBe(true);
    expect(counts.unauthorized).toBe(10);
    expect(counts.token).toBe(2);
    expect(await client.token()).not.toBe(stale);
  });

  it('gives up after one renewal: a token the server keeps refusing is a 401 error', async () => {
    const s = await server();
    const client = createCallhookClient({ baseUrl: s.url, token: 'not-a-token-this-server-gave' });
    const error = await client.subscriptions.list(175).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallhookApiError);
    expect(error).toMatchObject({ status: 401, method: 'GET', url: '/api/ver1.0/extension/175/event/' });
    expect((error as CallhookApiError).body.message).toMatch(/token/i);
  });

  it('says plainly that the client secret is wrong', async () => {
    const s = await server();
    const client = createCallhookClient({ baseUrl: s.url, clientId: DEMO_CLIENT_ID, clientSecret: 'wrong' });
    const error = await client.limits().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallhookAuthError);
    const auth = error as CallhookAuthError;
    expect(auth.status).toBe(401);
    expect(auth.code).toBe('invalid_client');
    expect(auth.message).toContain('wrong client secret');
    expect(auth.message).toContain(s.url);
    expect(auth.requestId).toBeTruthy();
  });

  it('sends the token request form-encoded, as the spec says', async () => {
    const s = await server();
    const seen: string[] = [];
    const client = demoClient(s, {
      fetch: async (request) => {
        if (request.url.endsWith('/oauth/token')) {
          seen.push(`${request.headers.get('content-type')} ${await request.clone().text()}`);
        }
        return fetch(request);
      },
    });
    await client.token();
    expect(seen).toEqual([
      `application/x-www-form-urlencoded grant_type=client_credentials&client_id=${DEMO_CLIENT_ID}&client_secret=${DEMO_CLIENT_SECRET}`,
    ]);
  });
});
