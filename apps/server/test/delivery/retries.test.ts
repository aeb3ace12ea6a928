import type { Delivery, DeliveryDetail, DeliveryPage, Subscription } from '@callhook/contract';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { callEvents, intake, pageCall } from '../events.js';
import { startTestServer, type TestServer } from '../harness.js';
import { holdingReplies, type Receiver, type Reply, startReceiver } from '../receivers.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({
    config: {
      retrySchedule: [0.2, 0.2, 0.2],
      retryJitter: 0,
      deliveryTimeoutSeconds: 1,
      deliveryPollMs: 50,
    },
  });
});
afterAll(() => s.stop());

const receivers: Receiver[] = [];
async function receiver(...args: Parameters<typeof startReceiver>) {
  const rx = await startReceiver(...args);
  receivers.push(rx);
  return rx;
}
afterAll(async () => {
  for (const rx of receivers) await rx.close();
});

async function detail(subId: number, id: string): Promise<DeliveryDetail> {
  return (await (await s.api(`/extension/175/event/${subId}/delivery/${id}`)).json()) as DeliveryDetail;
}

/** Answers still being written when the test ends are stopped then. */
const endlessTimers = new Set<NodeJS.Timeout>();
afterAll(() => {
  for (const t of endlessTimers) clearInterval(t);
});

/** An answer that never ends: 200, then `chunk` at once and every `everyMs` until the sender hangs up. */
function endless(chunk: string, everyMs: number): Reply {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write(chunk);
    const timer = setInterval(() => res.write(chunk), everyMs);
    endlessTimers.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      endlessTimers.delete(timer);
    });
  };
}

async function log(subId: number, status?: string): Promise<Delivery[]> {
  const res = await s.api(`/extension/175/event/${subId}/delivery/${status ? `?status=${status}` : ''}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as DeliveryPage).items;
}

async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('retries', () => {
  test('a 500 is retried with the same webhook-id until a 2xx; every attempt is logged', async () => {
    let calls = 0;
    const rx = await receiver((_req, res) => {
      calls++;
      res.statusCode = calls <= 2 ? 500 : 204;
      res.end(calls <= 2 ? 'database is down' : undefined);
    });
    const sub = await s.subscribe(`${rx.url}/flaky`, 'hangup');
    await s.ingest([intake(175, pageCall.hangup)]);
    const got = await rx.waitFor(3);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const [d] = await until(
      () => log(sub.id),
      (l) => l[0]?.status === 'succeeded',
    );
    expect(d).toMatchObject({
      status: 'succeeded',
      attempts: 3,
      last_status_code: 204,
      last_outcome: 'success',
    });
    const { attempt_log, payload } = await detail(sub.id, d!.id);
    expect(attempt_log.map((a) => [a.outcome, a.status_code])).toEqual([
      ['http_error', 500],
      ['http_error', 500],
      ['success', 204],
    ]);
    expect(attempt_log[0]!.response_body).toBe('database is down');
    // Each retry waited its scheduled 0.2 s after the attempt before it.
    const times = attempt_log.map((a) => Date.parse(a.attempted_at));
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(200);
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(200);
    expect(payload).toContain('EventType=hangup');
  });

  test('an answer that floods is read only so far: the attempt ends with its status, the log keeps 4 KiB', async () => {
    // 16 KiB every 20 ms, without end: read to the end, the attempt would never finish.
    const rx = await receiver(endless('x'.repeat(16 * 1024), 20));
    const sub = await s.subscribe(`${rx.url}/flood`, 'hangup');
    await s.ingest([intake(175, pageCall.hangup)]);
    const [d] = await until(
      () => log(sub.id),
      (l) => l[0]?.status === 'succeeded',
    );
    const attempt = (await detail(sub.id, d!.id)).attempt_log[0]!;
    expect(attempt).toMatchObject({ outcome: 'success', status_code: 200 });
    expect(attempt.latency_ms).toBeLessThan(900);
    expect(attempt.response).toMatchObject({ status: 200, body_truncated: true });
    expect(attempt.response!.body).toBe('x'.repeat(4096));
    await s.api(`/extension/175/event/${sub.id}`, { method: 'DELETE' });
  });

  test('a redirect is not followed: the 302 is the answer, and where it points gets nothing', async () => {
    // Followed, a redirect would take a delivery to an address no check has seen (an internal one).
    const elsewhere = await receiver();
    const rx = await receiver((_req, res) => {
      res.writeHead(302, { location: `${elsewhere.url}/stolen` });
      res.end();
    });
    const sub = await s.subscribe(`${rx.url}/moved`, 'hangup');
    await s.ingest([intake(175, pageCall.hangup)]);
    const [d] = await until(
      () => log(sub.id),
      (l) => (l[0]?.attempts ?? 0) >= 2,
    );
    expect(d).toMatchObject({ last_status_code: 302, last_outcome: 'http_error' });
    expect(rx.received.length).toBeGreaterThanOrEqual(2);
    expect(elsewhere.received).toHaveLength(0);
    await s.api(`/extension/175/event/${sub.id}`, { method: 'DELETE' });
  });

  test('a receiver that answers and then trickles its body forever is cut off at the deadline', async () => {
    // A byte every 200 ms never lets undici's body timeout (the silence between chunks) fire:
    // only the whole attempt's deadline (1 s here) ends it.
    const rx = await receiver(endless('.', 200));
    const sub = await s.subscribe(`${rx.url}/trickle`, 'hangup');
    await s.ingest([intake(175, pageCall.hangup)]);
    const [first] = await until(
      () => log(sub.id),
      (l) => (l[0]?.attempts ?? 0) >= 1,
    );
    const attempt = (await detail(sub.id, first!.id)).attempt_log[0]!;
    expect(attempt.outcome).toBe('timeout');
    expect(attempt.latency_ms).toBeGreaterThanOrEqual(900);
    expect(attempt.latency_ms).toBeLessThan(5_000);
    await s.api(`/extension/175/event/${sub.id}`, { method: 'DELETE' });
  });

  test('timeouts and refused connections are failures; after the last attempt the delivery is failed, and replayable', async () => {
    const rx = await receiver(() => {
      /* never answers */
    });
    const sub = await s.subscribe(`${rx.url}/slow`, 'hangup');
    await s.ingest([intake(175, pageCall.hangup)]);
    const [d] = await until(
      () => log(sub.id),
      (l) => l[0]?.status === 'failed',
      15_000,
    );
    expect(d).toMatchObject({ attempts: 4, last_outcome: 'timeout' });

    // Replay: answer now, retry that one delivery.
    rx.reply = (_r, res) => void res.end('ok');
    const before = rx.received.length;
    const retry = await s.api(`/extension/175/event/${sub.id}/delivery/${d!.id}/retry/`, { method: 'POST' });
    expect(retry.status).toBe(202);
    const again = await rx.waitFor(before + 1);
    expect(again.at(-1)!.headers['webhook-id']).toBe(d!.id);
    await until(
      () => log(sub.id),
      (l) => l[0]?.status === 'succeeded',
    );

    // Connection refused: the receiver is gone.
    await rx.close();
    await s.ingest([intake(175, pageCall.hangup)]);
    const failed = await until(
      () => log(sub.id, 'failed'),
      (l) => l.length === 1,
      15_000,
    );
    expect(failed[0]!.last_outcome).toBe('connection_error');

    // Recover every failed delivery since a time.
    const rx2 = await receiver();
    await s.api(`/extension/175/event/${sub.id}`, { method: 'PUT', json: { url: `${rx2.url}/back` } });
    const rec = await s.api(`/extension/175/event/${sub.id}/delivery/recover/`, {
      method: 'POST',
      json: { since: new Date(Date.now() - 60_000).toISOString() },
    });
    expect(await rec.json()).toEqual({ recovered: 1 });
    const [back] = await rx2.waitFor(1);
    expect(back!.headers['webhook-id']).toBe(failed[0]!.id);
  });

  test('Retry-After on 429 is honoured instead of the schedule', async () => {
    const slow = await startTestServer({
      config: { retrySchedule: [30], retryJitter: 0, deliveryPollMs: 50 },
    });
    try {
      let calls = 0;
      const rx = await receiver((_req, res) => {
        calls++;
        res.statusCode = calls === 1 ? 429 : 200;
        if (calls === 1) res.setHeader('Retry-After', '1');
        res.end();
      });
      await slow.subscribe(`${rx.url}/busy`, 'hangup');
      await slow.ingest([intake(175, pageCall.hangup)]);
      const got = await rx.waitFor(2, 8_000);
      const gap = got[1]!.at - got[0]!.at;
      expect(gap).toBeGreaterThanOrEqual(900);
      expect(gap).toBeLessThan(5_000);
    } finally {
      await slow.stop();
    }
  });

  test('410 Gone disables the subscription at once; PUT enabled=true brings it back with what waited', async () => {
    const rx = await receiver((_req, res) => {
      res.statusCode = 410;
      res.end();
    });
    const since = new Date().toISOString();
    const sub = await s.subscribe(`${rx.url}/gone`, 'hangup');
    await s.ingest([intake(175, pageCall.hangup)]);
    await rx.waitFor(1);
    const disabled = await until(
      async () => (await (await s.api(`/extension/175/event/${sub.id}`)).json()) as Subscription,
      (v) => v.enabled === false,
    );
    expect(disabled.disabled_reason).toContain('410');
    const [d] = await log(sub.id);
    expect(d).toMatchObject({ status: 'failed', attempts: 1, last_status_code: 410 });

    // While disabled nothing is sent: the event is logged as a failed delivery, never attempted.
    await s.ingest([intake(175, { ...pageCall.hangup, CallID: 'aaaa5fca85624b7a94cf7b4036fd6d52' })]);
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.received).toHaveLength(1);
    const skipped = await log(sub.id, 'failed');
    expect(skipped.map((x) => x.attempts).sort()).toEqual([0, 1]);

    rx.reply = (_r, res) => void res.end('ok');
    const put = await s.api(`/extension/175/event/${sub.id}`, { method: 'PUT', json: { enabled: true } });
    const back = (await put.json()) as Subscription;
    expect(back).toMatchObject({ enabled: true, disabled_reason: null });
    // New events flow again, and what came while it was disabled can be recovered.
    await s.ingest([intake(175, { ...pageCall.hangup, CallID: 'bbbb5fca85624b7a94cf7b4036fd6d52' })]);
    const rec = await s.api(`/extension/175/event/${sub.id}/delivery/recover/`, {
      method: 'POST',
      json: { since },
    });
    expect(((await rec.json()) as { recovered: number }).recovered).toBe(2);
    const got = await rx.waitFor(4);
    const calls = got.slice(1).map((r) => new URLSearchParams(r.body).get('CallID')!.slice(0, 4));
    expect(calls.sort()).toEqual(['3184', 'aaaa', 'bbbb']);
  });

  test('a subscription failing continuously past the limit is disabled', async () => {
    const strict = await startTestServer({
      config: {
        retrySchedule: [0.3, 0.3, 0.3, 0.3],
        retryJitter: 0,
        disableAfterFailingSeconds: 0.5,
        deliveryPollMs: 50,
      },
    });
    try {
      const rx = await receiver((_req, res) => {
        res.statusCode = 503;
        res.end();
      });
      const sub = await strict.subscribe(`${rx.url}/down`, 'hangup');
      await strict.ingest([intake(175, pageCall.hangup)]);
      const v = await until(
        async () => (await (await strict.api(`/extension/175/event/${sub.id}`)).json()) as Subscription,
        (x) => x.enabled === false,
      );
      expect(v.disabled_reason).toMatch(/failing continuously/);
    } finally {
      await strict.stop();
    }
  });
});

describe('order and isolation', () => {
  test('per-call order holds under random failures, per endpoint across its subscriptions', async () => {
    const s = await startTestServer({
      config: { retrySchedule: Array(12).fill(0.05), retryJitter: 0, deliveryPollMs: 20 },
    });
    // A seeded coin: the same failures every run.
    let seed = 42;
    const coin = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const firstSuccess = new Map<string, string[]>();
    const rx = await receiver((req, res) => {
      if (coin() < 0.35) {
        res.statusCode = 500;
        res.end();
        return;
      }
      const body = new URLSearchParams(req.body);
      const call = body.get('CallID')!;
      const seen = firstSuccess.get(call) ?? [];
      const tag = body.get('Tag')!;
      if (!seen.includes(tag)) seen.push(tag);
      firstSuccess.set(call, seen);
      res.end('ok');
    });
    const subs = await Promise.all(
      ['dial-out', 'answer', 'hangup'].map((t) => s.subscribe(`${rx.url}/order`, t)),
    );
    const calls = Array.from({ length: 12 }, () => callEvents(175, 5));
    // Interleave the calls' events as a PBX with many calls would.
    const mixed = [];
    for (let i = 0; i < 5; i++) for (const c of calls) mixed.push(c[i]!);
    await s.ingest(mixed);
    await until(
      async () => [...firstSuccess.values()].reduce((n, v) => n + v.length, 0),
      (n) => n === 60,
      20_000,
    );
    // The page's model: one subscription per event type, all to the same URL. The receiver still
    // sees each call's events in the order they happened.
    expect(firstSuccess.size).toBe(12);
    for (const tags of firstSuccess.values()) expect(tags).toEqual(['0', '1', '2', '3', '4']);
    expect(subs).toHaveLength(3);
    await s.stop();
  });

  test("a saturated dead host does not hold back another host's calls, step by step", async () => {
    // Per host at most max(4 × 2, 4) = 8 deliveries are held; a long poll makes any wait for it
    // stand out: each next event of a call is found by a claim, never handed over at intake. (A
    // host that has not answered gets one request, and its cap a second later: HostRamp.)
    const s = await startTestServer({
      config: {
        deliveryPerHostConcurrency: 2,
        deliveryBatchSize: 4,
        deliveryPollMs: 10_000,
        deliveryTimeoutSeconds: 30,
      },
    });
    const holding = holdingReplies();
    const dead = await receiver(holding.reply());
    const order = new Map<string, string[]>();
    const healthy = await receiver((req, res) => {
      const body = new URLSearchParams(req.body);
      const call = body.get('CallID')!;
      order.set(call, [...(order.get(call) ?? []), body.get('Tag')!]);
      res.end('ok');
    });
    await s.subscribe(`${dead.url}/dead`, 'dial-out');
    await s.ingest(Array.from({ length: 20 }, () => callEvents(175, 2)[0]!));
    await dead.waitFor(2, 5_000);
    for (const t of ['dial-out', 'answer', 'hangup']) await s.subscribe(`${healthy.url}/chain`, t);
    const calls = Array.from({ length: 5 }, () => callEvents(175, 4));
    const started = Date.now();
    await s.ingest(calls.flat());
    await healthy.waitFor(20, 5_000);
    // Three claims per call after its first event, each well inside one poll interval.
    expect(Date.now() - started).toBeLessThan(5_000);
    for (const tags of order.values()) expect(tags).toEqual(['0', '1', '2', '3']);
    expect(order.size).toBe(5);
    holding.release();
    await s.stop();
  });

  /**
   * `bad` receivers that answer their first `answerFirst` requests and hold the rest to a 30 s
   * timeout, beside a healthy one, on a server with 4 requests at once in all and per host: 30
   * one-event calls to each. The healthy one has all of its own within 10 s, well inside the first
   * timeout; `check` looks at the bad ones while they still hold what they hold.
   */
  async function besideHealthy(
    bad: number,
    answerFirst: number,
    check: (bad: Receiver[]) => void,
    waitMs = 15_000,
  ): Promise<void> {
    const t = await startTestServer({
      config: { deliveryConcurrency: 4, deliveryPerHostConcurrency: 4, deliveryTimeoutSeconds: 30 },
    });
    const holding = holdingReplies(answerFirst);
    const others = await Promise.all(Array.from({ length: bad }, () => receiver(holding.reply())));
    const healthy = await receiver();
    for (const [i, rx] of others.entries()) await t.subscribe(`${rx.url}/bad${i}`, 'dial-out');
    await t.subscribe(`${healthy.url}/alive`, 'dial-out');
    const started = Date.now();
    await t.ingest(Array.from({ length: 30 }, () => callEvents(175, 2)[0]!));
    await healthy.waitFor(30, waitMs);
    expect(Date.now() - started).toBeLessThan(10_000);
    check(others);
    holding.release();
    await t.stop();
  }

  test('receivers that never answer, more of them than the cap has slots, do not hold back a healthy one', async () => {
    // Six receivers accept and never answer. Each slot a healthy host freed went to them until
    // they held all four, and the healthy host waited for their timeouts. Now a host that has not
    // answered gets one request, the six share half the slots, and a request unanswered after a
    // second stops counting (and so do its host's next ones, up to its cap): a second per two
    // hanging hosts before the healthy one's first attempt, then its own pace.
    await besideHealthy(6, 0, (dead) => {
      // Within their cap of 4 each, stuck or not.
      for (const rx of dead) expect(rx.received.length).toBeLessThanOrEqual(4);
    });
  });

  test('receivers that answered and then stop answering, all their cap at once, do not hold back a healthy one', async () => {
    // Two receivers answer their first three requests (a host answered twice is at its cap of 4)
    // and then hold every request: with 4 each under way they held all four slots, and a proven
    // host's requests counted until they timed out. Now a proven host with requests under way and
    // no answer for a second is unproven again and its requests stop counting.
    await besideHealthy(
      2,
      3,
      (turned) => {
        for (const rx of turned) {
          // Each was proven (3 answers) and then held requests: at most its cap of 4 at once.
          expect(rx.received.length).toBeGreaterThanOrEqual(4);
          expect(rx.received.length).toBeLessThanOrEqual(3 + 4);
        }
      },
      20_000,
    );
  });

  test('a dead receiver does not slow the others', async () => {
    const dead = await receiver(() => {
      /* hangs until the 1 s timeout */
    });
    const healthy = await receiver();
    const a = await s.subscribe(`${dead.url}/dead`, 'dial-out');
    const b = await s.subscribe(`${healthy.url}/alive`, 'dial-out');
    // One-event calls: each `callEvents(175, 2)` starts with a dial-out.
    const events = Array.from({ length: 40 }, () => callEvents(175, 2)[0]!);
    await s.ingest(events);
    await healthy.waitFor(40, 5_000);
    // The dead host's forty deliveries are each held until the 1 s timeout; the healthy host got
    // all of its own while none of those had even finished (a clock-free way to say "not behind").
    const deadLog = await log(a.id);
    expect(deadLog).toHaveLength(40);
    expect(deadLog.every((d) => d.attempts === 0)).toBe(true);
    expect(dead.received.length).toBeGreaterThan(0);
    for (const sub of [a, b]) await s.api(`/extension/175/event/${sub.id}`, { method: 'DELETE' });
  });
});
