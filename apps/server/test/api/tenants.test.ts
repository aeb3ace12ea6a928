import type { ApiError, Limits, Subscription, SubscriptionCreated } from '@callhook/contract';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../harness.js';
import { apiAs, createTenant, errorBody, pageUrl, type Tenant } from './helpers.js';

let s: TestServer;
let other: Tenant;
let demoSub: SubscriptionCreated;
let otherSub: SubscriptionCreated;
beforeAll(async () => {
  s = await startTestServer();
  other = await createTenant(s.store, 'Other Inc', { url: s.url, extensionId: 9175 });
  demoSub = await s.subscribe(pageUrl, 'dial-out', 'GET', 175);
  const res = await apiAs(s, other.token, `/extension/${other.extensionId}/event/`, {
    method: 'POST',
    json: { url: 'https://other.example.com/hook', method: 'POST', event_type: 'hangup' },
  });
  expect(res.status).toBe(200);
  otherSub = (await res.json()) as SubscriptionCreated;
});
afterAll(() => s.stop());

/** Status and message, the parts of an answer that could leak whether something exists. */
async function shape(res: Response) {
  const body = (await res.json()) as ApiError;
  return { status: res.status, message: body.message, code: body.code, errors: body.errors };
}

describe('tenant isolation', () => {
  test("another client's extension answers exactly like one that does not exist", async () => {
    const cases: Array<[string, string, unknown?]> = [
      ['GET', '/event/'],
      ['POST', '/event/', { url: pageUrl, method: 'GET', event_type: 'answer' }],
      ['DELETE', '/event/'],
      ['GET', '/event/SUB'],
      ['PUT', '/event/SUB', { method: 'GET' }],
      ['DELETE', '/event/SUB'],
      ['POST', '/event/SUB/secret/rotate/'],
      ['GET', '/event/SUB/delivery/'],
      ['POST', '/event/SUB/delivery/recover/', { since: '2020-01-01T00:00:00Z' }],
      ['GET', '/event/SUB/delivery/msg_abc'],
      ['POST', '/event/SUB/delivery/msg_abc/retry/'],
      ['POST', '/callback/', { dst_num: '+79817654321', src_num: ['200'] }],
    ];
    for (const [method, tail, json] of cases) {
      // Demo looks at Other's extension, Other looks at demo's, both look at one nobody has.
      const theirs = await apiAs(
        s,
        await s.token(),
        `/extension/${other.extensionId}${tail.replace('SUB', String(otherSub.id))}`,
        {
          method,
          ...(json ? { json } : {}),
        },
      );
      const ours = await apiAs(s, other.token, `/extension/175${tail.replace('SUB', String(demoSub.id))}`, {
        method,
        ...(json ? { json } : {}),
      });
      const nobody = await apiAs(
        s,
        await s.token(),
        `/extension/77777${tail.replace('SUB', String(otherSub.id))}`,
        {
          method,
          ...(json ? { json } : {}),
        },
      );
      const label = `${method} ${tail}`;
      const a = await shape(theirs);
      expect(a.status, label).toBe(404);
      expect(a, label).toEqual(await shape(nobody));
      expect(await shape(ours), label).toEqual(a);
    }
    // Nothing changed on either side.
    const mine = (await (await s.api('/extension/175/event/')).json()) as Subscription[];
    expect(mine.map((x) => x.id)).toContain(demoSub.id);
    const theirs = (await (
      await apiAs(s, other.token, `/extension/${other.extensionId}/event/`)
    ).json()) as Subscription[];
    expect(theirs.map((x) => [x.id, x.url])).toEqual([[otherSub.id, 'https://other.example.com/hook']]);
  });

  test("a subscription id of another client through one's own extension is not found", async () => {
    const res = await apiAs(s, other.token, `/extension/${other.extensionId}/event/${demoSub.id}`);
    expect(res.status).toBe(404);
    expect((await errorBody(res)).message).toBe('Record not found');
    const put = await apiAs(s, other.token, `/extension/${other.extensionId}/event/${demoSub.id}`, {
      method: 'PUT',
      json: { url: 'https://evil.example.com/' },
    });
    expect(put.status).toBe(404);
    const del = await apiAs(s, other.token, `/extension/${other.extensionId}/event/${demoSub.id}`, {
      method: 'DELETE',
    });
    expect(del.status).toBe(404);
    const still = (await (await s.api(`/extension/175/event/${demoSub.id}`)).json()) as Subscription;
    expect(still.url).toBe(pageUrl);
  });

  test('@me resolves to each token’s own extension and client', async () => {
    const a = (await (await apiAs(s, other.token, '/extension/@me/event/')).json()) as Subscription[];
    expect(a.map((x) => x.id)).toEqual([otherSub.id]);
    const b = (await (await s.api('/extension/@me/event/')).json()) as Subscription[];
    expect(b.map((x) => x.id)).toContain(demoSub.id);
    expect(b.map((x) => x.id)).not.toContain(otherSub.id);

    const limits = (await (await apiAs(s, other.token, '/client/@me/limit/')).json()) as Limits;
    expect(limits.client_id).toBe(other.clientId);
    expect(limits.subscriptions.client_used).toBe(1);
    expect(limits.subscriptions.extensions).toEqual([
      { extension_id: other.extensionId, used: 1, available: 19 },
    ]);
    // Demo's client id through Other's token: not found.
    const demoLimits = (await (await s.api('/client/@me/limit/')).json()) as Limits;
    const peek = await apiAs(s, other.token, `/client/${demoLimits.client_id}/limit/`);
    expect(peek.status).toBe(404);
    expect(await shape(peek)).toEqual(await shape(await apiAs(s, other.token, '/client/424242/limit/')));
  });

  test('an application without an extension of its own gets 404 for @me, naming why', async () => {
    const clientId = other.clientId;
    const app = await s.store.tenants.createApplication({ clientId, name: 'No extension' });
    const { fetchToken } = await import('./helpers.js');
    const token = await fetchToken(s.url, app.publicId, app.secret);
    const res = await apiAs(s, token, '/extension/@me/event/');
    expect(res.status).toBe(404);
    expect((await errorBody(res)).message).toMatch(/no extension of its own/);
    // Its client's extensions by number work.
    expect((await apiAs(s, token, `/extension/${other.extensionId}/event/`)).status).toBe(200);
  });

  test('a delivery is only visible to the owner of its subscription', async () => {
    const res = await fetch(`${s.apiUrl}/pbx/event/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pbx-key': s.pbxKey },
      body: JSON.stringify({
        event_type: 'hangup',
        extension_id: other.extensionId,
        data: {
          EventType: 'hangup',
          CallID: 'aaaabbbbccccddddeeeeffff00001111',
          EventTime: 1499349846331075,
          CallStatus: 'ANSWER',
          CallFlow: 'in',
        },
      }),
    });
    expect(res.status).toBe(202);
    const page = (await (
      await apiAs(s, other.token, `/extension/${other.extensionId}/event/${otherSub.id}/delivery/`)
    ).json()) as { items: Array<{ id: string }> };
    expect(page.items).toHaveLength(1);
    const id = page.items[0]!.id;
    expect(
      (await apiAs(s, other.token, `/extension/${other.extensionId}/event/${otherSub.id}/delivery/${id}`))
        .status,
    ).toBe(200);
    // Demo, through its own subscription, or through Other's path: not found.
    expect((await s.api(`/extension/175/event/${demoSub.id}/delivery/${id}`)).status).toBe(404);
    expect((await s.api(`/extension/${other.extensionId}/event/${otherSub.id}/delivery/${id}`)).status).toBe(
      404,
    );
    expect(
      (await s.api(`/extension/175/event/${demoSub.id}/delivery/${id}/retry/`, { method: 'POST' })).status,
    ).toBe(404);
  });
});

describe('limits under concurrency', () => {
  test('50 concurrent creates on one extension with limit 10: exactly 10 succeed, 40 get 409 naming it', async () => {
    const l = await startTestServer({ config: { extensionSubscriptionLimit: 10 } });
    try {
      const token = await l.token();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          l.api('/extension/175/event/', {
            token,
            method: 'POST',
            json: { url: `https://example.com/hook/${i}`, method: 'POST', event_type: 'hangup' },
          }),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((x) => x === 200)).toHaveLength(10);
      expect(statuses.filter((x) => x === 409)).toHaveLength(40);
      for (const r of results.filter((x) => x.status === 409)) {
        const body = await errorBody(r);
        expect(body.code).toBe('limit_reached');
        expect(body.message).toBe('Subscription limit reached for extension 175 (10 of 10)');
      }
      const list = (await (await l.api('/extension/175/event/', { token })).json()) as Subscription[];
      expect(list).toHaveLength(10);
      const limits = (await (await l.api('/client/@me/limit/', { token })).json()) as Limits;
      expect(limits.subscriptions.extensions.find((e) => e.extension_id === 175)).toEqual({
        extension_id: 175,
        used: 10,
        available: 0,
      });
      // Deleting one frees one place.
      expect((await l.api(`/extension/175/event/${list[0]!.id}`, { token, method: 'DELETE' })).status).toBe(
        204,
      );
      const again = await l.api('/extension/175/event/', {
        token,
        method: 'POST',
        json: { url: pageUrl, method: 'GET', event_type: 'answer' },
      });
      expect(again.status).toBe(200);
    } finally {
      await l.stop();
    }
  });

  test('the client limit holds across extensions under 50 concurrent creates', async () => {
    const l = await startTestServer({
      config: { extensionSubscriptionLimit: 10, clientSubscriptionLimit: 15 },
    });
    try {
      const token = await l.token();
      const exts = [175, 200, 201, 202, 203];
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          l.api(`/extension/${exts[i % exts.length]}/event/`, {
            token,
            method: 'POST',
            json: { url: `https://example.com/hook/${i}`, method: 'GET', event_type: 'dial-in' },
          }),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((x) => x === 200)).toHaveLength(15);
      expect(statuses.filter((x) => x === 409)).toHaveLength(35);
      const messages = await Promise.all(results.filter((r) => r.status === 409).map((r) => errorBody(r)));
      for (const m of messages) expect(m.message).toMatch(/\((10 of 10|15 of 15)\)$/);
      expect(messages.some((m) => m.message === 'Subscription limit reached for the client (15 of 15)')).toBe(
        true,
      );
      const limits = (await (await l.api('/client/@me/limit/', { token })).json()) as Limits;
      expect(limits.subscriptions.client_used).toBe(15);
      expect(limits.subscriptions.client_limit).toBe(15);
      for (const e of limits.subscriptions.extensions) expect(e.available).toBe(0);
    } finally {
      await l.stop();
    }
  });

  test("a client's own limit (set by the operator) wins over the default", async () => {
    const t = await createTenant(s.store, 'Small', { url: s.url, subscriptionLimit: 2 });
    const post = (i: number) =>
      apiAs(s, t.token, `/extension/${t.extensionId}/event/`, {
        method: 'POST',
        json: { url: `https://example.com/${i}`, method: 'GET', event_type: 'hangup' },
      });
    const results = await Promise.all([0, 1, 2, 3, 4].map(post));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 409, 409, 409]);
    const body = await errorBody(results.find((r) => r.status === 409)!);
    expect(body.message).toBe('Subscription limit reached for the client (2 of 2)');
    const limits = (await (await apiAs(s, t.token, '/client/@me/limit/')).json()) as Limits;
    expect(limits.subscriptions.client_limit).toBe(2);
    expect(limits.subscriptions.client_used).toBe(2);
  });
});
