import { hangupStatuses, type SimulationRequest } from '@callhook/contract';
import { describe, expect, test } from 'vitest';
import {
  type CallPlan,
  PAGE_RING_US,
  PAGE_TALK_US,
  planScenario,
  ScenarioError,
} from '../src/simulator/scenarios.js';
import {
  CALL_API_ID,
  CALL_ID,
  checkPlan,
  dataOf,
  directory,
  eventsOf,
  extensions,
  PAGE_START_US,
  pageExamples,
  pageRandom,
  seeded,
  sequence,
} from './world.js';

const T0 = 1_700_000_000_000_000;
const RING = PAGE_RING_US;
const TALK = PAGE_TALK_US;

function plan(req: SimulationRequest): CallPlan {
  const p = planScenario(req, directory, { startUs: T0, random: seeded() });
  checkPlan(p, T0);
  return p;
}

function refused(req: SimulationRequest): ScenarioError {
  try {
    planScenario(req, directory, { startUs: T0, random: seeded() });
  } catch (err) {
    expect(err).toBeInstanceOf(ScenarioError);
    return err as ScenarioError;
  }
  throw new Error('the scenario was accepted');
}

const unanswered = hangupStatuses.filter((s) => s !== 'ANSWER');

describe("the page's example", () => {
  test('000*099 (175) calls 00010005: the three logged events, field for field and in order', () => {
    const p = planScenario({ scenario: 'outgoing', extension_id: 175, number: '00010005' }, directory, {
      startUs: PAGE_START_US,
      random: pageRandom(),
    });
    checkPlan(p, PAGE_START_US);
    const page = pageExamples();
    expect(p.events.map((e) => e.event.extension_id)).toEqual([175, 175, 175]);
    const [dialOut, answer, hangup] = p.events.map((e) => e.event.data);
    expect(dialOut).toStrictEqual(page.dialOut);
    expect(answer).toStrictEqual(page.answer);
    expect(hangup).toStrictEqual(page.hangup);
    // The same field set in the same order as the page's log, which a receiver prints line by line.
    expect(Object.keys(dialOut!)).toEqual(Object.keys(page.dialOut));
    expect(Object.keys(answer!)).toEqual(Object.keys(page.answer));
    expect(Object.keys(hangup!)).toEqual(Object.keys(page.hangup));
    expect(p.callId).toBe('31845fca85624b7a94cf7b4036fd6d52');
    expect(p.callApiId).toBe('3584705177-31845fca-8562-4b7a-94cf-7b4036fd6d52');
  });

  test('explicit durations and speed scale every time, Duration included', () => {
    const p = plan({
      scenario: 'outgoing',
      extension_id: 175,
      number: '00010005',
      ring_ms: 1000,
      talk_ms: 2000,
      speed: 10,
    });
    expect(p.events.map((e) => e.atUs)).toEqual([0, 100_000, 300_000]);
    expect(dataOf(p.events[2]!).Duration).toBe(200_000);
  });

  test('default timing at speed 100 is the page figures divided by 100', () => {
    const p = plan({ scenario: 'outgoing', extension_id: 175, number: '00010005', speed: 100 });
    const ring = Math.round(RING / 100);
    expect(p.events.map((e) => e.atUs)).toEqual([0, ring, ring + Math.round(TALK / 100)]);
    expect(dataOf(p.events[2]!).Duration).toBe(Math.round(TALK / 100));
  });

  test('events planned at the same instant are nudged 1 µs apart', () => {
    const p = plan({ scenario: 'outgoing', extension_id: 175, number: '00010005', ring_ms: 0, talk_ms: 0 });
    expect(p.events.map((e) => dataOf(e).EventTime - T0)).toEqual([0, 1, 2]);
  });
});

describe('outgoing calls', () => {
  test.each(unanswered)('%s: dial-out then hangup with that status, no answer, no recording', (outcome) => {
    const p = plan({ scenario: 'outgoing', extension_id: 175, number: '+79817654321', outcome });
    expect(sequence(p)).toEqual([
      [175, 'dial-out', 'CALLING'],
      [175, 'hangup', outcome],
    ]);
    const hangup = dataOf(p.events[1]!);
    expect(hangup.RecID).toBeUndefined();
    expect(hangup.Duration).toBe(0);
    expect(p.events[1]!.atUs).toBe(RING);
    expect(hangup.CallFlow).toBe('out');
  });

  test('no RecID when the extension does not record', () => {
    const p = plan({ scenario: 'outgoing', extension_id: 200, number: '00010005' });
    expect(sequence(p)).toEqual([
      [200, 'dial-out', 'CALLING'],
      [200, 'answer', 'ANSWER'],
      [200, 'hangup', 'ANSWER'],
    ]);
    expect(dataOf(p.events[2]!).RecID).toBeUndefined();
    expect(dataOf(p.events[2]!).Duration).toBe(TALK);
    expect(dataOf(p.events[0]!).CallerIDName).toBe('David Bowie');
  });

  test('an extension without a caller name sends no CallerIDName', () => {
    const p = plan({ scenario: 'outgoing', extension_id: 203, number: '00010005' });
    for (const e of p.events) expect('CallerIDName' in e.event.data).toBe(false);
  });

  test('an internal call: dial-out for the caller and dial-in for the callee, one CallID', () => {
    const p = plan({ scenario: 'outgoing', extension_id: 175, number: '000*200' });
    expect(sequence(p)).toEqual([
      [175, 'dial-out', 'CALLING'],
      [200, 'dial-in', 'CALLING'],
      [200, 'answer', 'ANSWER'],
      [175, 'answer', 'ANSWER'],
      [200, 'hangup', 'ANSWER'],
      [175, 'hangup', 'ANSWER'],
    ]);
    const [out] = eventsOf(p, 175, 'dial-out');
    const [inn] = eventsOf(p, 200, 'dial-in');
    expect(out).toMatchObject({
      CallFlow: 'out',
      SubCallID: `175-${p.callId}`,
      CalledNumber: '000*200',
      CalledExtension: '000*200@sip.domain',
      CalledExtensionID: 200,
      CallerExtension: '000*099@sip.domain',
    });
    expect(inn).toMatchObject({
      CallFlow: 'in',
      SubCallID: `200-${p.callId}`,
      CallerIDNum: '000*099',
      CallerIDName: 'Iggy Pop',
      CallerExtensionID: 175,
      CalledExtensionID: 200,
    });
    // Recording is per extension: 175 records, 200 does not.
    expect(eventsOf(p, 175, 'hangup')[0]!.RecID).toBe(`175-${p.callId}`);
    expect(eventsOf(p, 200, 'hangup')[0]!.RecID).toBeUndefined();
  });

  test('an internal callee by its short number; a busy one ends both legs', () => {
    const p = plan({ scenario: 'outgoing', extension_id: 175, number: '201', outcome: 'BUSY' });
    expect(sequence(p)).toEqual([
      [175, 'dial-out', 'CALLING'],
      [201, 'dial-in', 'CALLING'],
      [201, 'hangup', 'BUSY'],
      [175, 'hangup', 'BUSY'],
    ]);
  });

  test("another client's extension is an outside number: it gets no events", () => {
    const p = plan({ scenario: 'outgoing', extension_id: 175, number: '001*900' });
    expect(new Set(p.events.map((e) => e.event.extension_id))).toEqual(new Set([175]));
    expect(dataOf(p.events[0]!).CalledExtensionID).toBeUndefined();
  });

  test('refused: no number, a non-phone caller, calling itself, an unknown extension', () => {
    expect(refused({ scenario: 'outgoing', extension_id: 175 })).toMatchObject({
      status: 400,
      field: 'number',
      rule: 'required',
    });
    expect(refused({ scenario: 'outgoing', extension_id: 300, number: '1' })).toMatchObject({
      status: 400,
      field: 'extension_id',
    });
    expect(refused({ scenario: 'outgoing', extension_id: 175, number: '000*099' }).status).toBe(400);
    expect(refused({ scenario: 'outgoing', extension_id: 9999, number: '1' }).status).toBe(404);
    expect(refused({ scenario: 'outgoing', extension_id: 175, number: '1', speed: 0 }).status).toBe(400);
  });
});

describe('incoming calls', () => {
  test('through a public number: CallFlow=in, CalledDID, the callee extension, recording', () => {
    const p = plan({ scenario: 'incoming', extension_id: 175, number: '+79110000001', did: '+78125550000' });
    expect(sequence(p)).toEqual([
      [175, 'dial-in', 'CALLING'],
      [175, 'answer', 'ANSWER'],
      [175, 'hangup', 'ANSWER'],
    ]);
    for (const e of p.events) {
      expect(dataOf(e)).toMatchObject({
        CallFlow: 'in',
        CallerIDNum: '+79110000001',
        CalledDID: '+78125550000',
        CalledNumber: '+78125550000',
        CalledExtension: '000*099@sip.domain',
        CalledExtensionID: 175,
        SubCallID: `175-${p.callId}`,
      });
      expect('CallerExtension' in e.event.data).toBe(false);
      expect('CallerIDName' in e.event.data).toBe(false);
    }
    expect(dataOf(p.events[2]!)).toMatchObject({ RecID: `175-${p.callId}`, Duration: TALK });
  });

  test('without a public number: no CalledDID, CalledNumber is the extension', () => {
    const p = plan({ scenario: 'incoming', extension_id: 175, number: '+79110000001' });
    for (const e of p.events) {
      expect('CalledDID' in e.event.data).toBe(false);
      expect(dataOf(e).CalledNumber).toBe('000*099');
    }
  });

  test.each(unanswered)('%s: dial-in then hangup, no answer', (outcome) => {
    const p = plan({ scenario: 'incoming', extension_id: 175, number: '+79110000001', outcome });
    expect(sequence(p)).toEqual([
      [175, 'dial-in', 'CALLING'],
      [175, 'hangup', outcome],
    ]);
    expect(dataOf(p.events[1]!).RecID).toBeUndefined();
  });

  test('from an extension of the same client: its dial-out too', () => {
    const p = plan({ scenario: 'incoming', extension_id: 175, number: '000*201' });
    expect(sequence(p)).toEqual([
      [201, 'dial-out', 'CALLING'],
      [175, 'dial-in', 'CALLING'],
      [175, 'answer', 'ANSWER'],
      [201, 'answer', 'ANSWER'],
      [175, 'hangup', 'ANSWER'],
      [201, 'hangup', 'ANSWER'],
    ]);
  });

  test('without a number: a default outside caller', () => {
    const p = plan({ scenario: 'incoming', extension_id: 175 });
    expect(dataOf(p.events[0]!).CallerIDNum).toMatch(/^\+\d+$/);
  });
});

describe('IVR', () => {
  test('answered: dial-in and hangup only, Bridged=yes on the hangup', () => {
    const p = plan({ scenario: 'ivr', extension_id: 300, number: '+79110000001', did: '+78125550000' });
    expect(sequence(p)).toEqual([
      [300, 'dial-in', 'CALLING'],
      [300, 'hangup', 'ANSWER'],
    ]);
    expect('Bridged' in p.events[0]!.event.data).toBe(false);
    expect(dataOf(p.events[1]!)).toMatchObject({
      Bridged: 'yes',
      Duration: TALK,
      CallFlow: 'in',
      CalledDID: '+78125550000',
    });
    expect(p.events[1]!.atUs).toBe(RING + TALK);
  });

  test.each(['CANCEL', 'NOANSWER'] as const)('%s: Bridged=no', (outcome) => {
    const p = plan({ scenario: 'ivr', extension_id: 300, number: '+79110000001', outcome });
    expect(sequence(p)).toEqual([
      [300, 'dial-in', 'CALLING'],
      [300, 'hangup', outcome],
    ]);
    expect(dataOf(p.events[1]!)).toMatchObject({ Bridged: 'no', Duration: 0 });
  });

  test('an incoming call to an IVR extension follows the IVR rules', () => {
    expect(sequence(plan({ scenario: 'incoming', extension_id: 300, number: '1' }))).toEqual([
      [300, 'dial-in', 'CALLING'],
      [300, 'hangup', 'ANSWER'],
    ]);
  });

  test('refused on a phone extension', () => {
    expect(refused({ scenario: 'ivr', extension_id: 175 })).toMatchObject({
      status: 400,
      field: 'extension_id',
      rule: 'kind',
    });
  });
});

describe('queue', () => {
  test('agents rung in order until the one who answers; caller thread without answer', () => {
    const p = plan({ scenario: 'queue', extension_id: 400, number: '+79110000001', answered_by: 202 });
    expect(sequence(p)).toEqual([
      [400, 'dial-in', 'CALLING'],
      [201, 'dial-in', 'CALLING'],
      [201, 'hangup', 'NOANSWER'],
      [202, 'dial-in', 'CALLING'],
      [202, 'answer', 'ANSWER'],
      [202, 'hangup', 'ANSWER'],
      [400, 'hangup', 'ANSWER'],
    ]);
    expect(eventsOf(p, 400, 'answer')).toEqual([]);
    const caller = eventsOf(p, 400, 'hangup')[0]!;
    expect(caller).toMatchObject({
      Bridged: 'yes',
      BridgedDuration: TALK,
      Duration: 2 * RING + TALK,
      CallFlow: 'in',
      RecID: `400-${p.callId}`,
    });
    const agent = eventsOf(p, 202, 'hangup')[0]!;
    expect(agent).toMatchObject({ Duration: TALK, CalledExtensionID: 202, CallerIDNum: '+79110000001' });
    expect('Bridged' in agent).toBe(false);
    expect(agent.RecID).toBeUndefined(); // 202 does not record
    expect(eventsOf(p, 201, 'hangup')[0]).toMatchObject({ Duration: 0 });
    expect('RecID' in eventsOf(p, 201, 'hangup')[0]!).toBe(false);
    // Each agent leg is its own component of the same call.
    const subs = p.events.map((e) => dataOf(e).SubCallID);
    expect(new Set(subs)).toEqual(new Set([400, 201, 202].map((x) => `${x}-${p.callId}`)));
    expect(p.events.filter((e) => e.event.extension_id === 202).map((e) => e.atUs)).toEqual([
      RING + 1, // rung as 201 hangs up: nudged after it
      2 * RING,
      2 * RING + TALK,
    ]);
  });

  test('outcome ANSWER without answered_by: the first agent answers', () => {
    const p = plan({ scenario: 'queue', extension_id: 400, number: '+79110000001' });
    expect(sequence(p)).toEqual([
      [400, 'dial-in', 'CALLING'],
      [201, 'dial-in', 'CALLING'],
      [201, 'answer', 'ANSWER'],
      [201, 'hangup', 'ANSWER'],
      [400, 'hangup', 'ANSWER'],
    ]);
    expect(eventsOf(p, 201, 'hangup')[0]!.RecID).toBe(`201-${p.callId}`);
  });

  test('nobody answers: two rounds, each agent reached twice with two SubCallIDs; Bridged=no', () => {
    const p = plan({ scenario: 'queue', extension_id: 400, number: '+79110000001', outcome: 'NOANSWER' });
    const agentRings = [201, 202, 203, 201, 202, 203].flatMap((a) => [
      [a, 'dial-in', 'CALLING'],
      [a, 'hangup', 'NOANSWER'],
    ]);
    expect(sequence(p)).toEqual([[400, 'dial-in', 'CALLING'], ...agentRings, [400, 'hangup', 'NOANSWER']]);
    for (const agent of [201, 202, 203]) {
      const subs = eventsOf(p, agent).map((d) => d.SubCallID);
      expect(subs).toEqual([
        `${agent}-${p.callId}`,
        `${agent}-${p.callId}`,
        `${agent}-${p.callId}-2`,
        `${agent}-${p.callId}-2`,
      ]);
    }
    expect(eventsOf(p, 400, 'hangup')[0]).toMatchObject({
      Bridged: 'no',
      BridgedDuration: 0,
      Duration: 6 * RING,
    });
    expect(eventsOf(p, 400, 'hangup')[0]!.RecID).toBeUndefined();
  });

  test('the caller cancels: the caller thread ends with CANCEL', () => {
    const p = plan({ scenario: 'queue', extension_id: 400, number: '+79110000001', outcome: 'CANCEL' });
    expect(eventsOf(p, 400, 'hangup')[0]).toMatchObject({ CallStatus: 'CANCEL', Bridged: 'no' });
  });

  test('a queue without agents: the caller waits one ring and leaves', () => {
    const p = plan({ scenario: 'queue', extension_id: 401, number: '+79110000001' });
    expect(sequence(p)).toEqual([
      [401, 'dial-in', 'CALLING'],
      [401, 'hangup', 'NOANSWER'],
    ]);
    expect(p.events[1]!.atUs).toBe(RING);
  });

  test('refused: answered_by not an agent of the queue; the queue scenario on a phone', () => {
    expect(refused({ scenario: 'queue', extension_id: 400, answered_by: 175 })).toMatchObject({
      status: 400,
      field: 'answered_by',
    });
    expect(refused({ scenario: 'queue', extension_id: 175 }).status).toBe(400);
  });

  test('an internal caller to a queue: its own dial-out, answered when the agent answers', () => {
    const p = plan({ scenario: 'outgoing', extension_id: 175, number: '000*400' });
    const mine = eventsOf(p, 175);
    expect(mine.map((d) => d.EventType)).toEqual(['dial-out', 'answer', 'hangup']);
    expect(mine[1]!.EventTime).toBeGreaterThan(eventsOf(p, 201, 'answer')[0]!.EventTime);
    expect(mine[2]!.Duration).toBe(TALK);
  });
});

describe('forwarding outside the PBX by incoming-call rules', () => {
  test('dial-in on the extension, then its dial-out to the number with Transfered=yes, same CallID', () => {
    const p = plan({ scenario: 'incoming', extension_id: 500, number: '+79110000001' });
    expect(sequence(p)).toEqual([
      [500, 'dial-in', 'CALLING'],
      [500, 'dial-out', 'CALLING'],
      [500, 'answer', 'ANSWER'],
      [500, 'answer', 'ANSWER'],
      [500, 'hangup', 'ANSWER'],
      [500, 'hangup', 'ANSWER'],
    ]);
    const [inLeg, outLeg] = [dataOf(p.events[0]!), dataOf(p.events[1]!)];
    expect(inLeg).toMatchObject({
      CallFlow: 'in',
      SubCallID: `500-${p.callId}`,
      CallerIDNum: '+79110000001',
    });
    expect('Transfered' in inLeg).toBe(false);
    expect(outLeg).toMatchObject({
      CallFlow: 'out',
      Transfered: 'yes',
      CalledNumber: '+79817654321',
      CallerExtensionID: 500,
      SubCallID: `500-${p.callId}-2`,
    });
    // Transfered marks every event of the forwarded component, and only those.
    for (const d of p.events.map(dataOf)) {
      expect(d.Transfered === 'yes').toBe(d.SubCallID === `500-${p.callId}-2`);
    }
  });

  test('the forward scenario with an explicit number, on an extension without a rule', () => {
    const p = plan({
      scenario: 'forward',
      extension_id: 175,
      number: '+79110000001',
      forward_to: '+4930123456',
    });
    expect(eventsOf(p, 175, 'dial-out')[0]).toMatchObject({ Transfered: 'yes', CalledNumber: '+4930123456' });
  });

  test('the far end is busy: both components end BUSY', () => {
    const p = plan({ scenario: 'forward', extension_id: 500, number: '+79110000001', outcome: 'BUSY' });
    expect(sequence(p)).toEqual([
      [500, 'dial-in', 'CALLING'],
      [500, 'dial-out', 'CALLING'],
      [500, 'hangup', 'BUSY'],
      [500, 'hangup', 'BUSY'],
    ]);
  });

  test('refused without a number to forward to', () => {
    expect(refused({ scenario: 'forward', extension_id: 175 })).toMatchObject({
      status: 400,
      field: 'forward_to',
      rule: 'required',
    });
  });
});

describe('voicemail', () => {
  test('unanswered call, then the message: Duration is its length, RecID always', () => {
    const p = plan({ scenario: 'voicemail', extension_id: 200, number: '+79110000001', talk_ms: 12_000 });
    expect(sequence(p)).toEqual([
      [200, 'dial-in', 'CALLING'],
      [200, 'hangup', 'NOANSWER'],
      [200, 'voicemail', undefined],
    ]);
    const vm = dataOf(p.events[2]!);
    expect(vm).toMatchObject({ Duration: 12_000_000, RecID: `200-${p.callId}`, CallerIDNum: '+79110000001' });
    expect(p.events[2]!.atUs).toBe(RING + 12_000_000);
  });

  test('busy goes to voicemail too; an answered one is refused', () => {
    const p = plan({ scenario: 'voicemail', extension_id: 175, outcome: 'BUSY' });
    expect(sequence(p)[1]).toEqual([175, 'hangup', 'BUSY']);
    expect(refused({ scenario: 'voicemail', extension_id: 175, outcome: 'ANSWER' }).status).toBe(400);
  });
});

describe('messages', () => {
  test('message-in: the snake_case fields', () => {
    const p = planScenario(
      { scenario: 'message-in', extension_id: 175, number: '+79110000001', did: '+78125550000', text: 'hi' },
      directory,
      { startUs: T0, random: seeded() },
    );
    checkPlan(p, T0);
    expect(p.events).toEqual([
      {
        atUs: 0,
        event: {
          event_type: 'message-in',
          extension_id: 175,
          data: {
            EventType: 'message-in',
            extension_name: '000*099',
            did_number: '+78125550000',
            src_number: '+79110000001',
            extension_id: 175,
            text: 'hi',
          },
        },
      },
    ]);
    expect(p.callId).toMatch(CALL_ID);
    expect(p.callApiId).toBeUndefined();
  });

  test('message-out: the snake_case fields; a destination is required', () => {
    const p = planScenario(
      { scenario: 'message-out', extension_id: 175, number: '+79110000001', text: 'bye' },
      directory,
      { startUs: T0, random: seeded() },
    );
    checkPlan(p, T0);
    expect(p.events[0]!.event.data).toStrictEqual({
      EventType: 'message-out',
      extension_name: '000*099',
      extension_id: 175,
      dst_number: '+79110000001',
      text: 'bye',
    });
    expect(refused({ scenario: 'message-out', extension_id: 175 }).field).toBe('number');
  });

  test('only for phone extensions', () => {
    expect(refused({ scenario: 'message-in', extension_id: 300 }).status).toBe(400);
  });
});

describe('identifiers and determinism', () => {
  test('ids have the shapes of the page log; different calls, different ids', () => {
    const a = planScenario({ scenario: 'outgoing', extension_id: 175, number: '1' }, directory, {
      startUs: T0,
    });
    const b = planScenario({ scenario: 'outgoing', extension_id: 175, number: '1' }, directory, {
      startUs: T0,
    });
    expect(a.callId).toMatch(CALL_ID);
    expect(a.callApiId).toMatch(CALL_API_ID);
    expect(a.callId).not.toBe(b.callId);
  });

  test('the same seed gives the same plan', () => {
    const req: SimulationRequest = { scenario: 'queue', extension_id: 400, answered_by: 203 };
    expect(planScenario(req, directory, { startUs: T0, random: seeded(3) })).toEqual(
      planScenario(req, directory, { startUs: T0, random: seeded(3) }),
    );
  });

  test('every scenario, outcome and extension gives events the contract accepts, or the one refusal it should', () => {
    /**
     * Which combinations are refused, and for what: the rules of planScenario, written out
     * (the calling extension must be a phone for `outgoing`; ivr and queue need their kind; a
     * call to an extension from itself is refused; voicemail takes unanswered calls only).
     */
    const refusal = (req: SimulationRequest, kind: string, selfCall: boolean): string | undefined => {
      if (req.scenario === 'outgoing') {
        if (kind !== 'phone') return 'extension_id';
        return selfCall ? 'number' : undefined;
      }
      if (selfCall) return 'number';
      if (req.scenario === 'ivr' && kind !== 'ivr') return 'extension_id';
      if (req.scenario === 'queue' && kind !== 'queue') return 'extension_id';
      if (req.scenario === 'voicemail' && req.outcome === 'ANSWER') return 'outcome';
      return undefined;
    };
    let plans = 0;
    let refused = 0;
    let combinations = 0;
    for (const ext of extensions) {
      for (const scenario of ['outgoing', 'incoming', 'ivr', 'queue', 'forward', 'voicemail'] as const) {
        for (const outcome of [undefined, ...hangupStatuses]) {
          for (const number of ['+79110000001', '000*200']) {
            combinations++;
            const req: SimulationRequest = {
              scenario,
              extension_id: ext.id,
              number,
              did: '+78125550000',
              forward_to: '+4930123456',
              ...(outcome ? { outcome } : {}),
              speed: 1000,
            };
            const selfCall = number === ext.name;
            const expected = refusal(req, ext.kind, selfCall);
            const what = JSON.stringify(req);
            if (expected) {
              let err: unknown;
              try {
                planScenario(req, directory, { startUs: T0, random: seeded(combinations) });
              } catch (e) {
                err = e;
              }
              expect(err, what).toBeInstanceOf(ScenarioError);
              expect((err as ScenarioError).field, what).toBe(expected);
              refused++;
              continue;
            }
            const p = planScenario(req, directory, { startUs: T0, random: seeded(combinations) });
            checkPlan(p, T0);
            plans++;
          }
        }
      }
    }
    expect(plans + refused).toBe(combinations);
    // Most combinations make a call; the refusals are exactly the rules above.
    expect(plans).toBeGreaterThan(combinations / 2);
    console.log(
      `scenarios: ${combinations} combinations, ${plans} planned and checked, ${refused} refused as expected`,
    );
  });
});
