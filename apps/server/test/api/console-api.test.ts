import type {
  DeliveryCursorPage,
  DeliveryDetail,
  ExtensionSummary,
  StreamEvent,
  Subscription,
} from '@callhook/contract';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hashSecret, randomAlphanumeric } from '../../src/store/secrets.js';
import { callEvents, intake, pageCall } from '../events.js';
import { startTestServer, type TestServer } from '../harness.js';
import { type Receiver, startReceiver } from '../receivers.js';
import { createTenant } from './helpers.js';

// The API the console is built on: an extension's whole delivery log (filters, cursor pages),
// each attempt's request and response, the live event stream, and the client's extensions.

let s: TestServer;
const receivers: Receiver[] = [];
beforeAll(async () => {
  s = await startTestServer({
    config: { retrySchedule: [0.1], retryJitter: 0, deliveryTimeoutSeconds: 2, deliveryPollMs: 50 },
  });
});
afterAll(async () => {
  for (const rx of receivers) await rx.close();
  await s.stop();
});

async function receiver(...args: Parameters<typeof startReceiver>) {
  const rx = await startReceiver(...args);
  receivers.push(rx);
  return rx;
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

async function page(query: string, ext: number | string = 175): Promise<DeliveryCursorPage> {
  const res = await s.api(`/extension/${ext}/delivery/${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as DeliveryCursorPage;
}

describe("the client's extensions", () => {
  test('lists the demo client its extensions, and nobody else', async () => {
    const res = await s.api('/client/@me/extension/');
    expect(res.status).toBe(200);
    const list = (await res.json()) as ExtensionSummary[];
    expect(list.map((e) => e.id)).toContain(175);
    expect(list.find((e) => e.id === 175)).toMatchObject({ name: '000*099', kind: 'phone' });
    const other = await createTenant(s.store, 'other-ext');
    const theirs = (await (await s.api('/client/@me/extension/', { token: other.token })).json()) as Array<{
      id: number;
    }>;
    expect(theirs.map((e) => e.id)).toEqual([other.extensionId]);
    expect((await s.api('/client/999999/extension/')).status).toBe(404);
  });
});

describe("an extension's delivery log", () => {
  let subs: Subscription[];
  let callIds: string[];
  beforeAll(async () => {
    const rx = await receiver();
    subs = [
      await s.subscribe(`${rx.url}/log`, 'dial-out', 'POST', 175),
      await s.subscribe(`${rx.url}/log`, 'answer', 'POST', 175),
      await s.subscribe(`${rx.url}/log`, 'hangup', 'POST', 175),
    ];
    const events = [];
    callIds = [];
    for (let i = 0; i < 25; i++) {
      const call = callEvents(175, 3, `log${i}`);
      callIds.push((call[0]!.data as { CallID: string }).CallID);
      events.push(...call);
    }
    await s.ingest(events);
    await rx.waitFor(75);
  });

  test('cursor pages cover every delivery once, newest first, and hold while new ones arrive', async () => {
    const first = await page('?per_page=10');
    expect(first.items).toHaveLength(10);
    expect(first.next_cursor).toMatch(/^[0-9]+$/);
    // Deliveries arriving between pages do not shift the pages that follow.
    await s.ingest(callEvents(175, 3, 'late'));
    const seen = [...first.items];
    let cursor = first.next_cursor;
    while (cursor) {
      const next = await page(`?per_page=10&cursor=${cursor}`);
      seen.push(...next.items);
      cursor = next.next_cursor;
    }
    const ours = seen.filter((d) => subs.some((sub) => sub.id === d.subscription_id));
    expect(ours.length).toBeGreaterThanOrEqual(75);
    expect(new Set(seen.map((d) => d.id)).size).toBe(seen.length);
    const times = seen.map((d) => Date.parse(d.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    // Every item names its subscription and its event, so the console can link them.
    for (const d of seen) expect(d.event_id).toBeGreaterThan(0);
  });

  test('filters: CallID, event type, status, subscription, time range', async () => {
    const call = await page(`?call_id=${callIds[3]}`);
    expect(call.items.map((d) => d.event_type).sort()).toEqual(['answer', 'dial-out', 'hangup']);
    expect(call.next_cursor).toBeNull();
    const hangups = await page('?event_type=hangup&per_page=200');
    expect(hangups.items.length).toBeGreaterThanOrEqual(25);
    expect(hangups.items.every((d) => d.event_type === 'hangup')).toBe(true);
    const bySub = await page(`?subscription_id=${subs[1]!.id}&per_page=200`);
    expect(bySub.items.every((d) => d.subscription_id === subs[1]!.id)).toBe(true);
    expect(bySub.items.length).toBeGreaterThanOrEqual(25);
    const ok = await until(
      () => page('?status=succeeded&per_page=200'),
      (p) => p.items.length >= 75,
    );
    expect(ok.items.every((d) => d.status === 'succeeded')).toBe(true);
    expect(
      (await page('?status=failed')).items.filter((d) => subs.some((x) => x.id === d.subscription_id)),
    ).toEqual([]);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await page(`?since=${encodeURIComponent(future)}`)).items).toEqual([]);
    const past = new Date(Date.now() - 3_600_000).toISOString();
    expect((await page(`?until=${encodeURIComponent(past)}`)).items).toEqual([]);
  });

  test('bad filters are 400 naming the field; another client’s extension is 404', async () => {
    for (const [q, field] of [
      ['?status=lost', 'status'],
      ['?event_type=ring', 'event_type'],
      ['?cursor=abc', 'cursor'],
      ['?since=yesterday', 'since'],
      ['?per_page=1000', 'per_page'],
    ] as const) {
      const res = await s.api(`/extension/175/delivery/${q}`);
      expect(res.status, q).toBe(400);
      const body = (await res.json()) as { errors?: Array<{ field: string }> };
      expect(body.errors?.map((e) => e.field)).toContain(field);
    }
    const other = await createTenant(s.store, 'other-log');
    expect((await s.api('/extension/175/delivery/', { token: other.token })).status).toBe(404);
    expect((await s.api(`/extension/${other.extensionId}/delivery/`)).status).toBe(404);
  });
});

describe("an attempt's request and response", () => {
  test('the request as sent (signature redacted) and the response: status, headers, body with NUL kept storable', async () => {
    let failing = true;
    const rx = await receiver((_req, res) => {
      if (failing) {
        res.statusCode = 500;
        res.setHeader('x-receiver', 'flaky');
        // A body with NUL and bytes that are not UTF-8: PostgreSQL's text cannot hold NUL.
        res.end(
          Buffer.concat([
            Buffer.from('boom\u0000 at line 1 '),
            Buffer.from([0xff, 0xfe]),
            Buffer.from('x'.repeat(5000)),
          ]),
        );
      } else {
        res.end('ok');
      }
    });
    const sub = await s.subscribe(`${rx.url}/attempts?myid=175`, 'dial-out', 'GET', 175);
    await s.ingest([intake(175, { ...pageCall.dialOut, CallID: 'attempts0000000000000000000000ab' })]);
    // One retry in the schedule: two failed attempts, then the delivery is failed (not stuck).
    const [d] = await until(
      () => page(`?subscription_id=${sub.id}`).then((p) => p.items),
      (l) => l[0]?.status === 'failed',
    );
    expect(d!.attempts).toBe(2);
    const detail = (await (
      await s.api(`/extension/175/event/${sub.id}/delivery/${d!.id}`)
    ).json()) as DeliveryDetail;
    const a = detail.attempt_log[0]!;
    expect(a.request).toMatchObject({ method: 'GET', body: null });
    expect(a.request!.url).toBe(`${rx.url}/attempts?myid=175&${detail.payload}`);
    expect(a.request!.headers['webhook-id']).toBe(d!.id);
    expect(a.request!.headers['webhook-signature']).toBe('v1,…');
    expect(JSON.stringify(a)).not.toContain(rx.received[0]!.headers['webhook-signature'] as string);
    expect(a.response).toMatchObject({ status: 500, body_truncated: true });
    expect(a.response!.headers['x-receiver']).toBe('flaky');
    expect(a.response!.body!.startsWith('boom\ufffd at line 1 \ufffd\ufffdxxx')).toBe(true);
    expect(Buffer.byteLength(a.response!.body!)).toBeLessThanOrEqual(4096 + 8);
    expect(a.response_body).toBe(a.response!.body);

    // Retry: the receiver is back.
    failing = false;
    const retried = await s.api(`/extension/175/event/${sub.id}/delivery/${d!.id}/retry/`, {
      method: 'POST',
    });
    expect(retried.status).toBe(202);
    await until(
      () => page(`?subscription_id=${sub.id}`).then((p) => p.items),
      (l) => l[0]?.status === 'succeeded',
    );
  });

  test('a POST attempt shows its form body', async () => {
    const rx = await receiver();
    const sub = await s.subscribe(`${rx.url}/post`, 'answer', 'POST', 175);
    await s.ingest([intake(175, { ...pageCall.answer, CallID: 'attemptspost00000000000000000000' })]);
    const [d] = await until(
      () => page(`?subscription_id=${sub.id}`).then((p) => p.items),
      (l) => l[0]?.status === 'succeeded',
    );
    const detail = (await (
      await s.api(`/extension/175/event/${sub.id}/delivery/${d!.id}`)
    ).json()) as DeliveryDetail;
    const a = detail.attempt_log[0]!;
    expect(a.request).toMatchObject({ method: 'POST', url: `${rx.url}/post`, body: detail.payload });
    expect(a.request!.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(a.response).toMatchObject({ status: 200, body: 'ok', body_truncated: false });
  });
});

/** Reads SSE messages from a fetch response until `count` arrived. */
async function readEvents(
  res: Response,
  count: number,
  ms = 10_000,
): Promise<Array<{ id: string; data: StreamEvent }>> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const out: Array<{ id: string; data: StreamEvent }> = [];
  let buf = '';
  const timer = setTimeout(() => void reader.cancel(), ms);
  try {
    while (out.length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let cut = buf.indexOf('\n\n');
      while (cut !== -1) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id && data) out.push({ id, data: JSON.parse(data) as StreamEvent });
        cut = buf.indexOf('\n\n');
      }
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
  return out;
}

describe("an extension's live event stream", () => {
  test('events arrive as they are stored; Last-Event-ID resumes after the last seen', async () => {
    const other = await createTenant(s.store, 'stream-tenant', { url: s.url });
    const ext = other.extensionId;
    const open = (headers: Record<string, string> = {}) =>
      fetch(`${s.apiUrl}/extension/${ext}/stream/?backlog=0`, {
        headers: { authorization: `Bearer ${other.token}`, ...headers },
      });
    const res = await open();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const call = callEvents(ext, 3, 'stream');
    setTimeout(() => void s.ingest(call), 100);
    const got = await readEvents(res, 3);
    expect(got.map((m) => m.data.event_type)).toEqual(['dial-out', 'answer', 'hangup']);
    expect(got[0]!.data.call_id).toBe((call[0]!.data as { CallID: string }).CallID);
    expect(got[0]!.data.data.EventType).toBe('dial-out');
    expect(got.map((m) => m.id)).toEqual(got.map((m) => String(m.data.id)));

    // Resume after the first: the other two follow, nothing before.
    const resumed = await open({ 'last-event-id': got[0]!.id });
    expect((await readEvents(resumed, 2)).map((m) => m.data.id)).toEqual([got[1]!.data.id, got[2]!.data.id]);

    // Without Last-Event-ID, the backlog is the newest events.
    const backlog = await fetch(`${s.apiUrl}/extension/${ext}/stream/?backlog=2`, {
      headers: { authorization: `Bearer ${other.token}` },
    });
    expect((await readEvents(backlog, 2)).map((m) => m.data.id)).toEqual([got[1]!.data.id, got[2]!.data.id]);
  });

  test('a stream ends once its token has expired', async () => {
    const other = await createTenant(s.store, 'stream-expiry');
    const app = await s.store.tenants.findApplication(other.appId);
    const token = randomAlphanumeric(30);
    await s.store.tenants.saveToken(hashSecret(token), {
      applicationId: app!.id,
      clientId: other.clientId,
      extensionId: other.extensionId,
      expiresAt: Date.now() + 1_000,
    });
    s.context.streams.tokenCheckMs = 100;
    try {
      const res = await fetch(`${s.apiUrl}/extension/@me/stream/`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(200);
      const started = Date.now();
      const rest = await res.text(); // resolves when the server ends the stream
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(rest).toContain('retry: 2000');
    } finally {
      s.context.streams.tokenCheckMs = 30_000;
    }
  });

  test('a client holds at most 5 streams; the sixth is 429 until one closes; no token is 401', async () => {
    const other = await createTenant(s.store, 'stream-limit', { url: s.url });
    const open = () =>
      fetch(`${s.apiUrl}/extension/@me/stream/`, { headers: { authorization: `Bearer ${other.token}` } });
    const streams = [];
    for (let i = 0; i < 5; i++) {
      const res = await open();
      expect(res.status).toBe(200);
      streams.push(res);
    }
    const sixth = await open();
    expect(sixth.status).toBe(429);
    expect(sixth.headers.get('retry-after')).toBe('5');
    expect(((await sixth.json()) as { code: string }).code).toBe('too_many_streams');
    await streams[0]!.body!.cancel();
    // The server notices the closed stream shortly after the client drops it.
    const again = await until(
      async () => {
        const r = await open();
        if (r.status !== 200) await r.body?.cancel();
        return r;
      },
      (r) => r.status === 200,
    );
    expect(again.status).toBe(200);
    for (const r of [...streams.slice(1), again]) await r.body!.cancel();
    expect((await fetch(`${s.apiUrl}/extension/175/stream/`)).status).toBe(401);
    expect(
      (
        await fetch(`${s.apiUrl}/extension/175/stream/`, {
          headers: { authorization: `Bearer ${other.token}` },
        })
      ).status,
    ).toBe(404);
  });
});
