import type { HangupStatus } from '@callhook/contract';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ReceivedRequest, type Receiver, startReceiver } from '../receivers.js';
import { describeSip, fieldsOf, SIPP_CLOCK_SLACK_US, type SipWorld, startSipWorld, until } from './world.js';

/**
 * What the page's generation rules mean for real SIP calls: outcomes from SIP replies, calls in
 * through a public number, calls between two extensions, forwarding on busy and on no answer, and
 * calls of users callhook does not know. One switch, one callhook server, one receiver that every
 * call event of every extension involved is POSTed to.
 */
const RING_MS = 300;
const RING_TIMEOUT_MS = 1500;
const TALK_MS = 300;
const EXTENSIONS = [175, 200, 202, 203, 500, 501];

describeSip('the page rules for real SIP calls', () => {
  let world: SipWorld;
  let rx: Receiver;
  beforeAll(async () => {
    world = await startSipWorld({
      ringMs: RING_MS,
      ringTimeoutMs: RING_TIMEOUT_MS,
      phones: [
        { user: '000*200', behaviour: 'p200' }, // answers
        { user: '000*202', behaviour: 'p999' }, // rings, nobody answers
        { user: '000*500', behaviour: 'p486' }, // busy (the demo's "Night desk", forwards)
        { user: '000*501', behaviour: 'p999' }, // nobody answers (forwards)
      ],
      dids: { '4930555100': '000*200' },
    });
    const { store } = world.server;
    const demo = (await store.tenants.getExtension(175))!;
    await store.tenants.createExtension({
      id: 501,
      clientId: demo.clientId,
      name: '000*501',
      domain: 'sip.domain',
      callerIdName: 'Day desk',
      recording: true,
      kind: 'phone',
      forwardTo: '+79817654322',
    });
    // The switch forwards as callhook's tenant data says each extension does.
    for (const ext of await store.tenants.listExtensions()) {
      if (ext.forwardTo) await world.sw.addForward(ext.name, ext.forwardTo);
    }
    rx = await startReceiver();
    for (const ext of EXTENSIONS) {
      for (const type of ['dial-in', 'dial-out', 'answer', 'hangup']) {
        await world.server.subscribe(`${rx.url}/all`, type, 'POST', ext);
      }
    }
  });
  afterAll(async () => {
    await world?.stop();
    await rx?.close();
  });

  type Event = Record<string, string>;
  const eventsOf = (callId: string): Event[] =>
    rx.received.map((r: ReceivedRequest) => fieldsOf(r)).filter((e) => e.CallID === callId);
  /** A call's events once `n` arrived, and after a pause in which no more may come. */
  async function settle(callId: string, n: number): Promise<Event[]> {
    await until(
      `${n} events of ${callId} (have ${eventsOf(callId).length})`,
      () => eventsOf(callId).length >= n,
    );
    await new Promise((r) => setTimeout(r, 300));
    return eventsOf(callId);
  }
  const summary = (events: Event[]) =>
    events.map((e) => `${e.SubCallID!.split('-')[0]} ${e.EventType} ${e.CallStatus}`);

  test('outcomes from SIP replies: each hangup with its CallStatus', async () => {
    const cases: Array<{ to: string; action?: 'cancel'; status: HangupStatus; why: string }> = [
      { to: '00010005', status: 'ANSWER', why: 'the gateway answers' },
      { to: '00010486', status: 'BUSY', why: '486 Busy Here' },
      { to: '00010600', status: 'BUSY', why: '600 Busy Everywhere' },
      { to: '00010408', status: 'NOANSWER', why: '408 after ringing' },
      { to: '00010480', status: 'NOANSWER', why: '480 after ringing' },
      { to: '00010999', status: 'NOANSWER', why: 'rings past the ring timeout' },
      {
        to: '00010999',
        action: 'cancel',
        status: 'CANCEL',
        why: 'the caller hangs up while it rings (CANCEL, 487)',
      },
      { to: '00010503', status: 'CONGESTION', why: '503 Service Unavailable' },
      { to: '000*203', status: 'CHANUNAVAIL', why: 'an extension with no registration' },
    ];
    const placed = await world.call(
      cases.map((c) => ({
        from: '000*099',
        name: 'Iggy Pop',
        to: c.to,
        action: c.action ?? 'hangup',
        ms: c.action ? RING_MS / 2 : TALK_MS,
      })),
    );
    expect(placed.code, placed.errors).toBe(0);
    for (const [i, c] of cases.entries()) {
      const callId = world.callIdOf(placed.sipCallIds[i]!);
      // Extension 203 has no registration but is callhook's: it hears of the call it missed.
      const n = c.status === 'ANSWER' ? 3 : c.to === '000*203' ? 4 : 2;
      const events = await settle(callId, n);
      const mine = events.filter((e) => e.SubCallID === `175-${callId}`);
      const hangup = mine.find((e) => e.EventType === 'hangup');
      expect(hangup?.CallStatus, c.why).toBe(c.status);
      expect(
        mine.map((e) => e.EventType),
        c.why,
      ).toEqual(c.status === 'ANSWER' ? ['dial-out', 'answer', 'hangup'] : ['dial-out', 'hangup']);
      if (c.status === 'ANSWER') {
        expect(Number(hangup!.Duration)).toBeGreaterThanOrEqual(TALK_MS * 1000 - SIPP_CLOCK_SLACK_US);
        expect(hangup!.RecID).toBe(`175-${callId}`);
      } else {
        expect(hangup!.Duration, c.why).toBe('0');
        expect(hangup!.RecID, c.why).toBeUndefined();
      }
      if (c.to === '000*203') {
        expect(summary(events)).toEqual([
          '175 dial-out CALLING',
          '203 dial-in CALLING',
          '203 hangup CHANUNAVAIL',
          '175 hangup CHANUNAVAIL',
        ]);
      }
    }
  });

  test('incoming through a public number: dial-in, answer, hangup on the callee', async () => {
    const placed = await world.call([
      {
        from: '+12025550100',
        fromDomain: 'gateway.example',
        name: 'Outside Caller',
        to: '4930555100',
        action: 'hangup',
        ms: TALK_MS,
      },
    ]);
    expect(placed.code, placed.errors).toBe(0);
    const callId = world.callIdOf(placed.sipCallIds[0]!);
    const events = await settle(callId, 3);
    expect(summary(events)).toEqual(['200 dial-in CALLING', '200 answer ANSWER', '200 hangup ANSWER']);
    for (const e of events) {
      expect(e).toMatchObject({
        CallFlow: 'in',
        CalledDID: '4930555100',
        CalledNumber: '4930555100',
        CallerIDNum: '+12025550100',
        CallerIDName: 'Outside Caller',
        CalledExtension: '000*200@sip.domain',
        CalledExtensionID: '200',
        SubCallID: `200-${callId}`,
      });
      expect(e.CallerExtensionID).toBeUndefined();
    }
    expect(Number(events[2]!.Duration)).toBe(Number(events[2]!.EventTime) - Number(events[1]!.EventTime));
    // Extension 200 does not record.
    expect(events[2]!.RecID).toBeUndefined();
  });

  test('between two extensions: events on both, far end first for answer and hangup', async () => {
    const placed = await world.call([
      { from: '000*099', name: 'Iggy Pop', to: '000*200', action: 'hangup', ms: TALK_MS },
    ]);
    expect(placed.code, placed.errors).toBe(0);
    const callId = world.callIdOf(placed.sipCallIds[0]!);
    const events = await settle(callId, 6);
    expect(summary(events)).toEqual([
      '175 dial-out CALLING',
      '200 dial-in CALLING',
      '200 answer ANSWER',
      '175 answer ANSWER',
      '200 hangup ANSWER',
      '175 hangup ANSWER',
    ]);
    for (const e of events) {
      expect(e).toMatchObject({
        CallerIDNum: '000*099',
        CallerExtensionID: '175',
        CallerExtension: '000*099@sip.domain',
        CalledNumber: '000*200',
        CalledExtensionID: '200',
        CalledExtension: '000*200@sip.domain',
        CallerIDName: 'Iggy Pop',
      });
      expect(e.CallFlow).toBe(e.SubCallID!.startsWith('175-') ? 'out' : 'in');
    }
    // One order for everything a receiver gets, and EventTime agrees with it.
    const times = events.map((e) => Number(e.EventTime));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  describe('forwarding outside, as the tenant data says', () => {
    for (const { ext, why, number } of [
      { ext: 500, why: 'when busy', number: '+79817654321' },
      { ext: 501, why: 'when nobody answers', number: '+79817654322' },
    ]) {
      test(why, async () => {
        const placed = await world.call([
          { from: '000*099', name: 'Iggy Pop', to: `000*${ext}`, action: 'hangup', ms: TALK_MS },
        ]);
        expect(placed.code, placed.errors).toBe(0);
        const callId = world.callIdOf(placed.sipCallIds[0]!);
        const events = await settle(callId, 9);
        expect(summary(events)).toEqual([
          '175 dial-out CALLING',
          `${ext} dial-in CALLING`,
          `${ext} dial-out CALLING`,
          `${ext} answer ANSWER`,
          `${ext} answer ANSWER`,
          '175 answer ANSWER',
          `${ext} hangup ANSWER`,
          `${ext} hangup ANSWER`,
          '175 hangup ANSWER',
        ]);
        const forwarded = events.filter((e) => e.SubCallID === `${ext}-${callId}-2`);
        expect(forwarded.map((e) => e.EventType)).toEqual(['dial-out', 'answer', 'hangup']);
        for (const e of forwarded) {
          expect(e).toMatchObject({
            CallFlow: 'out',
            Transfered: 'yes',
            CalledNumber: number,
            CallerIDNum: `000*${ext}`,
            CallerExtensionID: String(ext),
          });
        }
        // The extension's own leg rang first, then forwarded: same CallID, its own SubCallID.
        const own = events.filter((e) => e.SubCallID === `${ext}-${callId}`);
        expect(own.map((e) => e.EventType)).toEqual(['dial-in', 'answer', 'hangup']);
        expect(Number(forwarded[0]!.EventTime)).toBeGreaterThan(Number(own[0]!.EventTime));
      });
    }
  });

  test('calls of users callhook does not know make no events, and are counted', async () => {
    const metric = async () => {
      const text = await (await fetch(`${world.server.url}/metrics`)).text();
      return Number(/callhook_kamailio_total\{what="unknown_calls"\} (\d+)/.exec(text)?.[1] ?? 'NaN');
    };
    const before = await metric();
    const placed = await world.call([
      { from: '000*777', name: 'Stranger', to: '00010005', action: 'hangup', ms: TALK_MS },
      { from: '000*777', name: 'Stranger', to: '00010486', action: 'hangup', ms: TALK_MS },
    ]);
    expect(placed.code, placed.errors).toBe(0);
    const deadline = Date.now() + 10_000;
    while ((await metric()) < before + 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(await metric()).toBe(before + 2);
    for (const sip of placed.sipCallIds) expect(eventsOf(world.callIdOf(sip))).toEqual([]);
  });
});
