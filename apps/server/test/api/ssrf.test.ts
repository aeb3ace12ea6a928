import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import type { ApiError, Subscription } from '@callhook/contract';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../harness.js';
import { createTenant, errorBody, type Tenant } from './helpers.js';

/**
 * Target safety outside demo mode (demo mode allows loopback): every subscription URL whose host
 * is, or resolves to, a non-global address is refused with a 4xx that names the rule.
 */
let s: TestServer;
let t: Tenant;
let allowing: TestServer;
let allowingTenant: Tenant;
beforeAll(async () => {
  [s, allowing] = await Promise.all([
    startTestServer({ demo: false }),
    startTestServer({
      demo: false,
      config: { allowTargets: ['10.1.0.0/16', 'fd00:1::/32', 'printer.internal'] },
    }),
  ]);
  t = await createTenant(s.store, 'Acme', { url: s.url, extensionId: 175 });
  allowingTenant = await createTenant(allowing.store, 'Acme', { url: allowing.url, extensionId: 175 });
});
afterAll(async () => {
  await Promise.all([s?.stop(), allowing?.stop()]);
});

function create(server: TestServer, tenant: Tenant, url: string, verb: 'POST' | 'PUT' = 'POST', id?: number) {
  return server.api(`/extension/175/event/${id ?? ''}`, {
    method: verb,
    token: tenant.token,
    json: verb === 'POST' ? { url, method: 'POST', event_type: 'hangup' } : { url },
  });
}

const refused: Array<[url: string, rule: string]> = [
  ['http://127.0.0.1/', 'loopback'],
  ['http://127.0.0.1:8080/hook?x=1', 'loopback'],
  ['http://2130706433/', 'loopback'],
  ['http://0x7f.0.0.1/', 'loopback'],
  ['http://0x7f000001/', 'loopback'],
  ['http://0177.0.0.1/', 'loopback'],
  ['http://127.1/', 'loopback'],
  ['http://127.0.0.1./', 'loopback'],
  ['http://%31%32%37.0.0.1/', 'loopback'],
  ['http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/', 'loopback'],
  ['http://[::1]/', 'loopback'],
  ['http://[0:0:0:0:0:0:0:1]/', 'loopback'],
  ['http://[::ffff:127.0.0.1]/', 'loopback'],
  ['http://[::ffff:7f00:1]/', 'loopback'],
  ['http://[::ffff:0:7f00:1]/', 'loopback'],
  ['http://[64:ff9b::7f00:1]/', 'loopback'],
  ['http://[64:ff9b::127.0.0.1]/', 'loopback'],
  ['http://[2002:7f00:1::]/', 'loopback'],
  ['http://localhost/', 'loopback'],
  ['http://localhost./', 'loopback'],
  ['http://LOCALHOST:3000/', 'loopback'],
  ['http://foo.localhost/', 'loopback'],
  ['http://10.0.0.1/', 'private'],
  ['http://172.16.5.4/', 'private'],
  ['http://192.168.1.1/', 'private'],
  ['http://[::ffff:192.168.1.1]/', 'private'],
  ['http://[fc00::1]/', 'uniqueLocal'],
  ['http://[fd12:3456::1]/', 'uniqueLocal'],
  ['http://169.254.169.254/latest/meta-data', 'linkLocal'],
  ['http://[fe80::1]/', 'linkLocal'],
  ['http://0.0.0.0/', 'unspecified'],
  ['http://0/', 'unspecified'],
  ['http://[::]/', 'unspecified'],
  ['http://224.0.0.1/', 'multicast'],
  ['http://[ff02::1]/', 'multicast'],
  ['http://255.255.255.255/', 'broadcast'],
  ['http://100.64.0.1/', 'carrierGradeNat'],
  ['http://192.0.2.1/', 'reserved'],
  ['http://240.0.0.1/', 'reserved'],
];

describe('SSRF: non-global targets are refused', () => {
  test.each(refused)('%s is refused as %s', async (url, rule) => {
    const res = await create(s, t, url);
    expect(res.status).toBe(422);
    const body = await errorBody(res);
    expect(body.code).toBe('target_refused');
    expect(body.errors).toEqual([expect.objectContaining({ field: 'url', location: 'body', rule })]);
    expect(body.message).toMatch(/^url: host .* address/);
  });

  test('IPv4-compatible and other IPv6 outside global unicast (2000::/3) are refused', async () => {
    for (const url of [
      'http://[::127.0.0.1]/',
      'http://[::7f00:1]/',
      'http://[::a00:1]/',
      'http://[64:ff9b:1::7f00:1]/',
      'http://[100::1]/',
    ]) {
      const res = await create(s, t, url);
      expect(res.status, url).toBe(422);
      const body = await errorBody(res);
      expect(body.errors?.[0]?.field, url).toBe('url');
      expect(body.code, url).toBe('target_refused');
    }
  });

  test('a name that resolves to loopback is refused', async () => {
    // The machine's own name usually resolves to a loopback address through /etc/hosts.
    const name = hostname();
    const addresses = await lookup(name, { all: true }).catch(() => []);
    if (!addresses.some((a) => a.address.startsWith('127.') || a.address === '::1')) {
      console.warn(`skipped: ${name} does not resolve to loopback here`);
      return;
    }
    const res = await create(s, t, `http://${name}:8080/hook`);
    expect(res.status).toBe(422);
    const body = await errorBody(res);
    expect(body.errors?.[0]).toMatchObject({ field: 'url', rule: 'loopback' });
    expect(body.message).toContain(name);
  });

  test('a scheme other than http(s) is 400 naming the rule', async () => {
    for (const url of [
      'ftp://example.com/',
      'gopher://127.0.0.1:25/',
      'ws://example.com/',
      'file://host/x',
    ]) {
      const res = await create(s, t, url);
      expect(res.status, url).toBe(400);
      const body = await errorBody(res);
      expect(body.errors?.[0], url).toMatchObject({ field: 'url', rule: 'scheme' });
    }
  });

  test('a URL without an authority (http:host) is 400', async () => {
    for (const url of ['http:example.com', 'https:/example.com/x', 'http:\\\\example.com']) {
      const res = await create(s, t, url);
      expect(res.status, url).toBe(400);
      const body = await errorBody(res);
      expect(body.errors?.[0]?.field, url).toBe('url');
    }
  });

  test('PUT checks the new url the same way', async () => {
    const ok = await create(s, t, 'https://somehost.com/fordel/show.php?myid=175');
    expect(ok.status).toBe(200);
    const sub = (await ok.json()) as Subscription;
    const res = await create(s, t, 'http://[::ffff:7f00:1]/', 'PUT', sub.id);
    expect(res.status).toBe(422);
    expect((await errorBody(res)).errors?.[0]).toMatchObject({ field: 'url', rule: 'loopback' });
    const after = (await (
      await s.api(`/extension/175/event/${sub.id}`, { token: t.token })
    ).json()) as Subscription;
    expect(after.url).toBe('https://somehost.com/fordel/show.php?myid=175');
  });

  test('nothing refused was stored', async () => {
    const list = (await (await s.api('/extension/175/event/', { token: t.token })).json()) as Subscription[];
    for (const sub of list) expect(sub.url).toMatch(/^https:\/\/somehost\.com\//);
  });
});

describe('SSRF: what is allowed', () => {
  test('a global name (not resolvable offline) and global addresses are accepted', async () => {
    for (const url of [
      'https://somehost.com/fordel/show.php?myid=175',
      'http://93.184.215.14/hook',
      'https://[2606:4700:4700::1111]/hook',
      'https://hooks.example.org:8443/a/b?c=d&e=%20f',
    ]) {
      const res = await create(s, t, url);
      expect(res.status, url).toBe(200);
      // Kept verbatim.
      expect(((await res.json()) as Subscription).url).toBe(url);
    }
  });

  test('an operator-allowed CIDR or host is accepted; the rest of the private ranges are not', async () => {
    for (const url of [
      'http://10.1.2.3/hook',
      'http://[fd00:1::5]/x',
      'http://printer.internal/print',
      'http://PRINTER.internal./p',
    ]) {
      const res = await create(allowing, allowingTenant, url);
      expect(res.status, url).toBe(200);
    }
    for (const [url, rule] of [
      ['http://10.2.0.1/hook', 'private'],
      ['http://127.0.0.1/', 'loopback'],
      ['http://[fd01::1]/', 'uniqueLocal'],
    ] as const) {
      const res = await create(allowing, allowingTenant, url);
      expect(res.status, url).toBe(422);
      expect(((await res.json()) as ApiError).errors?.[0]?.rule, url).toBe(rule);
    }
  });
});
