import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { startTestServer, type TestServer } from '../harness.js';
import { errorBody, fetchToken, pageUrl } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.stop());

describe('health, metrics, spec and docs', () => {
  test('/healthz answers ok with the store checked, without a token', async () => {
    const res = await fetch(`${s.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', store: 'ok' });
  });

  test('HEAD is answered as GET without the body: health, spec routes with their auth, docs', async () => {
    const head = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${s.url}${path}`, { method: 'HEAD', headers });
    let res = await head('/healthz');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.text()).toBe('');

    const token = await s.token();
    const list = await fetch(`${s.apiUrl}/extension/175/event/`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const listed = await list.text();
    res = await head('/api/ver1.0/extension/175/event/', { authorization: `Bearer ${token}` });
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(listed));
    expect(await res.text()).toBe('');
    // The GET's rules hold: no token, no answer; an unknown extension is as unknown as for GET.
    res = await head('/api/ver1.0/extension/175/event/');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    res = await head('/api/ver1.0/extension/999999/event/', { authorization: `Bearer ${token}` });
    expect(res.status).toBe(404);
    expect((await head('/openapi.yaml')).status).toBe(200);

    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/callhook_http_requests_total\{method="HEAD",route="\/healthz",status="200"\} 1/);
  });

  test('/metrics is Prometheus text with request counts and latencies by route and status', async () => {
    // A known mix: 3 lists (200), 2 missing subscriptions (404), 1 unauthenticated (401).
    for (let i = 0; i < 3; i++) expect((await s.api('/extension/175/event/')).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await s.api('/extension/175/event/99999')).status).toBe(404);
    expect((await s.api('/extension/175/event/', { token: null })).status).toBe(401);
    const res = await fetch(`${s.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const value = (line: string) => {
      const row = text.split('\n').find((l) => l.startsWith(`${line} `));
      return row === undefined ? undefined : Number(row.slice(line.length + 1));
    };
    expect(text).toContain('# TYPE callhook_http_requests_total counter');
    expect(text).toContain('# TYPE callhook_http_request_duration_seconds histogram');
    expect(
      value(
        'callhook_http_requests_total{method="GET",route="/extension/{extension_id}/event/",status="200"}',
      ),
    ).toBeGreaterThanOrEqual(3);
    expect(
      value(
        'callhook_http_requests_total{method="GET",route="/extension/{extension_id}/event/{id}",status="404"}',
      ),
    ).toBe(2);
    expect(
      value(
        'callhook_http_requests_total{method="GET",route="/extension/{extension_id}/event/",status="401"}',
      ),
    ).toBe(1);
    expect(
      value(
        'callhook_http_request_duration_seconds_count{method="GET",route="/extension/{extension_id}/event/{id}",status="404"}',
      ),
    ).toBe(2);
    expect(text).toMatch(
      /callhook_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/extension\/\{extension_id\}\/event\/",status="200"\} \d+/,
    );
    // Labels are the spec's templates, never raw paths with ids in them.
    expect(text).not.toMatch(/route="[^"]*99999/);
  });

  test('metric labels stay bounded whatever paths clients try', async () => {
    for (let i = 0; i < 5; i++) expect((await fetch(`${s.url}/openapi.x${i}`)).status).toBe(404);
    for (let i = 0; i < 5; i++) expect((await fetch(`${s.url}/no/such/path/${i}`)).status).toBe(404);
    const text = await (await fetch(`${s.url}/metrics`)).text();
    expect(text).not.toMatch(/route="\/openapi\.x/);
    expect(text).not.toMatch(/route="\/no\/such/);
    expect(text).toMatch(/callhook_http_requests_total\{method="GET",route="unmatched",status="404"\} (\d+)/);
    const unmatched =
      /callhook_http_requests_total\{method="GET",route="unmatched",status="404"\} (\d+)/.exec(text);
    expect(Number(unmatched?.[1])).toBeGreaterThanOrEqual(10);
    expect(text).toContain('callhook_delivery_queue_depth');
  });

  test('/openapi.yaml and /openapi.json serve the spec', async () => {
    const yamlRes = await fetch(`${s.url}/openapi.yaml`);
    expect(yamlRes.status).toBe(200);
    expect(yamlRes.headers.get('content-type')).toMatch(/yaml/);
    const doc = parse(await yamlRes.text()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/extension/{extension_id}/event/');
    const jsonRes = await fetch(`${s.url}/openapi.json`);
    expect(jsonRes.status).toBe(200);
    expect(jsonRes.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await jsonRes.json()).toEqual(doc);
  });

  test('/docs/ serves Swagger UI pointed at this server’s spec; /docs redirects there', async () => {
    const redirect = await fetch(`${s.url}/docs`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/docs/');
    const res = await fetch(`${s.url}/docs/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('swagger-ui');
    const init = await fetch(`${s.url}/docs/swagger-initializer.js`);
    expect(init.status).toBe(200);
    const js = await init.text();
    expect(js).toContain("url: '../openapi.json'");
    expect(js).not.toContain('petstore');
    const bundle = await fetch(`${s.url}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    await bundle.arrayBuffer();
    // Following the redirect lands on the page too.
    const followed = await fetch(`${s.url}/docs`);
    expect(followed.status).toBe(200);
    expect(await followed.text()).toContain('swagger-ui');
  });
});

describe('request ids', () => {
  test('a client X-Request-Id is echoed and appears in error bodies; a missing one is made', async () => {
    let res = await s.api('/extension/175/event/99999', { headers: { 'x-request-id': 'trace-abc.123' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('x-request-id')).toBe('trace-abc.123');
    expect((await errorBody(res)).request_id).toBe('trace-abc.123');

    res = await s.api('/extension/175/event/');
    const made = res.headers.get('x-request-id');
    expect(made).toMatch(/^[0-9a-f-]{36}$/);

    res = await s.api('/extension/175/event/', {
      token: null,
      headers: { 'x-request-id': 'bad id with spaces' },
    });
    expect(res.status).toBe(401);
    const id = res.headers.get('x-request-id');
    expect(id).not.toBe('bad id with spaces');
    expect((await errorBody(res)).request_id).toBe(id);
  });
});

describe('token lifetime', () => {
  test('a token stops working when it expires, with 401 "expired" and WWW-Authenticate', async () => {
    const short = await startTestServer({ config: { tokenTtlSeconds: 5 } });
    try {
      const res = await fetch(`${short.url}/oauth/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: 'demo',
          client_secret: 'demo-secret-for-tests-only',
        }),
      });
      const token = (await res.json()) as { access_token: string; expires_in: number };
      expect(token.expires_in).toBe(5);
      const issued = Date.now();
      expect((await short.api('/extension/175/event/', { token: token.access_token })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 5200 - (Date.now() - issued)));
      const expired = await short.api('/extension/175/event/', { token: token.access_token });
      expect(expired.status).toBe(401);
      expect(expired.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
      expect((await errorBody(expired)).message).toBe('The access token expired');
      // A new token works at once.
      const fresh = await fetchToken(short.url, 'demo', 'demo-secret-for-tests-only');
      expect((await short.api('/extension/175/event/', { token: fresh })).status).toBe(200);
    } finally {
      await short.stop();
    }
  }, 20_000);
});

describe('graceful close', () => {
  test('close() lets an in-flight request finish, then refuses new connections', async () => {
    const g = await startTestServer();
    const token = await g.token();
    const url = new URL(`${g.apiUrl}/extension/175/event/`);
    const body = JSON.stringify({ url: pageUrl, method: 'GET', event_type: 'hangup' });
    // Send the headers and half the body, so the request is under way when close() starts.
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 300);
    });
    await new Promise((r) => setTimeout(r, 100));
    let closed = false;
    const closing = g.close().then(() => {
      closed = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(closed).toBe(false);
    const res = await answer;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ event_type: 'hangup', url: pageUrl });
    await closing;
    expect(closed).toBe(true);
    await expect(fetch(`${g.url}/healthz`)).rejects.toThrow();
    await g.stop();
  });
});
