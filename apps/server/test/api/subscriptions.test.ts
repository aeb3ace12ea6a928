import type {
  DeliveryDetail,
  DeliveryPage,
  Limits,
  SecretRotated,
  Subscription,
  SubscriptionCreated,
} from '@callhook/contract';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../harness.js';
import { errorBody, pageUrl } from './helpers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.stop());

async function create(ext: string | number = 175, body: Record<string, unknown> = {}) {
  const res = await s.api(`/extension/${ext}/event/`, {
    method: 'POST',
    json: { url: pageUrl, method: 'GET', event_type: 'dial-out', ...body },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as SubscriptionCreated;
}

async function list(ext: string | number = 175): Promise<Subscription[]> {
  const res = await s.api(`/extension/${ext}/event/`);
  expect(res.status).toBe(200);
  return (await res.json()) as Subscription[];
}

describe('subscriptions: the six operations', () => {
  beforeEach(async () => {
    for (const ext of [175, 200]) {
      const res = await s.api(`/extension/${ext}/event/`, { method: 'DELETE' });
      expect(res.status).toBe(204);
    }
  });

  test('create returns the stored subscription with a whsec_ secret, enabled, extension and time', async () => {
    const before = Date.now();
    const sub = await create(175, {
      method: 'POST',
      event_type: 'hangup',
      url: 'https://example.com/hook?a=1&b=%20x',
    });
    expect(sub).toMatchObject({
      url: 'https://example.com/hook?a=1&b=%20x',
      method: 'POST',
      event_type: 'hangup',
      enabled: true,
      disabled_reason: null,
      extension_id: 175,
    });
    expect(sub.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Date.parse(sub.created_at!)).toBeGreaterThanOrEqual(before - 1000);
  });

  test('each event type and method is accepted', async () => {
    const types = ['dial-in', 'dial-out', 'answer', 'hangup', 'voicemail', 'message-in', 'message-out'];
    for (const [i, t] of types.entries())
      await create(200, { event_type: t, method: i % 2 ? 'GET' : 'POST' });
    const got = await list(200);
    expect(got.map((x) => x.event_type)).toEqual(types);
    // Oldest first.
    expect(got.map((x) => x.id)).toEqual([...got.map((x) => x.id)].sort((a, b) => a - b));
  });

  test('GET one, and 404 with the page message for an id that is not there', async () => {
    const sub = await create();
    const res = await s.api(`/extension/175/event/${sub.id}`);
    expect(res.status).toBe(200);
    const got = (await res.json()) as Subscription;
    expect(got).toMatchObject({ id: sub.id, url: pageUrl, method: 'GET', event_type: 'dial-out' });
    expect(got).not.toHaveProperty('secret');
    const missing = await s.api(`/extension/175/event/${sub.id + 1000}`);
    expect(missing.status).toBe(404);
    expect((await errorBody(missing)).message).toBe('Record not found');
    // The subscription is 175's: through another extension of the same client it is not found.
    const other = await s.api(`/extension/200/event/${sub.id}`);
    expect(other.status).toBe(404);
  });

  test('PUT changes only the fields given', async () => {
    const sub = await create(175, { method: 'GET', event_type: 'dial-out' });
    let res = await s.api(`/extension/175/event/${sub.id}`, { method: 'PUT', json: { method: 'POST' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      id: sub.id,
      url: pageUrl,
      method: 'POST',
      event_type: 'dial-out',
    });

    res = await s.api(`/extension/175/event/${sub.id}`, { method: 'PUT', json: { event_type: 'answer' } });
    expect(await res.json()).toMatchObject({ url: pageUrl, method: 'POST', event_type: 'answer' });

    res = await s.api(`/extension/175/event/${sub.id}`, {
      method: 'PUT',
      json: { url: 'https://example.org/new?x=1' },
    });
    expect(await res.json()).toMatchObject({
      url: 'https://example.org/new?x=1',
      method: 'POST',
      event_type: 'answer',
    });

    res = await s.api(`/extension/175/event/${sub.id}`, { method: 'PUT', json: { enabled: false } });
    const disabled = (await res.json()) as Subscription;
    expect(disabled).toMatchObject({ enabled: false, url: 'https://example.org/new?x=1' });
    expect(disabled.disabled_reason).toMatch(/client/);
    res = await s.api(`/extension/175/event/${sub.id}`, { method: 'PUT', json: { enabled: true } });
    expect(await res.json()).toMatchObject({ enabled: true, disabled_reason: null });

    // And the stored row says the same.
    const stored = (await (await s.api(`/extension/175/event/${sub.id}`)).json()) as Subscription;
    expect(stored).toMatchObject({
      url: 'https://example.org/new?x=1',
      method: 'POST',
      event_type: 'answer',
      enabled: true,
    });
  });

  test('PUT with an empty body is refused (minProperties), a bad field names it, unknown id is 404', async () => {
    const sub = await create();
    let res = await s.api(`/extension/175/event/${sub.id}`, { method: 'PUT', json: {} });
    expect(res.status).toBe(400);
    expect((await errorBody(res)).errors?.[0]?.rule).toBe('minProperties');
    res = await s.api(`/extension/175/event/${sub.id}`, { method: 'PUT', json: { method: 'PATCH' } });
    expect(res.status).toBe(400);
    const body = await errorBody(res);
    expect(body.errors).toContainEqual(
      expect.objectContaining({ field: 'method', rule: 'enum', location: 'body' }),
    );
    res = await s.api(`/extension/175/event/99999`, { method: 'PUT', json: { method: 'GET' } });
    expect(res.status).toBe(404);
  });

  test('DELETE one, then it is gone; deleting it again is 404', async () => {
    const a = await create();
    const b = await create(175, { event_type: 'hangup' });
    let res = await s.api(`/extension/175/event/${a.id}`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect((await list()).map((x) => x.id)).toEqual([b.id]);
    res = await s.api(`/extension/175/event/${a.id}`, { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect((await s.api(`/extension/175/event/${a.id}`)).status).toBe(404);
  });

  test("DELETE on the collection removes all of the extension's subscriptions, and only those", async () => {
    await create(175);
    await create(175, { event_type: 'answer' });
    await create(175, { event_type: 'hangup' });
    const keep = await create(200);
    expect(await list(175)).toHaveLength(3);
    const res = await s.api('/extension/175/event/', { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(await list(175)).toEqual([]);
    expect((await list(200)).map((x) => x.id)).toEqual([keep.id]);
    // Deleting an empty collection is fine too.
    expect((await s.api('/extension/175/event/', { method: 'DELETE' })).status).toBe(204);
  });

  test('paths work with and without the trailing slash', async () => {
    let res = await s.api('/extension/175/event', {
      method: 'POST',
      json: { url: pageUrl, method: 'GET', event_type: 'dial-in' },
    });
    expect(res.status).toBe(200);
    const sub = (await res.json()) as SubscriptionCreated;
    res = await s.api('/extension/175/event');
    expect(res.status).toBe(200);
    expect(((await res.json()) as Subscription[]).map((x) => x.id)).toEqual([sub.id]);
    res = await s.api(`/extension/175/event/${sub.id}/`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as Subscription).id).toBe(sub.id);
    res = await s.api(`/extension/175/event/${sub.id}/`, { method: 'PUT', json: { method: 'POST' } });
    expect(res.status).toBe(200);
    res = await s.api(`/extension/175/event/${sub.id}/secret/rotate`, { method: 'POST' });
    expect(res.status).toBe(200);
    res = await s.api(`/extension/175/event/${sub.id}/delivery`);
    expect(res.status).toBe(200);
    res = await s.api('/client/@me/limit');
    expect(res.status).toBe(200);
    res = await s.api(`/extension/175/event/${sub.id}/`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    res = await s.api('/extension/175/event', { method: 'DELETE' });
    expect(res.status).toBe(204);
    // The query string survives the mending.
    res = await s.api(`/extension/175/event/1/delivery?per_page=1000`);
    expect(res.status).toBe(400);
  });

  test('@me is the application’s own extension (175)', async () => {
    const sub = await create('@me', { event_type: 'voicemail' });
    expect(sub.extension_id).toBe(175);
    expect((await list(175)).map((x) => x.id)).toContain(sub.id);
    expect((await list('@me')).map((x) => x.id)).toContain(sub.id);
    const res = await s.api(`/extension/@me/event/${sub.id}`);
    expect(res.status).toBe(200);
    // URL-encoded @ is the same path.
    const enc = await s.api(`/extension/%40me/event/${sub.id}`);
    expect(enc.status).toBe(200);
  });
});

describe('limits', () => {
  test('GET /client/@me/limit/ reports the limits and what is used', async () => {
    await s.api('/extension/175/event/', { method: 'DELETE' });
    await s.api('/extension/200/event/', { method: 'DELETE' });
    await create(175);
    await create(175, { event_type: 'answer' });
    await create(200);
    const res = await s.api('/client/@me/limit/');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Limits;
    expect(body.subscriptions.client_limit).toBe(100);
    expect(body.subscriptions.extension_limit).toBe(20);
    expect(body.subscriptions.client_used).toBe(3);
    const ext = new Map(body.subscriptions.extensions.map((e) => [e.extension_id, e]));
    expect([...ext.keys()].sort()).toEqual([175, 200, 201, 202, 203, 300, 400, 500]);
    expect(ext.get(175)).toEqual({ extension_id: 175, used: 2, available: 18 });
    expect(ext.get(200)).toEqual({ extension_id: 200, used: 1, available: 19 });
    expect(ext.get(300)).toEqual({ extension_id: 300, used: 0, available: 20 });
    // By the numeric id too.
    const byId = await s.api(`/client/${body.client_id}/limit/`);
    expect(byId.status).toBe(200);
    expect(((await byId.json()) as Limits).client_id).toBe(body.client_id);
    // Another client's id is not found.
    expect((await s.api(`/client/${body.client_id + 1}/limit/`)).status).toBe(404);
    expect((await s.api('/client/abc/limit/')).status).toBe(400);
  });
});

describe('secret rotation', () => {
  test('rotate returns a new secret and when the previous one stops; grace is validated', async () => {
    const sub = await create();
    const before = Date.now();
    let res = await s.api(`/extension/175/event/${sub.id}/secret/rotate/`, { method: 'POST' });
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as SecretRotated;
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(sub.secret);
    const grace = Date.parse(rotated.previous_expires_at) - before;
    expect(grace).toBeGreaterThan(86_400_000 - 5000);
    expect(grace).toBeLessThan(86_400_000 + 5000);

    res = await s.api(`/extension/175/event/${sub.id}/secret/rotate/`, {
      method: 'POST',
      json: { grace_seconds: 0 },
    });
    expect(res.status).toBe(200);
    const now = (await res.json()) as SecretRotated;
    expect(Math.abs(Date.parse(now.previous_expires_at) - Date.now())).toBeLessThan(5000);
    // The store holds the newest secret and the one before it.
    const stored = await s.store.subscriptions.get(175, sub.id);
    expect(stored?.secret).toBe(now.secret);
    expect(stored?.previousSecret).toBe(rotated.secret);

    res = await s.api(`/extension/175/event/${sub.id}/secret/rotate/`, {
      method: 'POST',
      json: { grace_seconds: 604801 },
    });
    expect(res.status).toBe(400);
    expect((await errorBody(res)).errors?.[0]).toMatchObject({ field: 'grace_seconds', rule: 'maximum' });
    res = await s.api(`/extension/175/event/99999/secret/rotate/`, { method: 'POST' });
    expect(res.status).toBe(404);
  });
});

describe('deliveries', () => {
  test('on a subscription with none: empty page; unknown delivery is 404; recover finds nothing', async () => {
    const sub = await create();
    let res = await s.api(`/extension/175/event/${sub.id}/delivery/`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ items: [], page: 1, per_page: 50, total: 0 });
    res = await s.api(`/extension/175/event/${sub.id}/delivery/?status=failed&page=2&per_page=10`);
    expect(await res.json()).toEqual({ items: [], page: 2, per_page: 10, total: 0 });
    res = await s.api(`/extension/175/event/${sub.id}/delivery/msg_nothere`);
    expect(res.status).toBe(404);
    res = await s.api(`/extension/175/event/${sub.id}/delivery/msg_nothere/retry/`, { method: 'POST' });
    expect(res.status).toBe(404);
    res = await s.api(`/extension/175/event/${sub.id}/delivery/recover/`, {
      method: 'POST',
      json: { since: '2020-01-01T00:00:00Z' },
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ recovered: 0 });
    // Bad inputs name their field.
    res = await s.api(`/extension/175/event/${sub.id}/delivery/?status=lost`);
    expect(res.status).toBe(400);
    expect((await errorBody(res)).errors?.[0]).toMatchObject({
      field: 'status',
      location: 'query',
      rule: 'enum',
    });
    res = await s.api(`/extension/175/event/${sub.id}/delivery/?since=yesterday`);
    expect(res.status).toBe(400);
    expect((await errorBody(res)).errors?.[0]).toMatchObject({ field: 'since', rule: 'format' });
    res = await s.api(`/extension/175/event/${sub.id}/delivery/recover/`, { method: 'POST', json: {} });
    expect(res.status).toBe(400);
    expect((await errorBody(res)).errors?.[0]).toMatchObject({ field: 'since', rule: 'required' });
    res = await s.api(`/extension/175/event/${sub.id}/delivery/bad-id`);
    expect(res.status).toBe(400);
    expect((await errorBody(res)).errors?.[0]).toMatchObject({
      field: 'delivery_id',
      location: 'path',
      rule: 'pattern',
    });
    // An unknown subscription's log is not found.
    expect((await s.api('/extension/175/event/99999/delivery/')).status).toBe(404);
  });

  test('after an intake: the delivery is listed, readable, retried and recovered', async () => {
    await s.api('/extension/175/event/', { method: 'DELETE' });
    // A target nobody listens on: every attempt fails fast with a connection error.
    const sub = await create(175, {
      url: 'http://127.0.0.1:9/hook?x=1',
      method: 'POST',
      event_type: 'dial-out',
    });
    const res = await fetch(`${s.apiUrl}/pbx/event/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-pbx-key': s.pbxKey },
      body: JSON.stringify({
        event_type: 'dial-out',
        extension_id: 175,
        data: {
          EventType: 'dial-out',
          CallID: '31845fca85624b7a94cf7b4036fd6d52',
          EventTime: 1499349840250190,
          CallStatus: 'CALLING',
          CallFlow: 'out',
          CalledNumber: '00010005',
        },
      }),
    });
    expect(res.status).toBe(202);
    const intake = (await res.json()) as { event_id: number; deliveries: number };
    expect(intake.deliveries).toBe(1);

    const page = (await (await s.api(`/extension/175/event/${sub.id}/delivery/`)).json()) as DeliveryPage;
    expect(page.total).toBe(1);
    const d = page.items[0]!;
    expect(d).toMatchObject({
      subscription_id: sub.id,
      event_type: 'dial-out',
      call_id: '31845fca85624b7a94cf7b4036fd6d52',
    });
    expect(d.id).toMatch(/^msg_/);

    const detail = await s.api(`/extension/175/event/${sub.id}/delivery/${d.id}`);
    expect(detail.status).toBe(200);
    const dd = (await detail.json()) as DeliveryDetail;
    expect(dd.id).toBe(d.id);
    expect(dd.payload).toContain('CalledNumber=00010005');
    expect(Array.isArray(dd.attempt_log)).toBe(true);

    const retry = await s.api(`/extension/175/event/${sub.id}/delivery/${d.id}/retry/`, { method: 'POST' });
    expect(retry.status).toBe(202);
    expect(((await retry.json()) as { id: string }).id).toBe(d.id);

    const recover = await s.api(`/extension/175/event/${sub.id}/delivery/recover/`, {
      method: 'POST',
      json: { since: new Date(Date.now() - 60_000).toISOString() },
    });
    expect(recover.status).toBe(202);
    expect(typeof ((await recover.json()) as { recovered: number }).recovered).toBe('number');

    // The same delivery through a different subscription of the tenant is not found.
    const other = await create(175, { event_type: 'answer' });
    expect((await s.api(`/extension/175/event/${other.id}/delivery/${d.id}`)).status).toBe(404);
  });
});

describe('calls and the simulator when no PBX is connected', () => {
  test('callback answers 503 with Retry-After; simulate answers 404', async () => {
    let res = await s.api('/extension/200/callback/', {
      method: 'POST',
      json: { dst_num: '+79817654321', src_num: ['200'] },
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await errorBody(res)).message).toMatch(/PBX/);
    res = await s.api('/pbx/simulate/', {
      method: 'POST',
      json: { scenario: 'outgoing', extension_id: 175, number: '00010005' },
    });
    expect(res.status).toBe(404);
    expect((await errorBody(res)).message).toMatch(/simulator/i);
    // Validation still comes first.
    res = await s.api('/extension/200/callback/', { method: 'POST', json: { dst_num: '+7' } });
    expect(res.status).toBe(400);
    expect((await errorBody(res)).errors?.[0]).toMatchObject({ field: 'src_num', rule: 'required' });
    // An extension that is not the client's is 404 before 503.
    res = await s.api('/extension/999/callback/', {
      method: 'POST',
      json: { dst_num: '+7', src_num: ['200'] },
    });
    expect(res.status).toBe(404);
  });
});
