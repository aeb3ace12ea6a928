import type { IntakeEvent } from '@callhook/contract';
import { afterEach, describe, expect, test } from 'vitest';
import { freePort } from '../children.js';
import { callEvents } from '../events.js';
import { startTestServer, type TestServer } from '../harness.js';
import { type Receiver, startReceiver } from '../receivers.js';

// A receiving host that stops answering is held: after a few unreachable attempts in a row none
// of its deliveries is attempted but one probe per wait, other hosts go on, and when it answers
// again everything it missed arrives, each once and in each call's order.

const CALLS = 40;
const TYPES = ['dial-out', 'answer', 'hangup'] as const;

function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}
const metric = async (s: TestServer, name: string, labels = '') =>
  sample(await (await fetch(`${s.url}/metrics`)).text(), name, labels);
const unreachable = async (s: TestServer) =>
  (await metric(s, 'callhook_delivery_attempts_total', 'outcome="connection_error"')) +
  (await metric(s, 'callhook_delivery_attempts_total', 'outcome="timeout"'));

async function until(what: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error(`not so after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const open: Array<{ close(): Promise<void> } | TestServer> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await ('token' in x ? x.stop() : x.close());
});

/** A server whose retries come every 0.2 s, a dead host subscribed for every call event, and a healthy one for hangups. */
async function setUp(breakerFailures: number) {
  const s = await startTestServer({
    config: {
      retrySchedule: Array(50).fill(0.2),
      retryJitter: 0,
      deliveryPollMs: 20,
      breakerFailures,
      breakerMaxSeconds: 0.5,
      // Few claimed at a time, so that most of the dead host's calls wait in the store, due, and
      // are pushed past the probes while it is held.
      deliveryPerHostConcurrency: 2,
      deliveryBatchSize: 8,
    },
  });
  open.push(s);
  const deadPort = await freePort();
  const dead: number[] = [];
  for (const type of TYPES) dead.push((await s.subscribe(`http://127.0.0.1:${deadPort}/hook`, type)).id);
  const healthy = await startReceiver();
  open.push(healthy);
  await s.subscribe(`${healthy.url}/other`, 'hangup');
  const events: IntakeEvent[] = [];
  for (let i = 0; i < CALLS; i++) events.push(...callEvents(175, 3, 'held-'));
  await s.ingest(events);
  return { s, deadPort, dead, healthy, events };
}

describe('a receiving host that stops answering is held and probed', () => {
  test('held after 5 unreachable attempts: one probe per wait, others unaffected, all delivered once and in order when it answers', {
    timeout: 60_000,
  }, async () => {
    const { s, deadPort, dead, healthy, events } = await setUp(5);
    // The healthy host gets its 40 hangups while the dead one fails.
    await healthy.waitFor(CALLS, 10_000);
    await until(async () => (await metric(s, 'callhook_delivery_hosts_held')) === 1);
    // Held: over 2 s, only probes (one per 0.5 s wait) reach the dead host. Without holding, each
    // of the 40 calls' first delivery is attempted every 0.2 s (the next test: ≥ 40).
    const a1 = await unreachable(s);
    await new Promise((r) => setTimeout(r, 2000));
    const a2 = await unreachable(s);
    expect(a2 - a1).toBeLessThanOrEqual(6);
    expect(a2 - a1).toBeGreaterThanOrEqual(1); // it is probed, not forgotten
    expect(a2).toBeLessThan(CALLS);
    // Every subscription of the held host is failing (toward being disabled), though the probes
    // may all have been one subscription's deliveries.
    for (const id of dead)
      expect((await s.store.subscriptions.get(175, id))?.failingSince).toEqual(expect.any(Number));

    // Still held, a new call's deliveries wait too, and the healthy host still gets its own.
    const late = callEvents(175, 3, 'held-');
    await s.ingest(late);
    await healthy.waitFor(CALLS + 1, 5000);

    // It answers again: within a wait or two every delivery arrives, each once, each call in order;
    // the backlog pushed past the probes (10 s ahead here: 20 longest waits) is brought back at
    // once, so this takes far less than that.
    const back: Receiver = await startReceiver(undefined, deadPort);
    open.push(back);
    const total = events.length + late.length;
    const got = await back.waitFor(total, 5000);
    await new Promise((r) => setTimeout(r, 300));
    expect(back.received).toHaveLength(total);
    const ids = got.map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(total);
    const seen = new Map<string, number[]>();
    for (const r of back.received) {
      const body = new URLSearchParams(r.body);
      const call = body.get('CallID')!;
      seen.set(call, [...(seen.get(call) ?? []), Number(body.get('Tag')!.slice('held-'.length))]);
    }
    expect(seen.size).toBe(CALLS + 1);
    for (const tags of seen.values()) expect(tags).toEqual([0, 1, 2]);
    await until(async () => (await metric(s, 'callhook_delivery_hosts_held')) === 0);
    // Delivered: none of them is failing any more.
    await until(async () => {
      for (const id of dead)
        if ((await s.store.subscriptions.get(175, id))?.failingSince !== null) return false;
      return true;
    });
  });

  test('a held host with nothing left to send (its subscriptions deleted) is forgotten after a longest wait', {
    timeout: 60_000,
  }, async () => {
    const { s, dead, healthy } = await setUp(5);
    await healthy.waitFor(CALLS, 10_000);
    await until(async () => (await metric(s, 'callhook_delivery_hosts_held')) === 1);
    for (const id of dead)
      expect((await s.api(`/extension/175/event/${id}`, { method: 'DELETE' })).status).toBe(204);
    await until(async () => (await metric(s, 'callhook_delivery_hosts_held')) === 0, 5000);
  });

  test('CALLHOOK_BREAKER_FAILURES=0: never held, every call is attempted again and again', {
    timeout: 60_000,
  }, async () => {
    const { s, healthy } = await setUp(0);
    await healthy.waitFor(CALLS, 10_000);
    await new Promise((r) => setTimeout(r, 1000));
    const a1 = await unreachable(s);
    await new Promise((r) => setTimeout(r, 2000));
    const a2 = await unreachable(s);
    expect(a2 - a1).toBeGreaterThanOrEqual(CALLS);
    expect(await metric(s, 'callhook_delivery_hosts_held')).toBe(0);
  });
});
