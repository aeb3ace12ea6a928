import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../harness.js';
import { rawRequest } from '../raw.js';
import { createTenant } from './helpers.js';

// Failed client authentication is throttled per (client_id, address) and per address, so nobody
// can lock another party out; credentials come in the form body or in HTTP Basic, never both.

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s?.stop());

const SECRET = 'demo-secret-for-tests-only';
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

function tokenRequest(
  server: TestServer,
  from: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
) {
  return rawRequest(server.url, {
    method: 'POST',
    path: '/oauth/token',
    from,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: form(fields),
  });
}

const creds = (id: string, secret: string) => ({
  grant_type: 'client_credentials',
  client_id: id,
  client_secret: secret,
});

describe('throttling of failed secrets', () => {
  test('failures from one address never refuse the right secret from an address that has not failed', async () => {
    const t = await createTenant(s.store, 'Target');
    for (let i = 0; i < 5; i++) {
      expect((await tokenRequest(s, '127.0.0.2', creds(t.appId, `guess${i}`))).status).toBe(401);
    }
    const slowed = await tokenRequest(s, '127.0.0.2', creds(t.appId, 'guess5'));
    expect(slowed.status).toBe(429);
    expect(Number(slowed.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(slowed.body)).toMatchObject({ error: 'slow_down' });
    // The failing address waits, even with the right secret...
    expect((await tokenRequest(s, '127.0.0.2', creds(t.appId, t.secret))).status).toBe(429);
    // ...while the client itself, from anywhere else, is served.
    expect((await tokenRequest(s, '127.0.0.3', creds(t.appId, t.secret))).status).toBe(200);
    expect((await tokenRequest(s, '127.0.0.3', creds(t.appId, 'wrong'))).status).toBe(401);
  });

  test('an address guessing across many client ids is slowed down as a whole', async () => {
    for (let i = 0; i < 20; i++) {
      expect((await tokenRequest(s, '127.0.0.4', creds(`nobody-${i}`, 'x'))).status).toBe(401);
    }
    expect((await tokenRequest(s, '127.0.0.4', creds('nobody-new', 'x'))).status).toBe(429);
    expect((await tokenRequest(s, '127.0.0.5', creds('demo', SECRET))).status).toBe(200);
  });

  test('X-Forwarded-For is not the address unless a trusted proxy is configured', async () => {
    const t = await createTenant(s.store, 'Spoofed');
    for (let i = 0; i < 5; i++) {
      const res = await tokenRequest(s, '127.0.0.6', creds(t.appId, 'x'), {
        'x-forwarded-for': `203.0.113.${i}`,
      });
      expect(res.status).toBe(401);
    }
    const res = await tokenRequest(s, '127.0.0.6', creds(t.appId, t.secret), {
      'x-forwarded-for': '203.0.113.99',
    });
    expect(res.status).toBe(429);

    const proxied = await startTestServer({ config: { trustProxy: 'loopback' } });
    try {
      const p = await createTenant(proxied.store, 'Behind a proxy');
      for (let i = 0; i < 5; i++) {
        const r = await tokenRequest(proxied, '127.0.0.1', creds(p.appId, 'x'), {
          'x-forwarded-for': '203.0.113.7',
        });
        expect(r.status).toBe(401);
      }
      const again = await tokenRequest(proxied, '127.0.0.1', creds(p.appId, p.secret), {
        'x-forwarded-for': '203.0.113.7',
      });
      expect(again.status).toBe(429);
      const other = await tokenRequest(proxied, '127.0.0.1', creds(p.appId, p.secret), {
        'x-forwarded-for': '203.0.113.8',
      });
      expect(other.status).toBe(200);
    } finally {
      await proxied.stop();
    }
  }, 90_000);
});

describe('client credentials in HTTP Basic (RFC 6749 §2.3.1)', () => {
  test('are accepted, and the token works', async () => {
    const res = await tokenRequest(
      s,
      '127.0.0.8',
      { grant_type: 'client_credentials' },
      { authorization: basic('demo', SECRET) },
    );
    expect(res.status).toBe(200);
    const { access_token } = JSON.parse(res.body) as { access_token: string };
    expect((await s.api('/extension/175/event/', { token: access_token })).status).toBe(200);
  });

  test('are form-encoded before base64, so any secret travels', async () => {
    const t = await createTenant(s.store, 'Reserved characters');
    const secret = 'a+b%c:d é&=/';
    await s.store.tenants.setApplicationSecret(t.appId, secret);
    const res = await tokenRequest(
      s,
      '127.0.0.8',
      { grant_type: 'client_credentials' },
      { authorization: basic(t.appId, secret) },
    );
    expect(res.status, res.body).toBe(200);
  });

  test('with credentials in the body too is 400 invalid_request', async () => {
    for (const body of [creds('demo', SECRET), { grant_type: 'client_credentials', client_id: 'demo' }]) {
      const res = await tokenRequest(s, '127.0.0.8', body, { authorization: basic('demo', SECRET) });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_request' });
    }
  });

  test('a malformed Basic header is 400 naming it', async () => {
    for (const header of [
      'Basic !!!',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
      `Basic ${Buffer.from(':no-id').toString('base64')}`,
      `Basic ${Buffer.from('demo:').toString('base64')}`,
      'Basic',
    ]) {
      const res = await tokenRequest(
        s,
        '127.0.0.8',
        { grant_type: 'client_credentials' },
        { authorization: header },
      );
      expect(res.status, header).toBe(400);
      expect(JSON.parse(res.body), header).toMatchObject({
        error: 'invalid_request',
        errors: [{ field: 'authorization', location: 'header' }],
      });
    }
  });

  test('neither in Basic nor in the body is 400 naming the fields', async () => {
    const res = await tokenRequest(s, '127.0.0.8', { grant_type: 'client_credentials' });
    expect(res.status).toBe(400);
    const body = JSON.parse(res.body) as { error: string; errors: Array<{ field: string }> };
    expect(body.error).toBe('invalid_request');
    expect(body.errors.map((e) => e.field).sort()).toEqual(['client_id', 'client_secret']);
  });

  test('a wrong secret is 401 invalid_client and counts toward the same throttle', async () => {
    for (let i = 0; i < 5; i++) {
      const res = await tokenRequest(
        s,
        '127.0.0.9',
        { grant_type: 'client_credentials' },
        { authorization: basic('demo', `wrong${i}`) },
      );
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Basic/);
      expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_client' });
    }
    expect((await tokenRequest(s, '127.0.0.9', creds('demo', SECRET))).status).toBe(429);
    expect((await tokenRequest(s, '127.0.0.10', creds('demo', SECRET))).status).toBe(200);
  });
});
