import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { intake, pageCall } from '../events.js';
import { startTestServer, type TestServer } from '../harness.js';
import { type Receiver, startReceiver } from '../receivers.js';

let s: TestServer;
let rx: Receiver;
beforeAll(async () => {
  s = await startTestServer();
  rx = await startReceiver();
});
afterAll(async () => {
  await rx.close();
  await s.stop();
});

describe('the request a subscriber receives', () => {
  test("GET: the page's event in the query, after the URL's own ?myid=175, byte for byte", async () => {
    rx.received.length = 0;
    const sub = await s.subscribe(`${rx.url}/fordel/show.php?myid=175`, 'dial-out', 'GET');
    await s.ingest([intake(175, pageCall.dialOut)]);
    const [req] = await rx.waitFor(1);
    expect(req!.method).toBe('GET');
    expect(req!.url).toBe(
      '/fordel/show.php?myid=175&SubCallID=175-31845fca85624b7a94cf7b4036fd6d52&EventTime=1499349840250190' +
        '&CalledNumber=00010005&EventType=dial-out&CallerIDNum=000*099&CallerExtensionID=175' +
        '&CallerExtension=000*099%40sip.domain&CallFlow=out&CallAPIID=3584705177-31845fca-8562-4b7a-94cf-7b4036fd6d52' +
        '&CallerIDName=Iggy+Pop&CallStatus=CALLING&CallID=31845fca85624b7a94cf7b4036fd6d52',
    );
    // What PHP's $_GET would show: the page's log, field for field.
    const params = Object.fromEntries(new URL(req!.url, rx.url).searchParams);
    expect(params).toEqual({
      myid: '175',
      ...Object.fromEntries(Object.entries(pageCall.dialOut).map(([k, v]) => [k, String(v)])),
    });
    expect(req!.body).toBe('');
    expect(req!.headers['user-agent']).toMatch(/^callhook\//);
    await s.api(`/extension/175/event/${sub.id}`, { method: 'DELETE' });
  });

  test('POST: the same data as a UTF-8 form body; non-ASCII names survive', async () => {
    rx.received.length = 0;
    const sub = await s.subscribe(`${rx.url}/hook?owner=me`, 'hangup', 'POST');
    const data = { ...pageCall.hangup, CallerIDName: 'Игги Поп & Zoë' };
    await s.ingest([intake(175, data)]);
    const [req] = await rx.waitFor(1);
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/hook?owner=me');
    expect(req!.headers['content-type']).toBe('application/x-www-form-urlencoded; charset=utf-8');
    expect(req!.body).toContain('CallerIDName=%D0%98%D0%B3%D0%B3%D0%B8+%D0%9F%D0%BE%D0%BF+%26+Zo%C3%AB');
    expect(Object.fromEntries(new URLSearchParams(req!.body))).toEqual(
      Object.fromEntries(Object.entries(data).map(([k, v]) => [k, String(v)])),
    );
    // Field order is the event's own order, as the PBX gave it.
    expect([...new URLSearchParams(req!.body).keys()]).toEqual(Object.keys(data));
    await s.api(`/extension/175/event/${sub.id}`, { method: 'DELETE' });
  });

  test('only fields with a value are sent', async () => {
    rx.received.length = 0;
    const sub = await s.subscribe(`${rx.url}/hook`, 'answer', 'POST');
    await s.ingest([
      intake(175, { ...pageCall.answer, Diversion: '', ClientApiID: undefined } as typeof pageCall.answer),
    ]);
    const [req] = await rx.waitFor(1);
    const keys = [...new URLSearchParams(req!.body).keys()];
    expect(keys).not.toContain('Diversion');
    expect(keys).not.toContain('ClientApiID');
    await s.api(`/extension/175/event/${sub.id}`, { method: 'DELETE' });
  });
});

describe('signatures (Standard Webhooks)', () => {
  test('POST: the standardwebhooks package computes the same signature over the raw body', async () => {
    rx.received.length = 0;
    const sub = await s.subscribe(`${rx.url}/signed`, 'dial-out', 'POST');
    await s.ingest([intake(175, pageCall.dialOut)]);
    const [req] = await rx.waitFor(1);
    const id = req!.headers['webhook-id'] as string;
    const ts = Number(req!.headers['webhook-timestamp']);
    expect(id).toMatch(/^msg_[A-Za-z0-9]+$/);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(10);
    const expected = new Webhook(sub.secret!).sign(id, new Date(ts * 1000), req!.body);
    expect(req!.headers['webhook-signature']).toBe(expected);
    // A tampered body does not match.
    expect(new Webhook(sub.secret!).sign(id, new Date(ts * 1000), `${req!.body}&x=1`)).not.toBe(expected);
    await s.api(`/extension/175/event/${sub.id}`, { method: 'DELETE' });
  });

  test('GET: signed content is the raw query string as sent, own parameters included', async () => {
    rx.received.length = 0;
    const sub = await s.subscribe(`${rx.url}/show.php?myid=175`, 'answer', 'GET');
    await s.ingest([intake(175, pageCall.answer)]);
    const [req] = await rx.waitFor(1);
    const id = req!.headers['webhook-id'] as string;
    const ts = Number(req!.headers['webhook-timestamp']);
    const query = req!.url.slice(req!.url.indexOf('?') + 1);
    expect(query.startsWith('myid=175&')).toBe(true);
    expect(req!.headers['webhook-signature']).toBe(
      new Webhook(sub.secret!).sign(id, new Date(ts * 1000), query),
    );
    await s.api(`/extension/175/event/${sub.id}`, { method: 'DELETE' });
  });

  test('GET: a URL the parser re-encodes (a raw apostrophe) still verifies on the bytes received', async () => {
    rx.received.length = 0;
    // RFC 3986 allows a raw ' in a query; the WHATWG serialisation that goes on the wire encodes it.
    const sub = await s.subscribe(`${rx.url}/show.php?name=O'Brien`, 'answer', 'GET');
    await s.ingest([intake(175, pageCall.answer)]);
    const [req] = await rx.waitFor(1);
    const query = req!.url.slice(req!.url.indexOf('?') + 1);
    expect(query.startsWith('name=O%27Brien&')).toBe(true);
    const when = new Date(Number(req!.headers['webhook-timestamp']) * 1000);
    expect(req!.headers['webhook-signature']).toBe(
      new Webhook(sub.secret!).sign(req!.headers['webhook-id'] as string, when, query),
    );
    await s.api(`/extension/175/event/${sub.id}`, { method: 'DELETE' });
  });

  test('after a rotation both secrets sign until the grace period ends', async () => {
    rx.received.length = 0;
    const sub = await s.subscribe(`${rx.url}/rotated`, 'hangup', 'POST');
    const res = await s.api(`/extension/175/event/${sub.id}/secret/rotate/`, {
      method: 'POST',
      json: { grace_seconds: 3600 },
    });
    expect(res.status).toBe(200);
    const { secret } = (await res.json()) as { secret: string };
    expect(secret).not.toBe(sub.secret);
    await s.ingest([intake(175, pageCall.hangup)]);
    const [req] = await rx.waitFor(1);
    const id = req!.headers['webhook-id'] as string;
    const when = new Date(Number(req!.headers['webhook-timestamp']) * 1000);
    const entries = (req!.headers['webhook-signature'] as string).split(' ');
    expect(entries).toEqual([
      new Webhook(secret).sign(id, when, req!.body),
      new Webhook(sub.secret!).sign(id, when, req!.body),
    ]);

    // With no grace, only the new secret signs.
    rx.received.length = 0;
    const again = await s.api(`/extension/175/event/${sub.id}/secret/rotate/`, {
      method: 'POST',
      json: { grace_seconds: 0 },
    });
    const newest = ((await again.json()) as { secret: string }).secret;
    await s.ingest([intake(175, pageCall.hangup)]);
    const [req2] = await rx.waitFor(1);
    const when2 = new Date(Number(req2!.headers['webhook-timestamp']) * 1000);
    expect(req2!.headers['webhook-signature']).toBe(
      new Webhook(newest).sign(req2!.headers['webhook-id'] as string, when2, req2!.body),
    );
    await s.api(`/extension/175/event/${sub.id}`, { method: 'DELETE' });
  });
});

describe('intake', () => {
  test('one delivery per matching enabled subscription, none for other extensions or types', async () => {
    // On its own, whatever earlier tests left: extension 175 starts with no subscriptions.
    const left = (await (await s.api('/extension/175/event/')).json()) as Array<{ id: number }>;
    for (const sub of left) await s.api(`/extension/175/event/${sub.id}`, { method: 'DELETE' });
    const a = await s.subscribe(`${rx.url}/a`, 'hangup');
    const b = await s.subscribe(`${rx.url}/b`, 'hangup');
    const other = await s.subscribe(`${rx.url}/c`, 'answer');
    const res = await s.ingest([
      intake(175, pageCall.hangup),
      intake(200, { ...pageCall.hangup, CallerExtensionID: 200 }),
    ]);
    expect(res).toEqual({ accepted: 2, deliveries: 2, repeats: 0 });
    const logged = async (id: number) =>
      ((await (await s.api(`/extension/175/event/${id}/delivery/`)).json()) as { items: unknown[] }).items
        .length;
    expect([await logged(a.id), await logged(b.id), await logged(other.id)]).toEqual([1, 1, 0]);
    for (const sub of [a, b, other]) await s.api(`/extension/175/event/${sub.id}`, { method: 'DELETE' });
  });

  test('bad events get a 4xx naming the field; the PBX key is required', async () => {
    const post = (body: unknown, key: string | null = s.pbxKey) =>
      fetch(`${s.apiUrl}/pbx/event/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key ? { 'x-pbx-key': key } : {}) },
        body: JSON.stringify(body),
      });
    const noKey = await post(intake(175, pageCall.hangup), null);
    expect(noKey.status).toBe(401);
    expect((await post(intake(175, pageCall.hangup), 'wrong-key-wrong-key')).status).toBe(401);
    const bad = await post({
      event_type: 'hangup',
      extension_id: 175,
      data: { ...pageCall.hangup, CallStatus: 'CALLING' },
    });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { message: string; errors: Array<{ field: string }> };
    expect(body.errors.map((e) => e.field).join(' ')).toContain('CallStatus');
    const unknownExt = await post(intake(99999, pageCall.hangup));
    expect(unknownExt.status).toBe(404);
    expect(((await unknownExt.json()) as { message: string }).message).toContain('extension_id');
    const ok = await post(intake(175, pageCall.hangup));
    expect(ok.status).toBe(202);
  });
});
