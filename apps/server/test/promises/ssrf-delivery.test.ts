import type { LookupAddress } from 'node:dns';
import type { Delivery, DeliveryDetail, DeliveryPage } from '@callhook/contract';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { createTenant, type Tenant } from '../api/helpers.js';
import { until, withStore } from '../direct.js';
import { pageCall } from '../events.js';
import { startTestServer, type TestServer } from '../harness.js';
import { type Receiver, startReceiver } from '../receivers.js';

// Servers and processes start slowly on a loaded 2-core machine: generous limits, same checks.
vi.setConfig({ hookTimeout: 90_000, testTimeout: 90_000 });

/**
 * README: "Targets must be global addresses, checked at creation and again at every delivery on
 * the very address connected to." Outside demo mode, a real loopback listener stands where an
 * attacker's internal service would: a name that resolved to a public address when the
 * subscription was made and to loopback when the delivery goes (DNS rebinding), the same through
 * an IPv4-mapped IPv6 address, and rows made unsafe after creation, each end `refused_target`
 * and the listener gets nothing.
 */
const PUBLIC = '93.184.216.34';
/** Names this test's resolver knows: the first answer (creation) is public, later ones are `later`. */
const names: Record<string, { later: LookupAddress; asked: number }> = {
  'rebind-v4.example': { later: { address: '127.0.0.1', family: 4 }, asked: 0 },
  'rebind-mapped.example': { later: { address: '::ffff:127.0.0.1', family: 6 }, asked: 0 },
};
async function resolve(hostname: string): Promise<LookupAddress[]> {
  const n = names[hostname];
  if (!n) throw Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  n.asked++;
  return n.asked === 1 ? [{ address: PUBLIC, family: 4 }] : [n.later];
}

let s: TestServer;
let t: Tenant;
let internal: Receiver;
beforeAll(async () => {
  internal = await startReceiver();
  s = await startTestServer({
    demo: false,
    resolve,
    config: { retrySchedule: [0.05], retryJitter: 0, deliveryPollMs: 20 },
  });
  t = await createTenant(s.store, 'Acme', { url: s.url, extensionId: 175 });
});
afterAll(async () => {
  await s?.stop();
  await internal?.close();
});

async function subscribe(url: string): Promise<number> {
  const res = await s.api('/extension/175/event/', {
    method: 'POST',
    token: t.token,
    json: { url, method: 'POST', event_type: 'hangup' },
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return ((await res.json()) as { id: number }).id;
}

async function deliveries(sub: number): Promise<Delivery[]> {
  const res = await s.api(`/extension/175/event/${sub}/delivery/`, { token: t.token });
  expect(res.status).toBe(200);
  return ((await res.json()) as DeliveryPage).items;
}

/** Ingests the page's hangup and waits until the subscription's delivery has used its attempts. */
async function deliverOnce(sub: number): Promise<DeliveryDetail> {
  await s.ingest([{ event_type: 'hangup', extension_id: 175, data: pageCall.hangup }]);
  const [d] = await until(
    () => deliveries(sub),
    (l) => l[0]?.status === 'failed' || l[0]?.status === 'succeeded',
  );
  const res = await s.api(`/extension/175/event/${sub}/delivery/${d!.id}`, { token: t.token });
  return (await res.json()) as DeliveryDetail;
}

/** Every attempt was refused for the loopback address, before anything was sent. */
function refusedEveryTime(d: DeliveryDetail) {
  expect(d.attempt_log.length).toBe(d.attempts);
  for (const a of d.attempt_log) {
    expect(a.outcome).toBe('refused_target');
    expect(a.status_code ?? null).toBeNull();
    expect(a.error).toMatch(/loopback/);
  }
}

async function unsubscribe(sub: number) {
  await s.api(`/extension/175/event/${sub}`, { method: 'DELETE', token: t.token });
}

describe('SSRF at delivery time', () => {
  test('DNS rebinding: public at creation, 127.0.0.1 at delivery → refused_target, nothing received', async () => {
    const port = new URL(internal.url).port;
    const sub = await subscribe(`http://rebind-v4.example:${port}/hook`);
    expect(names['rebind-v4.example']!.asked).toBe(1);
    const d = await deliverOnce(sub);
    expect(d).toMatchObject({ status: 'failed', attempts: 2, last_outcome: 'refused_target' });
    refusedEveryTime(d);
    expect(names['rebind-v4.example']!.asked).toBeGreaterThanOrEqual(3);
    expect(internal.received).toHaveLength(0);
    await unsubscribe(sub);
  });

  test('DNS rebinding to ::ffff:127.0.0.1 (IPv4-mapped IPv6) → refused_target, nothing received', async () => {
    const port = new URL(internal.url).port;
    const sub = await subscribe(`http://rebind-mapped.example:${port}/hook`);
    const d = await deliverOnce(sub);
    expect(d).toMatchObject({ status: 'failed', last_outcome: 'refused_target' });
    refusedEveryTime(d);
    expect(internal.received).toHaveLength(0);
    await unsubscribe(sub);
  });

  for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]']) {
    test(`a row changed to ${host} after creation (store written directly) → refused_target, nothing received`, async () => {
      const port = new URL(internal.url).port;
      const sub = await subscribe(`http://${PUBLIC}:${port}/hook`);
      await withStore(s, (db) =>
        db
          .updateTable('subscriptions')
          .set({ url: `http://${host}:${port}/hook` })
          .where('id', '=', sub)
          .execute(),
      );
      const d = await deliverOnce(sub);
      expect(d).toMatchObject({ status: 'failed', attempts: 2, last_outcome: 'refused_target' });
      refusedEveryTime(d);
      expect(internal.received).toHaveLength(0);
      await unsubscribe(sub);
    });
  }

  test('the same listener does receive when the operator allows loopback (the test can see a delivery)', async () => {
    const allowing = await startTestServer({
      demo: false,
      resolve,
      config: { allowTargets: ['127.0.0.0/8'], retrySchedule: [], deliveryPollMs: 20 },
    });
    internal.received.length = 0;
    try {
      const tenant = await createTenant(allowing.store, 'Acme', { url: allowing.url, extensionId: 175 });
      const res = await allowing.api('/extension/175/event/', {
        method: 'POST',
        token: tenant.token,
        json: { url: `${internal.url}/allowed`, method: 'POST', event_type: 'hangup' },
      });
      expect(res.status).toBe(200);
      await allowing.ingest([{ event_type: 'hangup', extension_id: 175, data: pageCall.hangup }]);
      const got = await internal.waitFor(1);
      expect(got[0]!.url).toBe('/allowed');
    } finally {
      internal.received.length = 0;
      await allowing.stop();
    }
  });
});
