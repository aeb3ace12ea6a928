import type { CallbackRequest, SimulationRequest } from '@callhook/contract';
import { PAGE_RING_US, PAGE_TALK_US } from '@callhook/pbx';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createSimulatorPort } from '../../src/pbx/port.js';
import { pageCall } from '../events.js';
import { startTestServer, type TestServer } from '../harness.js';
import { type ReceivedRequest, type Receiver, startReceiver } from '../receivers.js';

/**
 * The simulator over real HTTP: scenarios started with `POST /pbx/simulate/` (and callbacks with
 * `POST /extension/{id}/callback/`) on a server in demo mode, their events delivered to real
 * loopback receivers, and checked as those receivers got them: which extension's events, in which
 * order, with which statuses and fields.
 */
const SPEED = 20;
const RING = Math.round(PAGE_RING_US / SPEED);
const TALK = Math.round(PAGE_TALK_US / SPEED);
const EXTENSIONS = [175, 200, 201, 202, 203, 300, 400, 500];
const TYPES = ['dial-in', 'dial-out', 'answer', 'hangup', 'voicemail', 'message-in', 'message-out'];
const OUTSIDE = '+12025550123';
const DID = '+74951234567';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let s: TestServer;
/** The page's receiver: `GET …/fordel/show.php?myid=175` for dial-out, answer, hangup of 175. */
let page: Receiver;
/** Every event type of every extension of the demo client, POSTed to one endpoint. */
let all: Receiver;
let pageIds: number[];

beforeAll(async () => {
  s = await startTestServer({ config: { simulator: true } });
  // Callbacks carry no timing: this server's simulator plays them at the tests' speed.
  s.context.pbx?.drop();
  s.context.pbx = await createSimulatorPort(s.context, { callbackTiming: { speed: SPEED } });
  page = await startReceiver();
  all = await startReceiver();
  pageIds = [];
  for (const type of ['dial-out', 'answer', 'hangup']) {
    pageIds.push((await s.subscribe(`${page.url}/fordel/show.php?myid=175`, type, 'GET')).id);
  }
  for (const ext of EXTENSIONS) {
    for (const type of TYPES) await s.subscribe(`${all.url}/all`, type, 'POST', ext);
  }
});
afterAll(async () => {
  await s?.stop();
  await page?.close();
  await all?.close();
});

/** A request's fields in the order they came: the query for GET, the form body for POST. */
function pairs(r: ReceivedRequest): Array<[string, string]> {
  const q = r.url.indexOf('?');
  const raw = r.method === 'GET' ? (q === -1 ? '' : r.url.slice(q + 1)) : r.body;
  return [...new URLSearchParams(raw)];
}

type Fields = Record<string, string>;
const fieldsOf = (r: ReceivedRequest): Fields => Object.fromEntries(pairs(r));

async function simulate(
  req: SimulationRequest,
): Promise<{ call_id: string; call_api_id?: string; events: number }> {
  const res = await s.api('/pbx/simulate/', { method: 'POST', json: { speed: SPEED, ...req } });
  expect(res.status).toBe(202);
  return res.json();
}

async function callback(
  owner: number,
  req: CallbackRequest,
): Promise<{ call_id: string; call_api_id: string }> {
  const res = await s.api(`/extension/${owner}/callback/`, { method: 'POST', json: req });
  expect(res.status).toBe(200);
  return res.json();
}

/**
 * What `receiver` got that `match` picks, once `count` of them arrived, and after a pause that
 * would let a stray extra one arrive too (the exact count is part of every rule).
 */
async function received(receiver: Receiver, match: (f: Fields) => boolean, count: number): Promise<Fields[]> {
  const mine = () => receiver.received.filter((r) => match(fieldsOf(r)));
  const deadline = Date.now() + 15_000;
  while (mine().length < count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} requests, got ${mine().length}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await new Promise((r) => setTimeout(r, (2 * RING) / 1000 + 100));
  const got = mine();
  expect(got).toHaveLength(count);
  for (const r of got) expect(r.method).toBe(receiver === page ? 'GET' : 'POST');
  return got.map(fieldsOf);
}

/** A call's events as the all-events receiver got them, checked for what every call shares. */
async function callEvents(callId: string, count: number): Promise<Fields[]> {
  const events = await received(all, (f) => f.CallID === callId, count);
  let last = 0;
  for (const e of events) {
    // EventTime in µs, strictly increasing along the call as delivered.
    expect(Number(e.EventTime)).toBeGreaterThan(last);
    last = Number(e.EventTime);
    expect(e.SubCallID).toMatch(new RegExp(`^\\d+-${callId}(-\\d+)?$`));
    expect(e.CallAPIID).toMatch(new RegExp(`^\\d+-${callId.slice(0, 8)}-`));
  }
  return events;
}

/** Whose leg (the SubCallID's extension), the event type and the status: the call's outline. */
const owner = (e: Fields) => Number(e.SubCallID!.split('-')[0]);
const sequence = (events: Fields[]) => events.map((e) => [owner(e), e.EventType, e.CallStatus ?? '']);
const time = (e: Fields) => Number(e.EventTime);

describe("the page's call over HTTP", () => {
  test('000*099 calls 00010005: dial-out, answer, hangup to GET ?myid=175, field for field as the log', async () => {
    expect(pageIds).toEqual([72, 73, 74]);
    const res = await simulate({ scenario: 'outgoing', extension_id: 175, number: '00010005' });
    expect(res.events).toBe(3);
    const got = await received(page, (f) => f.CallID === res.call_id, 3);
    const requests = page.received.filter((r) => fieldsOf(r).CallID === res.call_id);
    for (const r of requests) expect(r.url.startsWith('/fordel/show.php?myid=175&SubCallID=')).toBe(true);
    // The page's log, key for key and in its order, after the subscriber's own myid.
    const logged = [pageCall.dialOut, pageCall.answer, pageCall.hangup];
    expect(requests.map((r) => pairs(r).map(([k]) => k))).toEqual(
      logged.map((l) => ['myid', ...Object.keys(l)]),
    );
    const [dialOut, answer, hangup] = got as [Fields, Fields, Fields];
    const same = {
      myid: '175',
      SubCallID: `175-${res.call_id}`,
      CalledNumber: '00010005',
      CallerIDNum: '000*099',
      CallerExtensionID: '175',
      CallerExtension: '000*099@sip.domain',
      CallFlow: 'out',
      CallAPIID: res.call_api_id,
      CallerIDName: 'Iggy Pop',
      CallID: res.call_id,
    };
    expect(dialOut).toMatchObject({ ...same, EventType: 'dial-out', CallStatus: 'CALLING' });
    expect(answer).toMatchObject({ ...same, EventType: 'answer', CallStatus: 'ANSWER' });
    expect(hangup).toMatchObject({
      ...same,
      EventType: 'hangup',
      CallStatus: 'ANSWER',
      RecID: `175-${res.call_id}`,
      Duration: String(TALK),
    });
    expect(res.call_id).toMatch(/^[0-9a-f]{32}$/);
    expect(res.call_api_id).toMatch(
      /^\d+-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    // The page's timing, scaled: answered a ring after the dial-out, hung up a talk later.
    expect(time(answer) - time(dialOut)).toBe(RING);
    expect(time(hangup) - time(answer)).toBe(TALK);
    // The same three reached the all-events endpoint as POST forms.
    expect(sequence(await callEvents(res.call_id, 3))).toEqual([
      [175, 'dial-out', 'CALLING'],
      [175, 'answer', 'ANSWER'],
      [175, 'hangup', 'ANSWER'],
    ]);
  });
});

describe('scenarios over HTTP', () => {
  test('unanswered outgoing calls end in hangup with the outcome, no answer, no RecID', async () => {
    const outcomes = ['BUSY', 'NOANSWER', 'CANCEL', 'CONGESTION', 'CHANUNAVAIL'] as const;
    const calls = await Promise.all(
      outcomes.map((outcome) =>
        simulate({ scenario: 'outgoing', extension_id: 175, number: OUTSIDE, outcome }),
      ),
    );
    for (const [i, res] of calls.entries()) {
      expect(res.events).toBe(2);
      const events = await callEvents(res.call_id, 2);
      expect(sequence(events)).toEqual([
        [175, 'dial-out', 'CALLING'],
        [175, 'hangup', outcomes[i]],
      ]);
      expect(events[1]).toMatchObject({ Duration: '0', CalledNumber: OUTSIDE, CallFlow: 'out' });
      expect(events[1]).not.toHaveProperty('RecID');
      expect(time(events[1]!) - time(events[0]!)).toBe(RING);
    }
  });

  test('incoming through a public number: dial-in, answer, hangup with CallFlow=in and CalledDID', async () => {
    const res = await simulate({ scenario: 'incoming', extension_id: 175, number: OUTSIDE, did: DID });
    const events = await callEvents(res.call_id, 3);
    expect(sequence(events)).toEqual([
      [175, 'dial-in', 'CALLING'],
      [175, 'answer', 'ANSWER'],
      [175, 'hangup', 'ANSWER'],
    ]);
    for (const e of events) {
      expect(e).toMatchObject({
        CallFlow: 'in',
        CalledDID: DID,
        CalledNumber: DID,
        CallerIDNum: OUTSIDE,
        CalledExtensionID: '175',
        CalledExtension: '000*099@sip.domain',
        SubCallID: `175-${res.call_id}`,
      });
      expect(e).not.toHaveProperty('CallerExtensionID');
    }
    expect(events[2]).toMatchObject({ RecID: `175-${res.call_id}`, Duration: String(TALK) });
  });

  test('incoming unanswered: dial-in, then hangup BUSY, nothing else', async () => {
    const res = await simulate({ scenario: 'incoming', extension_id: 200, number: OUTSIDE, outcome: 'BUSY' });
    expect(sequence(await callEvents(res.call_id, 2))).toEqual([
      [200, 'dial-in', 'CALLING'],
      [200, 'hangup', 'BUSY'],
    ]);
  });

  test('IVR: dial-in and hangup only, Bridged=yes when connected, Bridged=no when the caller left', async () => {
    const [taken, left] = await Promise.all([
      simulate({ scenario: 'ivr', extension_id: 300, number: OUTSIDE, did: DID }),
      simulate({ scenario: 'ivr', extension_id: 300, number: OUTSIDE, outcome: 'NOANSWER' }),
    ]);
    const a = await callEvents(taken.call_id, 2);
    expect(sequence(a)).toEqual([
      [300, 'dial-in', 'CALLING'],
      [300, 'hangup', 'ANSWER'],
    ]);
    expect(a[1]).toMatchObject({ Bridged: 'yes', Duration: String(TALK), CalledDID: DID, CallFlow: 'in' });
    const b = await callEvents(left.call_id, 2);
    expect(sequence(b)).toEqual([
      [300, 'dial-in', 'CALLING'],
      [300, 'hangup', 'NOANSWER'],
    ]);
    expect(b[1]).toMatchObject({ Bridged: 'no', Duration: '0' });
  });

  test('queue: the caller thread on 400, each agent rung in turn on its own leg, one CallID', async () => {
    const res = await simulate({ scenario: 'queue', extension_id: 400, number: OUTSIDE, answered_by: 203 });
    expect(res.events).toBe(9);
    const events = await callEvents(res.call_id, 9);
    expect(sequence(events)).toEqual([
      [400, 'dial-in', 'CALLING'],
      [201, 'dial-in', 'CALLING'],
      [201, 'hangup', 'NOANSWER'],
      [202, 'dial-in', 'CALLING'],
      [202, 'hangup', 'NOANSWER'],
      [203, 'dial-in', 'CALLING'],
      [203, 'answer', 'ANSWER'],
      [203, 'hangup', 'ANSWER'],
      [400, 'hangup', 'ANSWER'],
    ]);
    for (const e of events) expect(e.CallID).toBe(res.call_id);
    for (const agent of [201, 202, 203]) {
      const legs = events.filter((e) => owner(e) === agent);
      for (const e of legs) {
        expect(e).toMatchObject({
          SubCallID: `${agent}-${res.call_id}`,
          CalledExtensionID: String(agent),
          CalledExtension: `000*${agent}@sip.domain`,
          CallFlow: 'in',
          CallerIDNum: OUTSIDE,
        });
      }
    }
    expect(new Set(events.map((e) => e.SubCallID)).size).toBe(4);
    const answered = events[6]!;
    const caller = events[8]!;
    expect(caller).toMatchObject({ SubCallID: `400-${res.call_id}`, Bridged: 'yes' });
    // Both threads end at once; the caller's hangup is stamped 1 µs after the agent's to keep
    // EventTime strictly increasing, the durations count to the shared end.
    const end = time(events[7]!);
    expect(time(caller)).toBe(end + 1);
    expect(Number(caller.BridgedDuration)).toBe(end - time(answered));
    expect(Number(caller.Duration)).toBe(end - time(events[0]!));
    expect(events[7]).toMatchObject({ RecID: `203-${res.call_id}`, Duration: String(TALK) });
  });

  test('queue nobody answers: two rounds, every agent reached twice with a second SubCallID', async () => {
    const res = await simulate({
      scenario: 'queue',
      extension_id: 400,
      number: OUTSIDE,
      outcome: 'NOANSWER',
    });
    const events = await callEvents(res.call_id, 14);
    const round = [201, 202, 203].flatMap((a) => [
      [a, 'dial-in', 'CALLING'],
      [a, 'hangup', 'NOANSWER'],
    ]);
    expect(sequence(events)).toEqual([
      [400, 'dial-in', 'CALLING'],
      ...round,
      ...round,
      [400, 'hangup', 'NOANSWER'],
    ]);
    expect(events.some((e) => e.EventType === 'answer')).toBe(false);
    const subCalls = events.filter((e) => owner(e) === 202).map((e) => e.SubCallID);
    expect(subCalls).toEqual([
      `202-${res.call_id}`,
      `202-${res.call_id}`,
      `202-${res.call_id}-2`,
      `202-${res.call_id}-2`,
    ]);
    expect(events[13]).toMatchObject({ Bridged: 'no', BridgedDuration: '0' });
  });

  test("forwarding by 500's incoming-call rule: dial-out to the outside number, Transfered=yes, same CallID", async () => {
    const res = await simulate({ scenario: 'incoming', extension_id: 500, number: OUTSIDE });
    const events = await callEvents(res.call_id, 6);
    expect(events.map((e) => [owner(e), e.EventType, e.CallFlow, e.CallStatus])).toEqual([
      [500, 'dial-in', 'in', 'CALLING'],
      [500, 'dial-out', 'out', 'CALLING'],
      [500, 'answer', 'out', 'ANSWER'],
      [500, 'answer', 'in', 'ANSWER'],
      [500, 'hangup', 'out', 'ANSWER'],
      [500, 'hangup', 'in', 'ANSWER'],
    ]);
    const out = events.filter((e) => e.CallFlow === 'out');
    for (const e of out) {
      expect(e).toMatchObject({
        Transfered: 'yes',
        CalledNumber: '+79817654321',
        CallerExtensionID: '500',
        SubCallID: `500-${res.call_id}-2`,
        CallID: res.call_id,
      });
    }
    for (const e of events.filter((x) => x.CallFlow === 'in')) {
      expect(e).not.toHaveProperty('Transfered');
      expect(e.SubCallID).toBe(`500-${res.call_id}`);
    }
  });

  test('the forward scenario sends any extension outside too', async () => {
    const res = await simulate({
      scenario: 'forward',
      extension_id: 200,
      number: OUTSIDE,
      forward_to: '+79110000002',
    });
    const events = await callEvents(res.call_id, 6);
    expect(events.filter((e) => e.EventType === 'dial-out')).toEqual([
      expect.objectContaining({ Transfered: 'yes', CalledNumber: '+79110000002', CallFlow: 'out' }),
    ]);
  });

  test('voicemail: the unanswered leg, then voicemail with Duration and RecID', async () => {
    const res = await simulate({
      scenario: 'voicemail',
      extension_id: 175,
      number: OUTSIDE,
      outcome: 'NOANSWER',
    });
    const events = await callEvents(res.call_id, 3);
    expect(sequence(events)).toEqual([
      [175, 'dial-in', 'CALLING'],
      [175, 'hangup', 'NOANSWER'],
      [175, 'voicemail', ''],
    ]);
    expect(events[2]).toMatchObject({
      Duration: String(TALK),
      RecID: `175-${res.call_id}`,
      CallerIDNum: OUTSIDE,
    });
  });

  test('messages: message-in and message-out with their snake_case fields, in the page order', async () => {
    const textIn = `in ${Date.now()}`;
    const textOut = `out ${Date.now()}`;
    await simulate({ scenario: 'message-in', extension_id: 175, number: OUTSIDE, did: DID, text: textIn });
    await simulate({ scenario: 'message-out', extension_id: 175, number: OUTSIDE, did: DID, text: textOut });
    const [mIn] = await received(all, (f) => f.text === textIn, 1);
    expect(Object.entries(mIn!)).toEqual([
      ['EventType', 'message-in'],
      ['extension_name', '000*099'],
      ['did_number', DID],
      ['src_number', OUTSIDE],
      ['extension_id', '175'],
      ['text', textIn],
    ]);
    const [mOut] = await received(all, (f) => f.text === textOut, 1);
    expect(Object.entries(mOut!)).toEqual([
      ['EventType', 'message-out'],
      ['extension_name', '000*099'],
      ['src_number', DID],
      ['extension_id', '175'],
      ['dst_number', OUTSIDE],
      ['text', textOut],
    ]);
  });
});

describe('callbacks over HTTP', () => {
  test('src_num 201 is rung first, then 175 dials dst_num; CallBackID and Tag on every event', async () => {
    const res = await callback(175, { dst_num: '+79817654321', src_num: ['201'], tag: 'crm-42' });
    const events = await callEvents(res.call_id, 9);
    expect(sequence(events)).toEqual([
      [175, 'dial-out', 'CALLING'],
      [201, 'dial-in', 'CALLING'],
      [201, 'answer', 'ANSWER'],
      [175, 'answer', 'ANSWER'],
      [175, 'dial-out', 'CALLING'],
      [175, 'answer', 'ANSWER'],
      [175, 'hangup', 'ANSWER'],
      [201, 'hangup', 'ANSWER'],
      [175, 'hangup', 'ANSWER'],
    ]);
    const ids = new Set(events.map((e) => e.CallBackID));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(UUID);
    for (const e of events) expect(e).toMatchObject({ Tag: 'crm-42', CallAPIID: res.call_api_id });
    expect(events[0]).toMatchObject({
      CalledNumber: '201',
      CalledExtensionID: '201',
      SubCallID: `175-${res.call_id}`,
    });
    expect(events[4]).toMatchObject({ CalledNumber: '+79817654321', SubCallID: `175-${res.call_id}-2` });
  });

  test("the page's optimisation: the owner as src_num gets no legs of its own, only the dial-out", async () => {
    const res = await callback(200, { dst_num: '+79817654321', src_num: ['200'] });
    const events = await callEvents(res.call_id, 3);
    expect(sequence(events)).toEqual([
      [200, 'dial-out', 'CALLING'],
      [200, 'answer', 'ANSWER'],
      [200, 'hangup', 'ANSWER'],
    ]);
    for (const e of events) {
      expect(e).toMatchObject({ CalledNumber: '+79817654321', CallerIDNum: '000*200', CallFlow: 'out' });
      expect(e.CallBackID).toMatch(UUID);
      expect(e).not.toHaveProperty('Tag');
      expect(e).not.toHaveProperty('CalledExtensionID');
    }
    expect(events.some((e) => e.EventType === 'dial-in')).toBe(false);
  });
});

describe("the simulator's directory", () => {
  test('an extension added while the server runs is on the PBX at the next call', async () => {
    const clientId = (await s.store.tenants.getExtension(175))!.clientId;
    await s.store.tenants.createExtension({
      id: 601,
      clientId,
      name: '000*601',
      domain: 'sip.domain',
      callerIdName: 'Patti Smith',
      recording: false,
      kind: 'phone',
    });
    await s.subscribe(`${all.url}/all`, 'dial-out', 'POST', 601);
    await s.subscribe(`${all.url}/all`, 'hangup', 'POST', 601);
    // The new extension calls 175 by its short number: both sides are found in the reloaded directory.
    const res = await simulate({ scenario: 'outgoing', extension_id: 601, number: '099', outcome: 'BUSY' });
    const events = await callEvents(res.call_id, 4);
    expect(sequence(events)).toEqual([
      [601, 'dial-out', 'CALLING'],
      [175, 'dial-in', 'CALLING'],
      [175, 'hangup', 'BUSY'],
      [601, 'hangup', 'BUSY'],
    ]);
    expect(events[0]).toMatchObject({ CallerIDName: 'Patti Smith', CalledExtensionID: '175' });
  });
});

describe('a stopped simulator', () => {
  test('answers 503 with a reason and Retry-After, not a 500', async () => {
    s.context.pbx?.drop();
    const res = await s.api('/pbx/simulate/', {
      method: 'POST',
      json: { scenario: 'outgoing', extension_id: 175, number: OUTSIDE },
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await res.json()).toMatchObject({
      code: 'simulator_stopped',
      message: expect.stringMatching(/stopped/),
    });
    const cb = await s.api('/extension/175/callback/', {
      method: 'POST',
      json: { dst_num: OUTSIDE, src_num: ['175'] },
    });
    expect(cb.status).toBe(503);
  });
});
