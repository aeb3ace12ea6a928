import type { ApiError } from '@callhook/contract';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hashSecret } from '../../src/store/secrets.js';
import { startTestServer, type TestServer } from '../harness.js';
import { errorBody, pageUrl } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.stop());

const valid = { url: pageUrl, method: 'GET', event_type: 'dial-out' };

async function post(body: unknown, path = '/extension/175/event/') {
  return s.api(path, { method: 'POST', json: body });
}

describe('400: validation names the field and the rule', () => {
  test('a missing field', async () => {
    const res = await post({ url: pageUrl, method: 'GET' });
    expect(res.status).toBe(400);
    const body = await errorBody(res);
    expect(body.errors).toEqual([
      expect.objectContaining({ field: 'event_type', location: 'body', rule: 'required' }),
    ]);
    expect(body.message).toContain('event_type');
    expect(body.request_id).toBe(res.headers.get('x-request-id'));
  });

  test('every missing field at once', async () => {
    const res = await post({});
    expect(res.status).toBe(400);
    const body = await errorBody(res);
    expect(body.errors?.map((e) => [e.field, e.rule]).sort()).toEqual([
      ['event_type', 'required'],
      ['method', 'required'],
      ['url', 'required'],
    ]);
    expect(body.message).toMatch(/url/);
  });

  test('a bad enum', async () => {
    for (const [field, value] of [
      ['event_type', 'ring'],
      ['method', 'PATCH'],
      ['method', 'get'],
    ] as const) {
      const res = await post({ ...valid, [field]: value });
      expect(res.status).toBe(400);
      const body = await errorBody(res);
      expect(body.errors).toEqual([expect.objectContaining({ field, location: 'body', rule: 'enum' })]);
      expect(body.message).toContain(field);
    }
  });

  test('a wrong type', async () => {
    const res = await post({ ...valid, url: { href: pageUrl } });
    expect(res.status).toBe(400);
    const body = await errorBody(res);
    expect(body.errors).toContainEqual(expect.objectContaining({ field: 'url', rule: 'type' }));
    const list = await post({ ...valid, method: ['GET'] });
    expect(list.status).toBe(400);
    expect((await errorBody(list)).errors?.[0]).toMatchObject({ field: 'method' });
  });

  test('a url that is not a URL, or has no http(s) scheme or host', async () => {
    for (const url of ['not a url', 'somehost.com/x', '/relative/path', '']) {
      const res = await post({ ...valid, url });
      expect(res.status, url).toBe(400);
      const body = await errorBody(res);
      expect(body.errors?.[0]?.field, url).toBe('url');
      expect(body.errors?.[0]?.rule, url).toBe('format');
    }
    for (const url of [
      'ftp://example.com/',
      'mailto:someone@example.com',
      'javascript:alert(1)',
      'file:///etc/passwd',
    ]) {
      const res = await post({ ...valid, url });
      expect(res.status, url).toBe(400);
      const body = await errorBody(res);
      expect(body.errors?.[0], url).toMatchObject({
        field: 'url',
        rule: expect.stringMatching(/^(scheme|format)$/),
      });
    }
  });

  test('a url over 2048 characters; exactly 2048 is fine', async () => {
    const base = 'https://example.com/?q=';
    let res = await post({ ...valid, url: base + 'a'.repeat(2049 - base.length) });
    expect(res.status).toBe(400);
    const body = await errorBody(res);
    expect(body.errors?.[0]).toMatchObject({ field: 'url', rule: 'maxLength' });
    res = await post({ ...valid, url: base + 'a'.repeat(2048 - base.length) });
    expect(res.status).toBe(200);
    await s.api('/extension/175/event/', { method: 'DELETE' });
  });

  test('an extension_id or subscription id of the wrong form', async () => {
    for (const ext of ['abc', '12a', '1234567890123456', '@you', '-1', '1.5']) {
      const res = await s.api(`/extension/${ext}/event/`);
      expect(res.status, ext).toBe(400);
      const body = await errorBody(res);
      expect(body.errors?.[0], ext).toMatchObject({
        field: 'extension_id',
        location: 'path',
        rule: 'pattern',
      });
    }
    for (const [id, rule] of [
      ['abc', 'type'],
      ['0', 'minimum'],
      ['-5', 'minimum'],
      ['1.5', 'type'],
      ['9007199254740992', 'maximum'],
    ] as const) {
      const res = await s.api(`/extension/175/event/${id}`);
      expect(res.status, id).toBe(400);
      const body = await errorBody(res);
      expect(body.errors?.[0], id).toMatchObject({ field: 'id', location: 'path', rule });
    }
  });

  test('JSON bodies are not coerced: a string or null is not a boolean or an integer', async () => {
    const sub = (await (await post(valid)).json()) as { id: number };
    for (const [path, verb, json, field] of [
      [`/extension/175/event/${sub.id}`, 'PUT', { enabled: 'false' }, 'enabled'],
      [`/extension/175/event/${sub.id}`, 'PUT', { enabled: null }, 'enabled'],
      [`/extension/175/event/${sub.id}`, 'PUT', { enabled: 0 }, 'enabled'],
      [`/extension/175/event/${sub.id}/secret/rotate/`, 'POST', { grace_seconds: '60' }, 'grace_seconds'],
      [`/extension/175/event/${sub.id}/secret/rotate/`, 'POST', { grace_seconds: null }, 'grace_seconds'],
      ['/extension/175/event/', 'POST', { ...valid, url: 12345 }, 'url'],
      ['/extension/175/callback/', 'POST', { dst_num: 79817654321, src_num: ['200'] }, 'dst_num'],
    ] as const) {
      const res = await s.api(path, { method: verb, json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      const body = await errorBody(res);
      expect(body.errors?.[0], JSON.stringify(json)).toMatchObject({ field, location: 'body', rule: 'type' });
    }
    const intake = await fetch(`${s.apiUrl}/pbx/event/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pbx-key': s.pbxKey },
      body: JSON.stringify({
        event_type: 'voicemail',
        extension_id: '175',
        data: { EventType: 'voicemail', CallID: 'x', EventTime: 1 },
      }),
    });
    expect(intake.status).toBe(400);
    // Still enabled, nothing rotated.
    const stored = await s.store.subscriptions.get(175, sub.id);
    expect(stored?.enabled).toBe(true);
    expect(stored?.previousSecret).toBeNull();
    await s.api('/extension/175/event/', { method: 'DELETE' });
  });

  test('a body that is not an object', async () => {
    for (const raw of ['[]', '"text"', '42', 'null', 'true']) {
      const res = await s.api('/extension/175/event/', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: raw,
      });
      expect(res.status, raw).toBe(400);
      await errorBody(res);
    }
  });

  test('malformed JSON is 400 malformed_body', async () => {
    const res = await s.api('/extension/175/event/', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"url": "https://x.com/", ',
    });
    expect(res.status).toBe(400);
    const body = await errorBody(res);
    expect(body.code).toBe('malformed_body');
  });

  test('query parameters out of range', async () => {
    const sub = (await (await post(valid)).json()) as { id: number };
    for (const [q, field, rule] of [
      ['per_page=0', 'per_page', 'minimum'],
      ['per_page=201', 'per_page', 'maximum'],
      ['page=0', 'page', 'minimum'],
      ['page=x', 'page', 'type'],
    ] as const) {
      const res = await s.api(`/extension/175/event/${sub.id}/delivery/?${q}`);
      expect(res.status, q).toBe(400);
      expect((await errorBody(res)).errors?.[0], q).toMatchObject({ field, location: 'query', rule });
    }
    await s.api('/extension/175/event/', { method: 'DELETE' });
  });
});

describe('401: missing, malformed, unknown and expired tokens', () => {
  test('no Authorization header', async () => {
    const res = await s.api('/extension/175/event/', { token: null });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="callhook"/);
    expect((await errorBody(res)).message).toMatch(/Authorization/);
  });

  test('malformed headers', async () => {
    for (const header of ['Basic ZGVtbzpkZW1v', 'Bearer', 'Bearer a b', 'Token abc', 'Bearer <script>']) {
      const res = await fetch(`${s.apiUrl}/extension/175/event/`, { headers: { authorization: header } });
      expect(res.status, header).toBe(401);
      expect(res.headers.get('www-authenticate'), header).toMatch(
        /^Bearer realm="callhook".*invalid_request/,
      );
      await errorBody(res);
    }
  });

  test('an unknown token', async () => {
    const res = await s.api('/extension/175/event/', { token: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect((await errorBody(res)).message).toBe('Unknown access token');
  });

  test('an expired token (written to the store with a past expiry)', async () => {
    const app = await s.store.tenants.findApplication('demo');
    const token = 'ExpiredTokenExpiredTokenExpire';
    await s.store.tenants.saveToken(hashSecret(token), {
      applicationId: app!.id,
      clientId: app!.clientId,
      extensionId: app!.extensionId,
      expiresAt: Date.now() - 1000,
    });
    const res = await s.api('/extension/175/event/', { token });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    expect((await errorBody(res)).message).toBe('The access token expired');
  });

  test('authentication comes before the body is looked at', async () => {
    const res = await s.api('/extension/175/event/', {
      method: 'POST',
      token: null,
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(res.status).toBe(401);
  });

  test('the PBX intake wants its key', async () => {
    const body = JSON.stringify({ event_type: 'dial-in', extension_id: 175, data: {} });
    let res = await fetch(`${s.apiUrl}/pbx/event/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('X-PBX-Key');
    res = await fetch(`${s.apiUrl}/pbx/event/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pbx-key': 'wrong-key-wrong-key' },
      body,
    });
    expect(res.status).toBe(401);
    expect((await errorBody(res)).message).toMatch(/Wrong X-PBX-Key/);
    // A bearer token is not a PBX key.
    res = await s.api('/pbx/event/', { method: 'POST', json: JSON.parse(body) });
    expect(res.status).toBe(401);
  });
});

describe('the token endpoint speaks OAuth2', () => {
  const form = (fields: Record<string, string>) =>
    fetch(`${s.url}/oauth/token`, { method: 'POST', body: new URLSearchParams(fields) });

  test('a bad grant_type is unsupported_grant_type', async () => {
    const res = await form({ grant_type: 'password', client_id: 'demo', client_secret: 'x' });
    expect(res.status).toBe(400);
    const body = await errorBody(res);
    expect(body.error).toBe('unsupported_grant_type');
    expect(body.error_description).toBeTruthy();
  });

  test('a missing field is invalid_request and names the field', async () => {
    const res = await form({ grant_type: 'client_credentials', client_id: 'demo' });
    expect(res.status).toBe(400);
    const body = await errorBody(res);
    expect(body.error).toBe('invalid_request');
    expect(body.errors?.[0]).toMatchObject({ field: 'client_secret', rule: 'required' });
  });

  test('JSON instead of a form is 415 with an OAuth2 error code', async () => {
    const res = await fetch(`${s.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'client_credentials', client_id: 'demo', client_secret: 'x' }),
    });
    expect(res.status).toBe(415);
    expect((await errorBody(res)).error).toBe('invalid_request');
  });

  test('a wrong secret is 401 invalid_client; repeated failures are slowed down with 429 + Retry-After', async () => {
    // A client id of its own, so the demo application's limiter is untouched.
    const { createTenant } = await import('./helpers.js');
    const t = await createTenant(s.store, 'Guessed');
    for (let i = 0; i < 5; i++) {
      const res = await form({
        grant_type: 'client_credentials',
        client_id: t.appId,
        client_secret: `guess${i}`,
      });
      expect(res.status).toBe(401);
      const body = await errorBody(res);
      expect(body.error).toBe('invalid_client');
      expect(body.message).not.toContain(`guess${i}`);
    }
    const res = await form({ grant_type: 'client_credentials', client_id: t.appId, client_secret: 'guess5' });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    const body = await errorBody(res);
    expect(body.error).toBe('slow_down');
    // Even the right secret waits its turn now: the limiter speaks before the secret is checked.
    const right = await form({
      grant_type: 'client_credentials',
      client_id: t.appId,
      client_secret: t.secret,
    });
    expect(right.status).toBe(429);
    // Another client is not slowed down by this one's failures.
    expect(
      (
        await form({
          grant_type: 'client_credentials',
          client_id: 'demo',
          client_secret: 'demo-secret-for-tests-only',
        })
      ).status,
    ).toBe(200);
  });
});

describe('404, 405, 413, 415', () => {
  test('unknown routes are 404 with the error body', async () => {
    for (const path of [
      '/api/ver1.0/nothing',
      '/api/ver1.0/extension/175',
      '/nothing',
      '/api/ver2.0/extension/175/event/',
    ]) {
      const res = await fetch(`${s.url}${path}`, { headers: { authorization: `Bearer ${await s.token()}` } });
      expect(res.status, path).toBe(404);
      await errorBody(res);
    }
  });

  test('a wrong method on a known path is 405 (with Allow) or 404, never 2xx or 5xx', async () => {
    for (const [method, path] of [
      ['PATCH', '/extension/175/event/'],
      ['PUT', '/extension/175/event/'],
      ['POST', '/extension/175/event/1'],
      ['DELETE', '/client/@me/limit/'],
      ['GET', '/pbx/event/'],
    ] as const) {
      const res = await s.api(path, { method });
      expect([404, 405], `${method} ${path}`).toContain(res.status);
      const body = await errorBody(res);
      if (res.status === 405) expect(res.headers.get('allow'), `${method} ${path}`).toBeTruthy();
      expect(body.message).toBeTruthy();
    }
  });

  test('a body over the limit is 413', async () => {
    const res = await post({ ...valid, padding: 'x'.repeat(70 * 1024) });
    expect(res.status).toBe(413);
    await errorBody(res);
    const token = await fetch(`${s.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=client_credentials&client_id=demo&client_secret=${'x'.repeat(70 * 1024)}`,
    });
    expect(token.status).toBe(413);
  });

  test('a wrong content type is 415', async () => {
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/xml',
      'multipart/form-data; boundary=x',
    ]) {
      const res = await s.api('/extension/175/event/', {
        method: 'POST',
        headers: { 'content-type': type },
        body: type.startsWith('application/x-www')
          ? new URLSearchParams(valid).toString()
          : JSON.stringify(valid),
      });
      expect(res.status, type).toBe(415);
      await errorBody(res);
    }
    // No content type at all with a body.
    const res = await fetch(`${s.apiUrl}/extension/175/event/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await s.token()}` },
      body: new Blob([JSON.stringify(valid)]),
    });
    expect([400, 415]).toContain(res.status);
    await errorBody(res);
  });

  test('an unsupported charset is 415', async () => {
    const res = await s.api('/extension/175/event/', {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=latin1' },
      body: JSON.stringify(valid),
    });
    expect(res.status).toBe(415);
    await errorBody(res);
  });
});

describe('nothing a client sends produces a 500', () => {
  test('a fuzz of weird paths, methods, headers and bodies', async () => {
    const token = await s.token();
    const paths = [
      '/api/ver1.0/extension/%/event/',
      '/api/ver1.0/extension/%ZZ/event/',
      '/api/ver1.0/extension/175/event/%00',
      '/api/ver1.0/extension/175%2F/event/',
      '/api/ver1.0/extension/175/event/1e3',
      '/api/ver1.0/extension/175/event/0x10',
      '/api/ver1.0/extension/175/event/99999999999999999999999',
      '/api/ver1.0/extension/175/event//',
      '/api/ver1.0/extension//event/',
      '/api/ver1.0/extension/175/event/?page=1&page=2',
      '/api/ver1.0/extension/175/event/?__proto__[x]=1&constructor=2',
      '/api/ver1.0/extension/@me/event/1/delivery/?status=failed&status=pending',
      '/api/ver1.0/extension/@me/event/1/delivery/?per_page=1e400',
      '/api/ver1.0/extension/@me/event/1/delivery/?since=2020-13-45T99:99:99Z',
      `/api/ver1.0/extension/@me/event/1/delivery/msg_${'a'.repeat(70)}`,
      '/api/ver1.0/extension/@me/event/1/delivery/recover/',
      '/api/ver1.0/client/@me/limit/?x=%E0%A4%A',
      '/api/ver1.0/../../../etc/passwd',
      '/docs/../../package.json',
      '/docs/%2e%2e/%2e%2e/package.json',
      '/openapi.yaml/x',
      '/oauth/token/',
      '/healthz/',
      '/metrics?x=1',
      `/api/ver1.0/extension/175/event/${'9'.repeat(3000)}`,
    ];
    const bodies: Array<[string | undefined, string]> = [
      ['application/json', 'null'],
      [
        'application/json',
        '{"__proto__":{"polluted":true},"url":"https://x.com/","method":"GET","event_type":"hangup"}',
      ],
      ['application/json', '{"constructor":{"prototype":{"polluted":true}}}'],
      ['application/json', '{"url":null,"method":null,"event_type":null}'],
      ['application/json', '{"url":["https://x.com/"],"method":{},"event_type":1}'],
      ['application/json', `${'['.repeat(5000)}${']'.repeat(5000)}`],
      ['application/json', `{"a":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}`],
      ['application/json', '{"url":"https://x.com/\\u0000","method":"GET","event_type":"hangup"}'],
      ['application/json', '{"url":"https://[::1:/","method":"GET","event_type":"hangup"}'],
      ['application/json', '{"url":"http://%zz/","method":"GET","event_type":"hangup"}'],
      ['application/json', '{"url":"https://xn--/","method":"GET","event_type":"hangup"}'],
      ['application/json', '{"url":"https://a..b/","method":"GET","event_type":"hangup"}'],
      ['application/json', '{"url":"http://[fe80::1%25eth0]/","method":"GET","event_type":"hangup"}'],
      ['application/json', '{"url":"http://999.999.999.999/","method":"GET","event_type":"hangup"}'],
      ['application/json', '{"url":"http://user:pass@/","method":"GET","event_type":"hangup"}'],
      ['application/json', '{"since":"9999-12-31T23:59:59Z","until":"0000-01-01T00:00:00Z"}'],
      ['application/json', '{"grace_seconds":1e308}'],
      ['application/json', '{"dst_num":"","src_num":[]}'],
      ['application/json', '\ufeff{"url":"https://x.com/","method":"GET","event_type":"hangup"}'],
      ['application/json', '\u00ff\u00fe'],
      ['application/json; charset=utf-16', '{}'],
      ['application/json; charset=utf-8; boundary=x', '{}'],
      ['application/json;', '{}'],
      ['application/vnd.api+json', '{}'],
      ['text/html', '<html>'],
      ['application/x-www-form-urlencoded', 'a=1&a=2&__proto__=x'],
      ['application/x-www-form-urlencoded', '%E0%A4%A'],
      ['multipart/form-data', '--x--'],
      ['', 'plain'],
      [undefined, ''],
    ];
    const auths = [
      `Bearer ${token}`,
      undefined,
      `Bearer ${'A'.repeat(8000)}`,
      'Bearer \u00e9',
      'Bearer ../..',
    ];
    const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
    const targets = [
      '/api/ver1.0/extension/175/event/',
      '/api/ver1.0/extension/175/event/1',
      '/api/ver1.0/extension/@me/event/1/secret/rotate/',
      '/api/ver1.0/extension/175/event/1/delivery/recover/',
      '/api/ver1.0/extension/175/callback/',
      '/api/ver1.0/pbx/event/',
      '/api/ver1.0/pbx/event/batch/',
      '/api/ver1.0/pbx/simulate/',
      '/oauth/token',
    ];
    const seen: string[] = [];
    const check = async (label: string, res: Response, method: string) => {
      seen.push(`${res.status}`);
      expect(res.status, label).toBeLessThan(500);
      if (res.status >= 400 && method !== 'HEAD') {
        const text = await res.text();
        let body: ApiError | undefined;
        try {
          body = JSON.parse(text) as ApiError;
        } catch {
          throw new Error(`${label}: ${res.status} body is not JSON: ${text.slice(0, 200)}`);
        }
        expect(typeof body.message, label).toBe('string');
      } else {
        await res.arrayBuffer();
      }
    };
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const res = await fetch(`${s.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
        await check(`${method} ${path}`, res, method);
      }
    }
    let i = 0;
    for (const target of targets) {
      for (const [type, raw] of bodies) {
        const method = methods[i % methods.length]!;
        const auth = auths[i % auths.length];
        i++;
        const headers: Record<string, string> = {};
        if (type !== undefined) headers['content-type'] = type;
        if (auth) headers.authorization = auth;
        if (target.includes('/pbx/event')) headers['x-pbx-key'] = i % 2 ? s.pbxKey : 'x';
        const hasBody = method !== 'GET' && method !== 'HEAD';
        const res = await fetch(`${s.url}${target}`, { method, headers, ...(hasBody ? { body: raw } : {}) });
        await check(`${method} ${target} ${type} ${raw.slice(0, 60)}`, res, method);
        // And the same body with a valid token and POST, where it goes furthest.
        const res2 = await fetch(`${s.url}${target}`, {
          method: 'POST',
          headers: { ...headers, authorization: `Bearer ${token}`, 'x-pbx-key': s.pbxKey },
          body: raw,
        });
        await check(`POST ${target} ${type} ${raw.slice(0, 60)}`, res2, 'POST');
      }
    }
    for (const requestId of ['', 'a'.repeat(500), '<script>', 'x\ty', '../../']) {
      const res = await fetch(`${s.apiUrl}/extension/175/event/`, {
        headers: { authorization: `Bearer ${token}`, 'x-request-id': requestId },
      });
      await check(`x-request-id ${requestId.slice(0, 20)}`, res, 'GET');
      expect(res.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    }
    // Nothing got polluted, and the server still answers.
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    expect(seen.length).toBeGreaterThan(300);
  });
});

describe('store outages', () => {
  test('a database that cannot be reached answers 503 with Retry-After, not 500', async () => {
    const { toHttpError } = await import('../../src/api/errors.js');
    for (const err of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
    ]) {
      const e = toHttpError(err);
      expect(e.status).toBe(503);
      expect(e.headers['Retry-After']).toBe('2');
    }
    expect(toHttpError(new Error('bug')).status).toBe(500);
  });

  test('a PostgreSQL address that accepts connections and never answers fails in seconds, as a 503', async () => {
    const { createServer } = await import('node:net');
    const { connect } = await import('../../src/store/db.js');
    const { toHttpError } = await import('../../src/api/errors.js');
    // Accepts, then says nothing: a server behind a dead network path looks like this.
    const held: import('node:net').Socket[] = [];
    const silent = createServer((socket) => held.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port } = silent.address() as import('node:net').AddressInfo;
    const started = Date.now();
    try {
      const err = await connect({
        dataDir: '',
        databaseUrl: `postgres://callhook@127.0.0.1:${port}/callhook`,
        poolSize: 2,
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(toHttpError(err).status).toBe(503);
    } finally {
      for (const s of held) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});
