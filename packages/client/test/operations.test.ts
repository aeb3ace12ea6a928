import { eventTypes } from '@callhook/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallhookApiError, type CallhookClient } from '../src/index.js';
import {
  demoClient,
  eventually,
  hangupEvent,
  startTarget,
  startTestServer,
  type TestServer,
} from './support.js';

// Every operation of the spec, through the library, against the real server.
describe('operations', () => {
  let server: TestServer;
  let client: CallhookClient;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let failing = true;

  beforeAll(async () => {
    // No retries: a refused delivery fails at once, which is what the replay tests need.
    server = await startTestServer({ config: { retrySchedule: [], deliveryPollMs: 20 } });
    client = demoClient(server, { pbxKey: server.pbxKey });
    target = await startTarget(() => (failing ? 500 : 204));
  });
  afterAll(async () => {
    await target?.close();
    await server?.stop();
  });

  it('health answers without credentials', async () => {
    const health = await client.health();
    expect(health).toMatchObject({ status: 'ok', store: 'ok' });
  });

  it('creates, lists, gets, updates and deletes subscriptions the way the page shows', async () => {
    const created = await client.subscriptions.create(175, {
      url: target.url,
      event_type: 'dial-out',
      method: 'GET',
    });
    expect(created).toMatchObject({ url: target.url, event_type: 'dial-out', method: 'GET', enabled: true });
    expect(created.secret).toMatch(/^whsec_/);

    const list = await client.subscriptions.list(175);
    expect(list.map((s) => s.id)).toContain(created.id);
    expect(list.find((s) => s.id === created.id)).not.toHaveProperty('secret');

    expect(await client.subscriptions.get('175', created.id)).toMatchObject({
      id: created.id,
      event_type: 'dial-out',
    });

    const updated = await client.subscriptions.update(175, created.id, {
      event_type: 'answer',
      method: 'POST',
    });
    expect(updated).toMatchObject({ id: created.id, event_type: 'answer', method: 'POST', url: target.url });

    await client.subscriptions.delete(175, created.id);
    const gone = await client.subscriptions.get(175, created.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(CallhookApiError);
    expect((gone as CallhookApiError).status).toBe(404);
  });

  it('clears every subscription of an extension', async () => {
    for (const event_type of eventTypes.slice(0, 3)) {
      await client.subscriptions.create(200, { url: target.url, event_type, method: 'POST' });
    }
    expect(await client.subscriptions.list(200)).toHaveLength(3);
    await client.subscriptions.clear(200);
    expect(await client.subscriptions.list(200)).toEqual([]);
  });

  it('rotates a secret, with and without a grace period', async () => {
    const sub = await client.subscriptions.create(175, {
      url: target.url,
      event_type: 'voicemail',
      method: 'POST',
    });
    const rotated = await client.subscriptions.rotateSecret(175, sub.id);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(sub.secret);
    // Default grace is a day.
    expect(Date.parse(rotated.previous_expires_at) - Date.now()).toBeGreaterThan(23 * 3600_000);
    const again = await client.subscriptions.rotateSecret(175, sub.id, { grace_seconds: 0 });
    expect(Date.parse(again.previous_expires_at)).toBeLessThanOrEqual(Date.now() + 1000);
    await client.subscriptions.delete(175, sub.id);
  });

  it('reads the limits of the client (@me) and its extensions', async () => {
    const sub = await client.subscriptions.create(175, {
      url: target.url,
      event_type: 'hangup',
      method: 'POST',
    });
    const limits = await client.limits();
    const ext = limits.subscriptions.extensions.find((e) => e.extension_id === 175);
    expect(ext?.used).toBeGreaterThanOrEqual(1);
    expect(limits.subscriptions.client_used).toBeGreaterThanOrEqual(ext!.used);
    expect(await client.limits(limits.client_id)).toEqual(limits);
    await client.subscriptions.delete(175, sub.id);
  });

  it('logs deliveries, retries one and recovers the failed ones', async () => {
    const since = new Date(Date.now() - 1000).toISOString();
    const sub = await client.subscriptions.create(175, {
      url: target.url,
      event_type: 'hangup',
      method: 'POST',
    });
    const accepted = await client.pbx.ingestBatch([hangupEvent('a'.repeat(32)), hangupEvent('b'.repeat(32))]);
    expect(accepted).toEqual({ accepted: 2, deliveries: 2, repeats: 0 });

    const failed = await eventually(async () => {
      const page = await client.deliveries.list(175, sub.id, { status: 'failed' });
      return page.total === 2 ? page : undefined;
    });
    expect(failed.items.every((d) => d.subscription_id === sub.id && d.event_type === 'hangup')).toBe(true);
    const [first, second] = failed.items;

    const detail = await client.deliveries.get(175, sub.id, first!.id);
    expect(detail.attempt_log[0]).toMatchObject({ outcome: 'http_error', status_code: 500 });
    expect(detail.payload).toContain('EventType=hangup');

    failing = false;
    const queued = await client.deliveries.retry(175, sub.id, first!.id);
    expect(queued.id).toBe(first!.id);
    await eventually(async () =>
      (await client.deliveries.get(175, sub.id, first!.id)).status === 'succeeded' ? true : undefined,
    );

    // Only the one still failed comes back.
    expect(await client.deliveries.recover(175, sub.id, { since })).toEqual({ recovered: 1 });
    await eventually(async () =>
      (await client.deliveries.get(175, sub.id, second!.id)).status === 'succeeded' ? true : undefined,
    );
    const page = await client.deliveries.list(175, sub.id, { per_page: 1, page: 2 });
    expect(page).toMatchObject({ page: 2, per_page: 1, total: 2 });
    expect(page.items).toHaveLength(1);
    await client.subscriptions.delete(175, sub.id);
  });

  it('ingests one event from the PBX side with the PBX key', async () => {
    const result = await client.pbx.ingest(hangupEvent('c'.repeat(32)));
    expect(result.event_id).toBeGreaterThan(0);
    expect(result.deliveries).toBe(0);
  });

  it('starts a callback call', async () => {
    const result = await client.callback(200, { dst_num: '+79817654321', src_num: ['200'] });
    expect(result.call_id).toMatch(/^[0-9a-f]{32}$/);
    expect(result.call_api_id).toContain('-');
  });

  it('simulates a call on the demo PBX, and its events arrive', async () => {
    const sub = await client.subscriptions.create(175, {
      url: target.url,
      event_type: 'hangup',
      method: 'POST',
    });
    const before = target.received.length;
    const result = await client.simulate({
      scenario: 'outgoing',
      extension_id: 175,
      number: '00010005',
      speed: 100,
    });
    expect(result.events).toBeGreaterThanOrEqual(3);
    const hangup = await eventually(async () =>
      target.received.slice(before).find((r) => r.body.includes(`CallID=${result.call_id}`)),
    );
    expect(hangup.body).toContain('EventType=hangup');
    await client.subscriptions.delete(175, sub.id);
  });

  it('exposes the typed openapi-fetch methods over the same paths', async () => {
    const { data, error, response } = await client.GET('/extension/{extension_id}/event/', {
      params: { path: { extension_id: '@me' } },
    });
    expect(error).toBeUndefined();
    expect(response.status).toBe(200);
    expect(Array.isArray(data)).toBe(true);
    // Root-level operations go to the host root, not under /api/ver1.0.
    const health = await client.GET('/healthz');
    expect(health.response.url).toBe(`${server.url}/healthz`);
    expect(health.data?.status).toBe('ok');
  });
});
