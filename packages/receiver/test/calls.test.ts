import fc from 'fast-check';
import { beforeEach, describe, expect, test } from 'vitest';
import { CallAssembler, type CallEvent, type CallRecord, type Scheduler } from '../src/index.js';
import { pageCall } from './support.js';

/** Timers moved by hand: a test decides when a quiet period has passed. */
class ManualScheduler implements Scheduler {
  private now = 0;
  private next = 0;
  private readonly timers = new Map<number, { at: number; run: () => void }>();
  set(run: () => void, ms: number): number {
    this.timers.set(++this.next, { at: this.now + ms, run });
    return this.next;
  }
  clear(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.now = due[1].at;
      due[1].run();
    }
    this.now = until;
  }
}

const S = 1_000_000; // EventTime and durations are microseconds
const T0 = 1_772_366_400 * S;
const CALL_ID = '8c1f0e3a9b7d4e2f8a6c5b4d3e2f1a0b';
const CALLER = '+79817654321';
const DID = '74951234567';

const ext = (id: number) => ({ CalledExtension: `000*${id}@sip.domain`, CalledExtensionID: id });
const incoming = { CallID: CALL_ID, CallFlow: 'in', CallerIDNum: CALLER, CalledDID: DID } as const;

function dialIn(at: number, sub: string, id: number): CallEvent {
  return {
    ...incoming,
    ...ext(id),
    EventType: 'dial-in',
    CallStatus: 'CALLING',
    EventTime: T0 + at,
    SubCallID: sub,
  };
}
function answer(at: number, sub: string, id: number): CallEvent {
  return {
    ...incoming,
    ...ext(id),
    EventType: 'answer',
    CallStatus: 'ANSWER',
    EventTime: T0 + at,
    SubCallID: sub,
  };
}
function hangup(
  at: number,
  sub: string,
  id: number,
  extra: Partial<CallEvent & { EventType: 'hangup' }>,
): CallEvent {
  return {
    ...incoming,
    ...ext(id),
    EventType: 'hangup',
    CallStatus: 'ANSWER',
    EventTime: T0 + at,
    SubCallID: sub,
    ...extra,
  } as CallEvent;
}

/** A caller waits in queue 300; agents 201 and 202 ring out, 201 is rung again and answers. */
const queueCall: CallEvent[] = [
  dialIn(0, `300-${CALL_ID}`, 300),
  dialIn(1 * S, `201-${CALL_ID}`, 201),
  dialIn(1 * S, `202-${CALL_ID}`, 202),
  hangup(16 * S, `201-${CALL_ID}`, 201, { CallStatus: 'NOANSWER' }),
  hangup(16 * S, `202-${CALL_ID}`, 202, { CallStatus: 'NOANSWER' }),
  dialIn(20 * S, `201-${CALL_ID}-2`, 201),
  answer(23 * S, `201-${CALL_ID}-2`, 201),
  hangup(83 * S, `201-${CALL_ID}-2`, 201, { Duration: 60 * S, RecID: `201-${CALL_ID}-2` }),
  hangup(83 * S, `300-${CALL_ID}`, 300, { Bridged: 'yes', Duration: 83 * S, BridgedDuration: 60 * S }),
];

/** A caller gives up in IVR 400: the IVR answered to play its menu, but nobody took the call. */
const ivrMiss: CallEvent[] = [
  dialIn(0, `400-${CALL_ID}`, 400),
  hangup(12 * S, `400-${CALL_ID}`, 400, { Bridged: 'no', Duration: 12 * S }),
];

/**
 * Extension 175 forwards an incoming call outside by its incoming-call rules; as callhook's simulator
 * plans it, its own leg is answered and ended together with the forwarded one.
 */
const forwarded: CallEvent[] = [
  dialIn(0, `175-${CALL_ID}`, 175),
  {
    CallID: CALL_ID,
    EventType: 'dial-out',
    CallStatus: 'CALLING',
    CallFlow: 'out',
    Transfered: 'yes',
    EventTime: T0 + S / 10,
    SubCallID: `175-${CALL_ID}-fwd`,
    CallerIDNum: CALLER,
    CallerExtension: '000*175@sip.domain',
    CallerExtensionID: 175,
    CalledNumber: '+79161112233',
  },
  {
    CallID: CALL_ID,
    EventType: 'answer',
    CallStatus: 'ANSWER',
    CallFlow: 'out',
    Transfered: 'yes',
    EventTime: T0 + 5 * S,
    SubCallID: `175-${CALL_ID}-fwd`,
    CalledNumber: '+79161112233',
  },
  {
    CallID: CALL_ID,
    EventType: 'hangup',
    CallStatus: 'ANSWER',
    CallFlow: 'out',
    Transfered: 'yes',
    Duration: 30 * S,
    EventTime: T0 + 35 * S,
    SubCallID: `175-${CALL_ID}-fwd`,
    CalledNumber: '+79161112233',
  },
  answer(5 * S, `175-${CALL_ID}`, 175),
  hangup(35 * S, `175-${CALL_ID}`, 175, { Duration: 30 * S }),
];

let clock: ManualScheduler;
let calls: CallRecord[];
let assembler: CallAssembler;

beforeEach(() => {
  clock = new ManualScheduler();
  calls = [];
  assembler = new CallAssembler({ onCall: (c) => calls.push(c), scheduler: clock, quietPeriodMs: 3000 });
});

function assemble(events: readonly CallEvent[]): CallRecord {
  for (const e of events) assembler.add(e);
  clock.advance(3000);
  expect(calls).toHaveLength(1);
  return calls[0]!;
}

describe('CallAssembler records', () => {
  test("the page's outgoing call: answered by the number dialled, 4.24 s, recorded", () => {
    const call = assemble([pageCall.dialOut, pageCall.answer, pageCall.hangup]);
    expect(call).toMatchObject({
      callId: pageCall.hangup.CallID,
      direction: 'out',
      caller: { number: '000*099', name: 'Iggy Pop', extension: '000*099@sip.domain', extensionId: 175 },
      callee: { number: '00010005' },
      answered: true,
      missed: false,
      answeredBy: { number: '00010005' },
      status: 'ANSWER',
      talkDuration: 4239900,
      recordings: [pageCall.hangup.SubCallID],
      startTime: pageCall.dialOut.EventTime,
      endTime: pageCall.hangup.EventTime,
      callApiId: pageCall.hangup.CallAPIID,
      complete: true,
    });
    expect(call.legs).toHaveLength(1);
    expect(call.legs[0]).toMatchObject({
      flow: 'out',
      answerTime: pageCall.answer.EventTime,
      extension: { extensionId: 175 },
    });
  });

  test('a queue with two agents, one rung twice: the agent who answered, talk time counted once', () => {
    const call = assemble(queueCall);
    expect(call).toMatchObject({
      direction: 'in',
      caller: { number: CALLER },
      callee: { number: DID, extension: '000*300@sip.domain', extensionId: 300 },
      answered: true,
      missed: false,
      answeredBy: { extension: '000*201@sip.domain', extensionId: 201 },
      status: 'ANSWER',
      talkDuration: 60 * S,
      recordings: [`201-${CALL_ID}-2`],
    });
    expect(call.legs.map((l) => [l.subCallId, l.status, l.answered])).toEqual([
      [`300-${CALL_ID}`, 'ANSWER', true],
      [`201-${CALL_ID}`, 'NOANSWER', false],
      [`202-${CALL_ID}`, 'NOANSWER', false],
      [`201-${CALL_ID}-2`, 'ANSWER', true],
    ]);
  });

  test('a queue nobody answered is missed even though the queue itself picked up', () => {
    const call = assemble([
      dialIn(0, `300-${CALL_ID}`, 300),
      dialIn(S, `201-${CALL_ID}`, 201),
      hangup(30 * S, `201-${CALL_ID}`, 201, { CallStatus: 'CANCEL' }),
      hangup(30 * S, `300-${CALL_ID}`, 300, { Bridged: 'no', Duration: 30 * S }),
    ]);
    expect(call).toMatchObject({ answered: false, missed: true, status: 'CANCEL', talkDuration: 0 });
    expect(call.answeredBy).toBeUndefined();
  });

  test('an IVR miss with Bridged=no', () => {
    const call = assemble(ivrMiss);
    expect(call).toMatchObject({
      direction: 'in',
      answered: false,
      missed: true,
      status: 'NOANSWER',
      talkDuration: 0,
    });
    expect(call.legs[0]).toMatchObject({ bridged: 'no', status: 'ANSWER', answered: false });
  });

  test('forwarding outside (Transfered=yes): answered by the forward target', () => {
    const call = assemble(forwarded);
    expect(call).toMatchObject({
      direction: 'in',
      caller: { number: CALLER },
      callee: { number: DID, extensionId: 175 },
      answered: true,
      answeredBy: { number: '+79161112233' },
      forwardedTo: '+79161112233',
      talkDuration: 30 * S,
    });
    expect(call.legs.find((l) => l.forwarded)?.subCallId).toBe(`175-${CALL_ID}-fwd`);
  });

  test('an outgoing call that got a busy signal is unanswered but not missed', () => {
    const call = assemble([
      pageCall.dialOut,
      { ...pageCall.hangup, CallStatus: 'BUSY', Duration: 0, RecID: undefined },
    ]);
    expect(call).toMatchObject({ answered: false, missed: false, status: 'BUSY', recordings: [] });
  });

  test('a voicemail belongs to the call and brings its recording', () => {
    const call = assemble([
      dialIn(0, `175-${CALL_ID}`, 175),
      hangup(20 * S, `175-${CALL_ID}`, 175, { CallStatus: 'NOANSWER' }),
      { ...incoming, EventType: 'voicemail', EventTime: T0 + 40 * S, Duration: 15 * S, RecID: 'vm-1' },
    ]);
    expect(call).toMatchObject({
      missed: true,
      voicemail: { recId: 'vm-1', duration: 15 * S },
      recordings: ['vm-1'],
    });
    expect(call.legs).toHaveLength(1);
  });
});

describe('CallAssembler timing', () => {
  test('waits for every leg to hang up, then for the quiet period', () => {
    for (const e of queueCall.slice(0, -1)) assembler.add(e);
    clock.advance(60_000);
    expect(calls).toHaveLength(0);
    assembler.add(queueCall.at(-1)!);
    clock.advance(2999);
    expect(calls).toHaveLength(0);
    clock.advance(1);
    expect(calls).toHaveLength(1);
    expect(assembler.pending).toBe(0);
  });

  test('an event within the quiet period (a trailing queue hangup) restarts it and joins the call', () => {
    for (const e of ivrMiss) assembler.add(e);
    clock.advance(2000);
    assembler.add(dialIn(13 * S, `300-${CALL_ID}`, 300));
    assembler.add(hangup(14 * S, `300-${CALL_ID}`, 300, { Bridged: 'no' }));
    clock.advance(2000);
    expect(calls).toHaveLength(0);
    clock.advance(1000);
    expect(calls[0]?.legs).toHaveLength(2);
  });

  test('events after the call was emitted are counted as late, not emitted again', () => {
    assemble(ivrMiss);
    assembler.add(ivrMiss[1]!);
    clock.advance(10_000);
    expect(calls).toHaveLength(1);
    expect(assembler.lateEvents).toBe(1);
  });

  test('a call whose hangup never comes is emitted incomplete after abandonAfterMs', () => {
    const short = new CallAssembler({
      onCall: (c) => calls.push(c),
      scheduler: clock,
      abandonAfterMs: 60_000,
    });
    short.add(pageCall.dialOut);
    clock.advance(59_999);
    expect(calls).toHaveLength(0);
    clock.advance(1);
    expect(calls[0]).toMatchObject({ complete: false, answered: false });
  });

  test('flush emits what is pending; message events are not calls', () => {
    assembler.add({ EventType: 'message-in', extension_id: 175, src_number: CALLER, text: 'hi' });
    assembler.add(pageCall.dialOut);
    assembler.flush();
    expect(calls.map((c) => [c.callId, c.complete])).toEqual([[pageCall.dialOut.CallID, false]]);
  });
});

describe('CallAssembler is tolerant', () => {
  const scenarios = {
    queueCall,
    ivrMiss,
    forwarded,
    page: [pageCall.dialOut, pageCall.answer, pageCall.hangup],
  };

  test.each(Object.entries(scenarios))(
    '%s: any order, with duplicates, gives the same record',
    (_, events) => {
      const reference = assemble(events);
      const arrivals = fc
        .tuple(
          fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
          fc.array(fc.tuple(fc.nat(events.length - 1), fc.nat(events.length)), { maxLength: 4 }),
        )
        .map(([order, copies]) => {
          const out = [...order];
          for (const [which, at] of copies) out.splice(at, 0, { ...events[which]! });
          return out;
        });
      fc.assert(
        fc.property(arrivals, (arrived) => {
          calls = [];
          const fresh = new CallAssembler({
            onCall: (c) => calls.push(c),
            scheduler: clock,
            quietPeriodMs: 3000,
          });
          for (const e of arrived) fresh.add(e);
          clock.advance(3000);
          expect(calls).toEqual([reference]);
        }),
        { numRuns: 150 },
      );
    },
  );
});
