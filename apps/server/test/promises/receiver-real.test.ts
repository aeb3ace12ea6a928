import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { type EventType, eventTypes } from '@callhook/contract';
import { type AnyWebhookDelivery, nodeHandler, WebhookReceiver } from '@callhook/receiver';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { until, withStore } from '../direct.js';
import { startTestServer, type TestServer } from '../harness.js';

// Servers and processes start slowly on a loaded 2-core machine: generous limits, same checks.
vi.setConfig({ hookTimeout: 90_000, testTimeout: 90_000 });

/**
 * README: "`@callhook/receiver` verifies, parses and validates these requests". Here nothing is
 * encoded by hand: the real server's simulator makes calls and messages of every event type, the
 * real delivery engine sends them by GET (into the subscription URL's own query) and by POST, and
 * the real `@callhook/receiver` (its Node adapter, strict validation, each subscription's own
 * secret) takes them. What it hands to its handlers must be exactly the event the server stored.
 */
let s: TestServer;
let http: Server;
let base: string;
const got: Array<{ path: string; delivery: AnyWebhookDelivery }> = [];
const receivers = new Map<string, ReturnType<typeof nodeHandler>>();

beforeAll(async () => {
  s = await startTestServer({ config: { simulator: true, deliveryPollMs: 20 } });
  http = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    const handler = receivers.get(path);
    if (!handler) {
      res.writeHead(404).end();
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  for (const type of eventTypes) {
    for (const method of ['GET', 'POST'] as const) {
      const path = `/${method.toLowerCase()}/${type}`;
      const url = method === 'GET' ? `${base}${path}?myid=175` : `${base}${path}`;
      const sub = await s.subscribe(url, type, method);
      const receiver = new WebhookReceiver({ secret: sub.secret, strict: true, ownParams: ['myid'] });
      receiver.onAny((delivery) => {
        got.push({ path, delivery });
      });
      receivers.set(path, nodeHandler(receiver, { onError: () => {} }));
    }
  }
});
afterAll(async () => {
  await s?.stop();
  await new Promise((r) => http?.close(r));
});

async function simulate(json: Record<string, unknown>) {
  const res = await s.api('/pbx/simulate/', { method: 'POST', json: { speed: 1000, ...json } });
  expect(res.status, await res.clone().text()).toBe(202);
}

describe('the real server to the real @callhook/receiver', () => {
  test('every event type, by GET and by POST, verified and validated, equal to the event stored', async () => {
    await simulate({ scenario: 'outgoing', extension_id: 175, number: '00010005' });
    await simulate({ scenario: 'incoming', extension_id: 175, number: '+79110000001' });
    await simulate({ scenario: 'voicemail', extension_id: 175, number: '+79110000002', outcome: 'NOANSWER' });
    await simulate({
      scenario: 'message-in',
      extension_id: 175,
      number: '+79110000003',
      text: 'Привет & hello=1',
    });
    await simulate({ scenario: 'message-out', extension_id: 175, number: '+79110000004', text: 'a+b c%d' });

    // Every event of the five calls is in the intake (the calls play at speed 1000, a few ms).
    await s.context.pbx?.idle();
    const stored = await until(
      () =>
        withStore(s, (db) =>
          db.selectFrom('events').select(['id', 'event_type', 'data']).orderBy('id').execute(),
        ),
      (rows) => new Set(rows.map((r) => r.event_type)).size === eventTypes.length,
      15_000,
    );
    // Each stored event reaches both receivers of its type.
    await until(
      async () => got.length,
      (n) => n === stored.length * 2,
      15_000,
    );
    const seen = new Set<string>();
    for (const row of stored) {
      const data = JSON.parse(row.data) as Record<string, unknown>;
      for (const method of ['GET', 'POST'] as const) {
        const path = `/${method.toLowerCase()}/${row.event_type}`;
        const matches = got.filter(
          (g) => g.path === path && isDeepStrictEqual({ ...g.delivery.event }, data),
        );
        expect(matches, `${method} ${row.event_type} ${row.data}`).toHaveLength(1);
        const d = matches[0]!.delivery;
        expect(d.method).toBe(method);
        expect(d.id).toMatch(/^msg_/);
        expect(Math.abs(d.timestamp! - Date.now() / 1000)).toBeLessThan(60);
        expect(d.extra).toEqual({});
        expect(d.params).toEqual(method === 'GET' ? { myid: '175' } : {});
        seen.add(`${method} ${row.event_type}`);
      }
    }
    expect([...seen].sort()).toEqual(eventTypes.flatMap((t: EventType) => [`GET ${t}`, `POST ${t}`]).sort());
    // The server recorded every delivery as accepted by the receiver (it writes attempts' results
    // in batches, a moment after the receiver answered).
    const statuses = await until(
      () =>
        withStore(s, (db) => db.selectFrom('deliveries').select(['status', 'last_status_code']).execute()),
      (rows) => rows.every((r) => r.status !== 'pending'),
      15_000,
    );
    expect(statuses.length).toBe(stored.length * 2);
    for (const st of statuses) expect(st).toMatchObject({ status: 'succeeded' });
  });
});
