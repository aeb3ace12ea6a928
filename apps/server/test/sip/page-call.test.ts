import { afterAll, beforeAll, expect, test } from 'vitest';
import { pageCall } from '../events.js';
import { type Receiver, startReceiver } from '../receivers.js';
import { describeSip, fieldsOf, SIPP_CLOCK_SLACK_US, type SipWorld, startSipWorld } from './world.js';

/**
 * The page's call, placed for real: phone 000*099 (extension 175, "Iggy Pop", sip.domain)
 * registers nothing special, dials 00010005 through Kamailio, the PSTN gateway (sipp) rings and
 * answers, the phone hangs up. The page's receiver (`GET …/show.php?myid=175`, subscribed to
 * dial-out, answer and hangup) logs what the page logs, every field, from the switch's own times.
 */
const RING_MS = 600;
const TALK_MS = 900;

describeSip("the page's call through a real switch", () => {
  let world: SipWorld;
  let page: Receiver;
  beforeAll(async () => {
    world = await startSipWorld({ ringMs: RING_MS });
    page = await startReceiver();
    for (const type of ['dial-out', 'answer', 'hangup']) {
      await world.server.subscribe(`${page.url}/fordel/show.php?myid=175`, type, 'GET');
    }
  });
  afterAll(async () => {
    await world?.stop();
    await page?.close();
  });

  test('dial-out, answer, hangup: every field of the page log, from the SIP call', async () => {
    const before = Date.now() * 1000;
    const placed = await world.call([
      { from: '000*099', name: 'Iggy Pop', to: '00010005', action: 'hangup', ms: TALK_MS },
    ]);
    expect(placed.code, placed.errors).toBe(0);
    const after = Date.now() * 1000;
    const got = await page.waitFor(3, 10_000);
    const [dialOut, answer, hangup] = got.map(fieldsOf);

    // The same fields as the page's log, nothing more, nothing less, in each event.
    const pageFields = (e: object) => ['myid', ...Object.keys(e)].sort();
    expect(Object.keys(dialOut!).sort()).toEqual(pageFields(pageCall.dialOut));
    expect(Object.keys(answer!).sort()).toEqual(pageFields(pageCall.answer));
    expect(Object.keys(hangup!).sort()).toEqual(pageFields(pageCall.hangup));

    // What the page's log has literally, the SIP call has too.
    const fixed = [
      'CalledNumber',
      'CallerIDNum',
      'CallerExtensionID',
      'CallerExtension',
      'CallFlow',
      'CallerIDName',
    ];
    for (const [mine, theirs] of [
      [dialOut, pageCall.dialOut],
      [answer, pageCall.answer],
      [hangup, pageCall.hangup],
    ] as const) {
      expect(mine!.myid).toBe('175');
      for (const f of fixed) expect(mine![f], f).toBe(String(theirs[f as keyof typeof theirs]));
      expect(mine!.EventType).toBe(theirs.EventType);
      expect(mine!.CallStatus).toBe(theirs.CallStatus);
    }

    // Identifiers: derived from the SIP Call-ID, the same in every event, in the page's forms.
    const callId = world.callIdOf(placed.sipCallIds[0]!);
    expect(callId).toMatch(/^[0-9a-f]{32}$/);
    const dashed = `${callId.slice(0, 8)}-${callId.slice(8, 12)}-${callId.slice(12, 16)}-${callId.slice(16, 20)}-${callId.slice(20)}`;
    for (const e of [dialOut!, answer!, hangup!]) {
      expect(e.CallID).toBe(callId);
      expect(e.SubCallID).toBe(`175-${callId}`);
      expect(e.CallAPIID).toMatch(new RegExp(`^\\d{1,10}-${dashed}$`));
      expect(e.CallAPIID).toBe(dialOut!.CallAPIID);
    }
    // Extension 175 records calls: the hangup of the answered call names the recording.
    expect(hangup!.RecID).toBe(`175-${callId}`);

    // Times: the switch's, in µs, within the call; ringing and talk as the phones did them.
    const times = [dialOut!, answer!, hangup!].map((e) => Number(e.EventTime));
    for (const t of times) {
      expect(t).toBeGreaterThanOrEqual(before);
      expect(t).toBeLessThanOrEqual(after);
    }
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(RING_MS * 1000 - SIPP_CLOCK_SLACK_US);
    expect(times[1]! - times[0]!).toBeLessThan((RING_MS + 1000) * 1000);
    expect(Number(hangup!.Duration)).toBe(times[2]! - times[1]!);
    expect(Number(hangup!.Duration)).toBeGreaterThanOrEqual(TALK_MS * 1000 - SIPP_CLOCK_SLACK_US);
    expect(Number(hangup!.Duration)).toBeLessThan((TALK_MS + 1000) * 1000);
  });
});
