import { hangupStatuses, webhookPayloadSchemas } from '@callhook/contract';
import type { PbxExtension, SourceEvent } from '@callhook/pbx';
import { describe, expect, test } from 'vitest';
import { callIds, hangupStatus } from '../src/index.js';
import { type CallSnapshot, parseSnapshot } from '../src/snapshot.js';
import { pageEvents } from '../src/translate.js';

const iggy: PbxExtension = {
  id: 175,
  clientId: 1,
  name: '000*099',
  domain: 'sip.domain',
  callerIdName: 'Iggy Pop',
  recording: true,
  kind: 'phone',
};
const bowie: PbxExtension = {
  id: 200,
  clientId: 1,
  name: '000*200',
  domain: 'sip.domain',
  recording: false,
  kind: 'phone',
};

// Times as Kamailio writes them ($TV(Sn)), from a call of the lab.
const T = {
  dial: 1796242399_000001,
  fwd: 1796242399_250000,
  answer: 1796242401_840986,
  end: 1796242406_080886,
};

function snapshot(event: CallSnapshot['event'], over: Partial<CallSnapshot> = {}): CallSnapshot {
  const base: CallSnapshot = {
    event,
    time: { dial: T.dial, forward: T.fwd, answered: T.answer, ended: T.end, failed: T.answer }[event],
    sipCallId: 'a84b4c76e66710@pc33.atlanta.example.com',
    dialTime: T.dial,
    from: { user: '000*099', domain: 'sip.domain', name: 'Iggy Pop' },
    dialed: '00010005',
    to: { user: '00010005', domain: 'sip.domain' },
  };
  if (event === 'answered' || event === 'ended') base.answerTime = T.answer;
  return { ...base, ...over };
}

/** What the intake keeps of events given in this order: the first of each key. */
function firstOfEachKey(batches: SourceEvent[][]): SourceEvent[] {
  const seen = new Set<string>();
  return batches.flat().filter((e) => !seen.has(e.key!) && seen.add(e.key!));
}

const summary = (events: SourceEvent[]) =>
  events.map((e) => `${e.extension_id} ${e.event_type} ${(e.data as { CallStatus?: string }).CallStatus}`);

describe('a call the switch saw, as the page events', () => {
  test("the page's call: dial-out, answer, hangup on the calling extension, valid by the spec", () => {
    const events = pageEvents(snapshot('ended'), { caller: iggy });
    expect(summary(events)).toEqual(['175 dial-out CALLING', '175 answer ANSWER', '175 hangup ANSWER']);
    for (const e of events) webhookPayloadSchemas[e.event_type].parse(e.data);
    const { callId, callApiId } = callIds('a84b4c76e66710@pc33.atlanta.example.com');
    const hangup = events[2]!.data as Record<string, unknown>;
    expect(hangup).toMatchObject({
      SubCallID: `175-${callId}`,
      EventTime: T.end,
      CalledNumber: '00010005',
      CallerIDNum: '000*099',
      CallerExtensionID: 175,
      CallerExtension: '000*099@sip.domain',
      CallFlow: 'out',
      RecID: `175-${callId}`,
      CallAPIID: callApiId,
      CallerIDName: 'Iggy Pop',
      Duration: T.end - T.answer,
      CallStatus: 'ANSWER',
      CallID: callId,
    });
    // The page's order of fields, which receivers print.
    expect(Object.keys(events[0]!.data)).toEqual([
      'SubCallID',
      'EventTime',
      'CalledNumber',
      'EventType',
      'CallerIDNum',
      'CallerExtensionID',
      'CallerExtension',
      'CallFlow',
      'CallAPIID',
      'CallerIDName',
      'CallStatus',
      'CallID',
    ]);
  });

  test('each snapshot gives every event up to its moment, the same each time', () => {
    const dial = pageEvents(snapshot('dial'), { caller: iggy, callee: bowie });
    const answered = pageEvents(snapshot('answered', { to: { user: '000*200', domain: 'sip.domain' } }), {
      caller: iggy,
      callee: bowie,
    });
    const ended = pageEvents(snapshot('ended', { to: { user: '000*200', domain: 'sip.domain' } }), {
      caller: iggy,
      callee: bowie,
    });
    expect(summary(ended)).toEqual([
      '175 dial-out CALLING',
      '200 dial-in CALLING',
      '200 answer ANSWER',
      '175 answer ANSWER',
      '200 hangup ANSWER',
      '175 hangup ANSWER',
    ]);
    expect(answered.map((e) => e.key)).toEqual(ended.slice(0, 4).map((e) => e.key));
    expect(dial.map((e) => e.key)).toEqual(ended.slice(0, 2).map((e) => e.key));
    // Not only the keys: the data each key stands for is the same whichever snapshot made it.
    expect(answered).toEqual(ended.slice(0, 4).map((e) => ({ ...e, data: { ...e.data } })));
    // Events of one instant are 1 µs apart, so EventTime orders them.
    const times = ended.map((e) => (e.data as { EventTime: number }).EventTime);
    expect(times).toEqual([T.dial, T.dial + 1, T.answer, T.answer + 1, T.end, T.end + 1]);
  });

  test('snapshots arriving in any order, or twice, keep the call complete and in order', () => {
    const parties = { caller: iggy, callee: bowie };
    const to = { user: '000*200', domain: 'sip.domain' };
    const snaps = [snapshot('dial', { to }), snapshot('answered', { to }), snapshot('ended', { to })];
    const inOrder = firstOfEachKey(snaps.map((s) => pageEvents(s, parties)));
    const orders = [
      [2, 1, 0],
      [1, 0, 2],
      [0, 2, 1, 0],
      [2, 2, 0, 1],
    ];
    for (const order of orders) {
      expect(firstOfEachKey(order.map((i) => pageEvents(snaps[i]!, parties))), String(order)).toEqual(
        inOrder,
      );
    }
  });

  test('forwarded when busy: the extension forwards outside on a leg of its own, Transfered=yes', () => {
    const to = { user: '000*200', domain: 'sip.domain' };
    const forward = { to: '+79817654321', time: T.fwd, code: 486 };
    const events = pageEvents(snapshot('ended', { to, forward }), { caller: iggy, callee: bowie });
    expect(summary(events)).toEqual([
      '175 dial-out CALLING',
      '200 dial-in CALLING',
      '200 dial-out CALLING',
      '200 answer ANSWER',
      '200 answer ANSWER',
      '175 answer ANSWER',
      '200 hangup ANSWER',
      '200 hangup ANSWER',
      '175 hangup ANSWER',
    ]);
    const { callId } = callIds(snapshot('dial').sipCallId);
    const forwarded = events[2]!.data as Record<string, unknown>;
    expect(forwarded).toMatchObject({
      SubCallID: `200-${callId}-2`,
      CallFlow: 'out',
      Transfered: 'yes',
      CalledNumber: '+79817654321',
      CallerIDNum: '000*200',
      CallerExtensionID: 200,
      EventTime: T.fwd,
    });
    expect(forwarded.CalledExtensionID).toBeUndefined();
    for (const e of events) webhookPayloadSchemas[e.event_type].parse(e.data);
  });

  test('an outside caller through a public number: the callee hears it with CalledDID', () => {
    const events = pageEvents(
      snapshot('failed', {
        from: { user: '+12025550100', domain: 'gateway.example' },
        dialed: '4930555100',
        did: '4930555100',
        to: { user: '000*200', domain: 'sip.domain' },
        failure: { code: 487, canceled: true, timedOut: false, replied: true },
      }),
      { callee: bowie },
    );
    expect(summary(events)).toEqual(['200 dial-in CALLING', '200 hangup CANCEL']);
    expect(events[0]!.data).toMatchObject({
      CallerIDNum: '+12025550100',
      CalledDID: '4930555100',
      CalledNumber: '4930555100',
      CalledExtensionID: 200,
      CallFlow: 'in',
    });
    expect((events[0]!.data as Record<string, unknown>).CallerIDName).toBeUndefined();
    expect(events[1]!.data).toMatchObject({ Duration: 0 });
    expect((events[1]!.data as Record<string, unknown>).RecID).toBeUndefined();
  });

  test('no party callhook knows: no events', () => {
    expect(pageEvents(snapshot('ended'), {})).toEqual([]);
  });
});

describe('identifiers', () => {
  test('CallID: a version 5 UUID of the SIP Call-ID, in the page form; the same every time', () => {
    const a = callIds('1-1234@10.0.0.1');
    expect(a.callId).toMatch(/^[0-9a-f]{12}5[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
    expect(callIds('1-1234@10.0.0.1')).toEqual(a);
    expect(callIds('2-1234@10.0.0.1').callId).not.toBe(a.callId);
    const d = a.callId;
    expect(a.callApiId).toMatch(
      new RegExp(
        `^\\d{1,10}-${d.slice(0, 8)}-${d.slice(8, 12)}-${d.slice(12, 16)}-${d.slice(16, 20)}-${d.slice(20)}$`,
      ),
    );
  });
});

describe('how a call that was not answered ended', () => {
  type Failure = Parameters<typeof hangupStatus>[0];
  const f = (code: number, o: Partial<Failure> = {}): Failure => ({
    code,
    canceled: false,
    timedOut: false,
    replied: false,
    ...o,
  });
  test.each<[string, string, Failure]>([
    ['486 Busy Here', 'BUSY', f(486)],
    ['600 Busy Everywhere', 'BUSY', f(600)],
    ['603 Decline', 'BUSY', f(603)],
    ['408 from the far end', 'NOANSWER', f(408)],
    ['480 from the far end', 'NOANSWER', f(480)],
    ['the ring timeout, after ringing', 'NOANSWER', f(408, { timedOut: true, replied: true })],
    ['no reply at all before the timeout', 'CHANUNAVAIL', f(408, { timedOut: true })],
    ['a CANCEL (487)', 'CANCEL', f(487, { canceled: true, replied: true })],
    ['a CANCEL as the timer ran out', 'CANCEL', f(408, { canceled: true, timedOut: true })],
    ['no registration', 'CHANUNAVAIL', f(480, { cause: 'unregistered' })],
    ['404 Not Found', 'CHANUNAVAIL', f(404)],
    ['503 Service Unavailable', 'CONGESTION', f(503)],
    ['500 Server Internal Error', 'CONGESTION', f(500)],
    ['403 Forbidden', 'CONGESTION', f(403)],
  ])('%s → %s', (_why, want, failure) => {
    const got = hangupStatus(failure);
    expect(got).toBe(want);
    expect(hangupStatuses).toContain(got);
  });
});

describe('the messages deploy/kamailio publishes', () => {
  // As the lab's switch wrote them (jansson_xencode of the snapshot xavp).
  const forwarded =
    '{"answer_time": "1796242399.787569", "forward_code": "486", "forward_time": "1796242398.777532", "forward_to": "00010005", "to_domain": "sip.domain", "to_user": "000*201", "dialed": "000*201", "from_name": "Iggy Pop", "from_domain": "sip.domain", "from_user": "000*099", "dial_time": "1796242398.770001", "call_id": "lab7-3@callhook.test", "time": "1796242400.802143", "event": "ended", "v": 1}';
  const rejected =
    '{"cause": "unregistered", "code": 480, "to_domain": "sip.domain", "to_user": "000*203", "dialed": "000*203", "from_name": "", "from_domain": "sip.domain", "from_user": "000*099", "dial_time": "1796242399.987001", "call_id": "lab7-5@callhook.test", "time": "1796242399.987204", "event": "failed", "v": 1}';

  test('read with their times in µs, strings as numbers where they are codes', () => {
    expect(parseSnapshot(forwarded)).toEqual({
      event: 'ended',
      time: 1796242400802143,
      sipCallId: 'lab7-3@callhook.test',
      dialTime: 1796242398770001,
      from: { user: '000*099', domain: 'sip.domain', name: 'Iggy Pop' },
      dialed: '000*201',
      to: { user: '000*201', domain: 'sip.domain' },
      forward: { to: '00010005', time: 1796242398777532, code: 486 },
      answerTime: 1796242399787569,
    });
    expect(parseSnapshot(rejected)).toMatchObject({
      event: 'failed',
      from: { user: '000*099', domain: 'sip.domain' },
      failure: { code: 480, cause: 'unregistered', canceled: false, timedOut: false, replied: false },
    });
    // An empty display name is no name.
    expect(parseSnapshot(rejected).from.name).toBeUndefined();
  });

  test('anything else is refused, naming what is wrong', () => {
    expect(() => parseSnapshot('not json')).toThrow('not JSON');
    expect(() => parseSnapshot(forwarded.replace('"1796242400.802143"', '"1796242400.8"'))).toThrow(/^time:/);
    expect(() => parseSnapshot(forwarded.replace('"ended"', '"exploded"'))).toThrow(/^event:/);
    expect(() => parseSnapshot(rejected.replace('"code": 480, ', ''))).toThrow(/code: missing/);
    expect(() => parseSnapshot(forwarded.replace('"answer_time": "1796242399.787569", ', ''))).toThrow(
      /answer_time: missing/,
    );
  });
});
