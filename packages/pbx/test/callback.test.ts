import type { CallbackRequest } from '@callhook/contract';
import { describe, expect, test } from 'vitest';
import {
  type CallPlan,
  PAGE_RING_US,
  PAGE_TALK_US,
  planCallback,
  ScenarioError,
} from '../src/simulator/scenarios.js';
import { checkPlan, dataOf, directory, eventsOf, seeded, sequence } from './world.js';

const T0 = 1_700_000_000_000_000;
const RING = PAGE_RING_US;
const TALK = PAGE_TALK_US;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function callback(owner: number, req: CallbackRequest): CallPlan {
  const p = planCallback(owner, req, directory, { startUs: T0, random: seeded() });
  checkPlan(p, T0);
  return p;
}

/** Every event carries the same CallBackID; returns it. */
function callBackId(p: CallPlan): string {
  const ids = new Set(p.events.map((e) => dataOf(e).CallBackID));
  expect(ids.size).toBe(1);
  const [id] = ids;
  expect(id).toMatch(UUID);
  return id!;
}

describe('callback', () => {
  test("the page's optimisation: 200 calling on its own behalf gives only its dial-out to dst_num", () => {
    const p = callback(200, { dst_num: '+79817654321', src_num: ['200'] });
    expect(sequence(p)).toEqual([
      [200, 'dial-out', 'CALLING'],
      [200, 'answer', 'ANSWER'],
      [200, 'hangup', 'ANSWER'],
    ]);
    for (const d of p.events.map(dataOf)) {
      expect(d).toMatchObject({
        CallFlow: 'out',
        CalledNumber: '+79817654321',
        CallerIDNum: '000*200',
        CallerExtensionID: 200,
        SubCallID: `200-${p.callId}`,
      });
      expect('CalledExtensionID' in d).toBe(false);
      expect('Tag' in d).toBe(false);
    }
    callBackId(p);
    expect(p.events.map((e) => e.atUs)).toEqual([0, RING, RING + TALK]);
    expect(dataOf(p.events[2]!).Duration).toBe(TALK);
  });

  test('the owner named by its full name or id is the owner too', () => {
    for (const src of ['000*200', '200']) {
      expect(sequence(callback(200, { dst_num: '+79817654321', src_num: [src] })).map((s) => s[1])).toEqual([
        'dial-out',
        'answer',
        'hangup',
      ]);
    }
  });

  test('tag appears as Tag in every event', () => {
    const p = callback(200, { dst_num: '+79817654321', src_num: ['200'], tag: 'campaign-7' });
    for (const d of p.events.map(dataOf)) expect(d.Tag).toBe('campaign-7');
  });

  test('another extension as src_num: it is rung first, then the owner dials dst_num', () => {
    const p = callback(200, { dst_num: '+79817654321', src_num: ['201'], tag: 't' });
    expect(sequence(p)).toEqual([
      [200, 'dial-out', 'CALLING'],
      [201, 'dial-in', 'CALLING'],
      [201, 'answer', 'ANSWER'],
      [200, 'answer', 'ANSWER'],
      [200, 'dial-out', 'CALLING'],
      [200, 'answer', 'ANSWER'],
      [200, 'hangup', 'ANSWER'],
      [201, 'hangup', 'ANSWER'],
      [200, 'hangup', 'ANSWER'],
    ]);
    callBackId(p);
    const [toSrc, toDst] = eventsOf(p, 200, 'dial-out');
    expect(toSrc).toMatchObject({
      CalledNumber: '201',
      CalledExtensionID: 201,
      SubCallID: `200-${p.callId}`,
    });
    expect(toDst).toMatchObject({ CalledNumber: '+79817654321', SubCallID: `200-${p.callId}-2` });
    expect(eventsOf(p, 201, 'dial-in')[0]).toMatchObject({ CallerExtensionID: 200, CallFlow: 'in' });
    // The dst leg talked TALK; the src legs also waited for dst to answer.
    const hangups = Object.fromEntries(eventsOf(p, 200, 'hangup').map((d) => [d.SubCallID, d.Duration]));
    expect(hangups).toEqual({ [`200-${p.callId}`]: RING + TALK, [`200-${p.callId}-2`]: TALK });
    expect(eventsOf(p, 201, 'hangup')[0]).toMatchObject({ Duration: RING + TALK, RecID: `201-${p.callId}` });
    for (const d of p.events.map(dataOf)) expect(d.Tag).toBe('t');
  });

  test('several src_num: rung together, the first answers, the others are cancelled then', () => {
    const p = callback(200, { dst_num: '+79817654321', src_num: ['201', '202', '+79110000001'] });
    expect(eventsOf(p, 202).map((d) => [d.EventType, d.CallStatus])).toEqual([
      ['dial-in', 'CALLING'],
      ['hangup', 'CANCEL'],
    ]);
    expect(eventsOf(p, 202, 'hangup')[0]!.EventTime).toBeGreaterThan(
      eventsOf(p, 201, 'answer')[0]!.EventTime,
    );
    const owner = eventsOf(p, 200).map((d) => [d.EventType, d.CalledNumber, d.CallStatus]);
    expect(owner).toEqual([
      ['dial-out', '201', 'CALLING'],
      ['dial-out', '202', 'CALLING'],
      ['dial-out', '+79110000001', 'CALLING'],
      ['answer', '201', 'ANSWER'],
      ['hangup', '202', 'CANCEL'],
      ['hangup', '+79110000001', 'CANCEL'],
      ['dial-out', '+79817654321', 'CALLING'],
      ['answer', '+79817654321', 'ANSWER'],
      ['hangup', '+79817654321', 'ANSWER'],
      ['hangup', '201', 'ANSWER'],
    ]);
    // The owner's four components, four SubCallIDs.
    expect(new Set(eventsOf(p, 200).map((d) => d.SubCallID)).size).toBe(4);
  });

  test('an internal dst_num gets its dial-in', () => {
    const p = callback(200, { dst_num: '000*201', src_num: ['200'] });
    expect(sequence(p)).toEqual([
      [200, 'dial-out', 'CALLING'],
      [201, 'dial-in', 'CALLING'],
      [201, 'answer', 'ANSWER'],
      [200, 'answer', 'ANSWER'],
      [201, 'hangup', 'ANSWER'],
      [200, 'hangup', 'ANSWER'],
    ]);
  });

  test('a queue as src_num: BridgedDuration tells the real conversation time', () => {
    const p = callback(175, { dst_num: '+79817654321', src_num: ['000*400'] });
    const queue = eventsOf(p, 400, 'hangup')[0]!;
    expect(queue).toMatchObject({ Bridged: 'yes', BridgedDuration: RING + TALK, Duration: 2 * RING + TALK });
  });

  test('timing comes from the simulator: speed scales it', () => {
    const p = planCallback(200, { dst_num: '+79817654321', src_num: ['200'] }, directory, {
      startUs: T0,
      random: seeded(),
      timing: { ring_ms: 100, talk_ms: 300, speed: 10 },
    });
    expect(p.events.map((e) => e.atUs)).toEqual([0, 10_000, 40_000]);
  });

  test('refused: an unknown owner, the owner as dst_num', () => {
    const err = (owner: number, req: CallbackRequest) => {
      try {
        planCallback(owner, req, directory, { startUs: T0 });
      } catch (e) {
        expect(e).toBeInstanceOf(ScenarioError);
        return e as ScenarioError;
      }
      throw new Error('accepted');
    };
    expect(err(9999, { dst_num: '1', src_num: ['200'] }).status).toBe(404);
    expect(err(200, { dst_num: '000*200', src_num: ['201'] })).toMatchObject({
      status: 400,
      field: 'dst_num',
    });
  });
});
