import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { callEvents } from '../events.js';
import { startTestServer, type TestServer } from '../harness.js';
import { rawRequest } from '../raw.js';
import { type Receiver, startReceiver } from '../receivers.js';

// What the server answers for paths that are not exactly one of the spec's: routing, credentials
// and validation are one decision, so a variant of a path never reaches a handler.

let s: TestServer;
let hook: Receiver;
let subscriptionId: number;
beforeAll(async () => {
  s = await startTestServer();
  hook = await startReceiver();
  subscriptionId = (await s.subscribe(`${hook.url}/hook`, 'dial-out', 'POST')).id;
});
afterAll(async () => {
  await s?.stop();
  await hook?.close();
});

// callEvents' first event of a two-event call is a dial-out, which the subscription takes.
const dialOut = () => callEvents(175, 2)[0]!;
const forged = () => ({ ...dialOut(), event_type: 'pwned' });
const pbxHeaders = (key?: string): Record<string, string> => ({
  'content-type': 'application/json',
  ...(key ? { 'x-pbx-key': key } : {}),
});

async function deliveriesStored(): Promise<number> {
  const res = await s.api(`/extension/175/event/${subscriptionId}/delivery/`);
  return ((await res.json()) as { total: number }).total;
}

describe('the PBX intake never runs without its key, whatever the path looks like', () => {
  const variants = [
    // letter case
    '/api/ver1.0/Pbx/event/',
    '/api/ver1.0/PBX/event/',
    '/API/VER1.0/PBX/EVENT/',
    '/api/ver1.0/pbx/event/BATCH/',
    '/api/ver1.0/pbx/Event',
    // percent-encoding of the fixed segments
    '/api/ver1.0/%70bx/event/',
    '/api/ver1.0/pbx%2Fevent/',
    '/api/ver1.0/pbx%2fevent/batch/',
    '/api%2Fver1.0/pbx/event/',
    // doubled slashes, dot segments, extra trailing slashes
    '//api/ver1.0/pbx/event/',
    '/api/ver1.0//pbx/event/',
    '/api/ver1.0/pbx//event/',
    '/api/ver1.0/pbx/event//',
    '/api/ver1.0/./pbx/event/',
    '/api/ver1.0/pbx/./event/',
    '/api/ver1.0/x/../pbx/event/',
    '/api/ver1.0/pbx/event/./',
    '/api/ver1.0/pbx/event/batch/..',
    '/api/ver1.0/pbx/%2e/event/',
    '/api/ver1.0/pbx/event/%2E%2E/event/',
  ];

  test.each(variants)('%s is 404 with or without the key, and stores nothing', async (path) => {
    const before = await deliveriesStored();
    for (const key of [undefined, s.pbxKey]) {
      const one = forged();
      const body = JSON.stringify(path.includes('atch') ? { events: [one] } : one);
      const res = await rawRequest(s.url, { method: 'POST', path, headers: pbxHeaders(key), body });
      expect(res.status, `${path} key=${key !== undefined}`).toBe(404);
      expect(JSON.parse(res.body)).toMatchObject({ message: expect.any(String) });
    }
    expect(await deliveriesStored()).toBe(before);
  });

  test('the exact paths ask for the key and validate the event before anything is stored', async () => {
    for (const path of ['/api/ver1.0/pbx/event/', '/api/ver1.0/pbx/event', '/api/ver1.0/pbx/event/batch/']) {
      const body = JSON.stringify(path.includes('batch') ? { events: [forged()] } : forged());
      const res = await rawRequest(s.url, { method: 'POST', path, headers: pbxHeaders(), body });
      expect(res.status, path).toBe(401);
      const keyed = await rawRequest(s.url, { method: 'POST', path, headers: pbxHeaders(s.pbxKey), body });
      expect(keyed.status, path).toBe(400);
      expect(keyed.body, path).toContain('event_type');
    }
  });

  test('a subscriber receives only what came in with the key', async () => {
    const before = hook.received.length;
    const event = dialOut();
    for (const path of variants) {
      const body = JSON.stringify(path.includes('atch') ? { events: [event] } : event);
      await rawRequest(s.url, { method: 'POST', path, headers: pbxHeaders(), body });
    }
    // Then the real thing, which must be the one and only event to arrive.
    await s.ingest([event]);
    await hook.waitFor(before + 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(hook.received.length).toBe(before + 1);
  });
});

describe('paths of token-secured operations', () => {
  test('letter-case, encoded and dotted variants are 404 even with a valid token', async () => {
    const token = await s.token();
    for (const path of [
      '/api/ver1.0/Extension/175/event/',
      '/API/ver1.0/extension/175/event/',
      '/api/ver1.0/extension/175/EVENT/',
      '/api/ver1.0/%65xtension/175/event/',
      '/api/ver1.0/extension/175%2Fevent/',
      '/api/ver1.0/extension/175%2F/event/',
      '/api/ver1.0/extension//event/',
      '/api/ver1.0/extension/175//event/',
      '/api/ver1.0/extension/./175/event/',
      '/api/ver1.0/extension/../extension/175/event/',
      '/api/ver1.0/extension/%2e%2e/event/',
      '/api/ver1.0/client/@me/LIMIT/',
      '/OAUTH/TOKEN',
      '/oauth/token//',
      '/HEALTHZ',
    ]) {
      const res = await rawRequest(s.url, { path, headers: { authorization: `Bearer ${token}` } });
      expect(res.status, path).toBe(404);
      const post = await rawRequest(s.url, {
        method: 'POST',
        path,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: 'https://example.com/', method: 'GET', event_type: 'hangup' }),
      });
      expect(post.status, `POST ${path}`).toBe(404);
    }
    expect(((await (await s.api('/extension/175/event/')).json()) as unknown[]).length).toBe(1);
  });

  test('a missing or extra trailing slash is served as the spec path', async () => {
    const token = await s.token();
    for (const path of [
      '/api/ver1.0/extension/175/event',
      `/api/ver1.0/extension/175/event/${subscriptionId}/`,
      '/api/ver1.0/client/@me/limit',
      '/healthz/',
    ]) {
      const res = await rawRequest(s.url, { path, headers: { authorization: `Bearer ${token}` } });
      expect(res.status, path).toBe(200);
    }
  });

  test('a percent-encoded parameter is decoded once, then validated', async () => {
    const token = await s.token();
    const headers = { authorization: `Bearer ${token}` };
    expect((await rawRequest(s.url, { path: '/api/ver1.0/extension/%40me/event/', headers })).status).toBe(
      200,
    );
    expect(
      (await rawRequest(s.url, { path: '/api/ver1.0/extension/%31%37%35/event/', headers })).status,
    ).toBe(200);
    const bad = await rawRequest(s.url, { path: '/api/ver1.0/extension/%ZZ/event/', headers });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).errors[0]).toMatchObject({ field: 'extension_id', location: 'path' });
  });

  test('without a token, the exact path is 401 and a variant 404', async () => {
    expect((await rawRequest(s.url, { path: '/api/ver1.0/extension/175/event/' })).status).toBe(401);
    expect((await rawRequest(s.url, { path: '/api/ver1.0/Extension/175/event/' })).status).toBe(404);
  });

  test('a known path with another method is 405 with Allow, before credentials', async () => {
    const res = await rawRequest(s.url, { method: 'PATCH', path: '/api/ver1.0/extension/175/event/' });
    expect(res.status).toBe(405);
    expect(String(res.headers.allow).split(/,\s*/).sort()).toEqual(['DELETE', 'GET', 'POST']);
  });
});

describe('the root', () => {
  test('GET / sends people to the API browser', async () => {
    const res = await rawRequest(s.url, { path: '/' });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/docs/');
    const followed = await fetch(`${s.url}/`);
    expect(followed.status).toBe(200);
    expect(await followed.text()).toContain('swagger');
  });

  test('the pages are served at their exact paths only', async () => {
    expect((await rawRequest(s.url, { path: '/DOCS/' })).status).toBe(404);
    expect((await rawRequest(s.url, { path: '/OPENAPI.YAML' })).status).toBe(404);
    expect((await rawRequest(s.url, { path: '/openapi.yaml' })).status).toBe(200);
  });
});

describe('a server whose spec and code disagree does not start', () => {
  test('security, handlers and operations are checked against the contract at boot', async () => {
    const { loadApiSpec } = await import('../../src/api/routes.js');
    const { checkAgainstContract } = await import('../../src/api/router.js');
    const spec = loadApiSpec();
    const handlers = Object.fromEntries(spec.routes.map((r) => [r.operationId, async () => ({})]));
    expect(() => checkAgainstContract(spec.routes, handlers)).not.toThrow();
    // The YAML says the intake is open while the build's contract says it needs the key.
    const opened = spec.routes.map((r) => (r.operationId === 'ingestEvent' ? { ...r, schemes: [] } : r));
    expect(() => checkAgainstContract(opened, handlers)).toThrow(/ingestEvent: secured by \[\] in the spec/);
    const { ingestEvents: _, ...fewer } = handlers;
    expect(() => checkAgainstContract(spec.routes, fewer)).toThrow(/ingestEvents: no handler/);
    expect(() => checkAgainstContract(spec.routes, { ...handlers, ingestCall: async () => ({}) })).toThrow(
      /ingestCall: a handler of no operation/,
    );
    const mixed = spec.routes.map((r) =>
      r.operationId === 'simulateCall' ? { ...r, schemes: ['bearer', 'pbxKey'] } : r,
    );
    expect(() => checkAgainstContract(mixed, handlers)).toThrow(
      /simulateCall: security \[bearer,pbxKey\] is not one/,
    );
  });
});
