import type { IntakeEvent } from '@callhook/contract';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { callEvents } from '../events.js';
import { startTestServer, type TestServer } from '../harness.js';
import { type Receiver, startReceiver } from '../receivers.js';

/**
 * Idempotent intake: an event with a key (a switch's event id, redelivered by its broker) is
 * stored and delivered once, however often and however concurrently it comes. Runs on SQLite, and
 * on PostgreSQL in the suite's PostgreSQL pass, where two transactions can race for one key.
 */
let s: TestServer;
let rx: Receiver;
beforeAll(async () => {
  s = await startTestServer();
  rx = await startReceiver();
  for (const type of ['dial-out', 'answer', 'hangup']) await s.subscribe(`${rx.url}/keys`, type, 'POST');
});
afterAll(async () => {
  await rx.close();
  await s.stop();
});

const keyed = (events: IntakeEvent[], prefix: string): IntakeEvent[] =>
  events.map((e, i) => ({ ...e, key: `${prefix}:${i}` }));

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${s.apiUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-pbx-key': s.pbxKey },
    body: JSON.stringify(body),
  });
}

/** Waits until no request arrived for a while, then gives what arrived with `tag`. */
async function settled(tagPrefix: string, expected: number): Promise<string[]> {
  const mine = () => rx.received.filter((r) => new URLSearchParams(r.body).get('Tag')?.startsWith(tagPrefix));
  const until = Date.now() + 10_000;
  while (mine().length < expected && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  // Anything extra (a second webhook of one event) would come right behind.
  await new Promise((r) => setTimeout(r, 300));
  return mine().map((r) => new URLSearchParams(r.body).get('Tag')!);
}

describe('events with a key', () => {
  test('a repeat is accepted, answered with the first id, and makes no second webhook', async () => {
    const [event] = keyed(callEvents(175, 1, 'once-'), 'once');
    const first = await post('/pbx/event/', event);
    expect(first.status).toBe(202);
    const a = (await first.json()) as { event_id: number; deliveries: number; repeats: number };
    expect(a).toMatchObject({ deliveries: 1, repeats: 0 });

    const again = await post('/pbx/event/', event);
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ event_id: a.event_id, deliveries: 0, repeats: 1 });

    expect(await settled('once-', 1)).toEqual(['once-0']);
  });

  test('within one batch, and across batches: each key once, in the order first given', async () => {
    const events = keyed(callEvents(175, 3, 'batch-'), 'batch');
    const res = await post('/pbx/event/batch/', { events: [events[0], events[1], events[0], events[1]] });
    expect(await res.json()).toEqual({ accepted: 4, deliveries: 2, repeats: 2 });
    // A redelivery overlapping what came before, plus what is new.
    const more = await post('/pbx/event/batch/', { events });
    expect(await more.json()).toEqual({ accepted: 3, deliveries: 1, repeats: 2 });
    expect(await settled('batch-', 3)).toEqual(['batch-0', 'batch-1', 'batch-2']);
  });

  test('events without a key are never repeats', async () => {
    const [event] = callEvents(175, 1, 'plain-');
    for (let i = 0; i < 2; i++) {
      expect(await (await post('/pbx/event/', event)).json()).toMatchObject({ deliveries: 1, repeats: 0 });
    }
    expect(await settled('plain-', 2)).toEqual(['plain-0', 'plain-0']);
  });

  test('batches racing with the same keys in opposite orders: every key stored once, none lost', async () => {
    // 40 calls of 3 events; eight concurrent batches, half in reverse order, all overlapping.
    const events = keyed(
      Array.from({ length: 40 }, (_, c) => callEvents(175, 3, `race-${c}-`)).flat(),
      'race',
    );
    const batches = Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? events : [...events].reverse()));
    const results = (await Promise.all(
      batches.map(async (b) => (await post('/pbx/event/batch/', { events: b })).json()),
    )) as Array<{ accepted: number; deliveries: number; repeats: number }>;
    expect(results.reduce((n, r) => n + r.deliveries, 0)).toBe(events.length);
    expect(results.reduce((n, r) => n + r.repeats, 0)).toBe(events.length * 7);
    const tags = await settled('race-', events.length);
    expect(tags.length).toBe(events.length);
    expect(new Set(tags).size).toBe(events.length);
  });

  test('a key is text of 1 to 200 characters, or the request is refused naming it', async () => {
    const [event] = callEvents(175, 1, 'bad-');
    for (const key of ['', 'k'.repeat(201), 42]) {
      const res = await post('/pbx/event/', { ...event, key });
      expect(res.status).toBe(400);
      expect(JSON.stringify(await res.json())).toContain('key');
    }
  });
});
