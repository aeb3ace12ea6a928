import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CallhookApiError,
  type CallhookClient,
  CallhookNetworkError,
  CallhookTimeoutError,
  type FetchLike,
} from '../src/index.js';
import { demoClient, startTestServer, type TestServer } from './support.js';

describe('errors and retries', () => {
  let server: TestServer;
  let client: CallhookClient;
  beforeAll(async () => {
    server = await startTestServer({ config: { simulator: false } });
    client = demoClient(server);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('turns a 404 into a CallhookApiError with the spec error body and the request id', async () => {
    const error = await client.subscriptions.get(175, 987654).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallhookApiError);
    const api = error as CallhookApiError;
    expect(api.status).toBe(404);
    expect(api.body.message).toBe('Record not found');
    expect(api.requestId).toMatch(/\S/);
    expect(api.message).toBe('GET /api/ver1.0/extension/175/event/987654 answered 404: Record not found');
  });

  it('carries the field errors of a 400', async () => {
    const error = await client.subscriptions
      // @ts-expect-error: a method the spec does not have, to see the server refuse it
      .create(175, { url: 'https://example.com/hook', event_type: 'hangup', method: 'PATCH' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallhookApiError);
    const api = error as CallhookApiError;
    expect(api.status).toBe(400);
    expect(api.body.errors?.map((e) => e.field)).toContain('method');
  });

  it('names the URL it could not reach', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const offline = demoClient({ url: `http://127.0.0.1:${port}` }, { retry: { retries: 1, minDelayMs: 1 } });
    const error = await offline.subscriptions.list(175).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallhookNetworkError);
    expect((error as Error).message).toBe(
      `Cannot reach the callhook server at http://127.0.0.1:${port}: ECONNREFUSED`,
    );
  });

  describe('a server that never answers', () => {
    let silent: Server;
    let url: string;
    let requests = 0;
    beforeAll(async () => {
      silent = createServer(() => {
        requests++; // and never answer
      });
      await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    });

    it('times out with a CallhookTimeoutError, retrying idempotent calls first', async () => {
      const slow = demoClient({ url }, { timeoutMs: 150, retry: { retries: 2, minDelayMs: 1 } });
      const started = Date.now();
      const error = await slow.health().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CallhookTimeoutError);
      expect(error).toMatchObject({
        timeoutMs: 150,
        message: `The callhook server at ${url} did not answer within 150 ms`,
      });
      expect(requests).toBe(3);
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    });
  });

  /** A fetch in front of the real one that fails the first `n` requests to API paths the way `fail` says. */
  function flaky(n: number, fail: () => Promise<Response>) {
    const seen: string[] = [];
    let left = n;
    const wrapped: FetchLike = async (request) => {
      seen.push(`${request.method} ${new URL(request.url).pathname}`);
      if (!request.url.includes('/oauth/') && left > 0) {
        left--;
        return fail();
      }
      return fetch(request);
    };
    return { fetch: wrapped, seen };
  }
  const unavailable = async () => new Response('{"message":"try again"}', { status: 503 });
  const reset = async (): Promise<Response> => {
    throw new TypeError('fetch failed', {
      cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
    });
  };

  it('retries GET, PUT and DELETE on 5xx and network errors, then succeeds', async () => {
    const sub = await client.subscriptions.create(175, {
      url: 'https://example.com/h',
      event_type: 'answer',
      method: 'GET',
    });
    const { fetch, seen } = flaky(2, unavailable);
    const retrying = demoClient(server, { fetch, retry: { retries: 2, minDelayMs: 5 } });
    expect((await retrying.subscriptions.get(175, sub.id)).id).toBe(sub.id);
    expect(seen.filter((s) => s.startsWith('GET'))).toHaveLength(3);

    const network = flaky(1, reset);
    const again = demoClient(server, { fetch: network.fetch, retry: { retries: 1, minDelayMs: 5 } });
    expect(await again.subscriptions.update(175, sub.id, { method: 'POST' })).toMatchObject({
      method: 'POST',
    });
    await again.subscriptions.delete(175, sub.id);
    expect(network.seen.filter((s) => !s.includes('oauth'))).toEqual([
      `PUT /api/ver1.0/extension/175/event/${sub.id}`,
      `PUT /api/ver1.0/extension/175/event/${sub.id}`,
      `DELETE /api/ver1.0/extension/175/event/${sub.id}`,
    ]);
  });

  it('gives the last 5xx as an error once the retries are spent', async () => {
    const { fetch, seen } = flaky(10, unavailable);
    const retrying = demoClient(server, { fetch, retry: { retries: 2, minDelayMs: 1 } });
    const error = await retrying.subscriptions.list(175).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, body: { message: 'try again' } });
    expect(seen.filter((s) => s.startsWith('GET'))).toHaveLength(3);
  });

  it('never repeats a POST on its own', async () => {
    const { fetch, seen } = flaky(1, unavailable);
    const retrying = demoClient(server, { fetch, retry: { retries: 3, minDelayMs: 1 } });
    const error = await retrying.subscriptions
      .create(175, { url: 'https://example.com/h', event_type: 'answer', method: 'GET' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503 });
    expect(seen.filter((s) => s.startsWith('POST /api'))).toHaveLength(1);
    const network = flaky(1, reset);
    const error2 = await demoClient(server, { fetch: network.fetch })
      .callback(200, { dst_num: '+79817654321', src_num: ['200'] })
      .catch((e: unknown) => e);
    expect(error2).toBeInstanceOf(CallhookNetworkError);
    expect((error2 as Error).message).toContain('ECONNRESET');
  });
});
