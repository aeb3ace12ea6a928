import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HangupStatus } from '@callhook/contract';
import type { CallSpec } from '@callhook/kamailio/lab';
import {
  type AnyWebhookDelivery,
  CallAssembler,
  type CallRecord,
  nodeHandler,
  WebhookReceiver,
} from '@callhook/receiver';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { describeSip, type SipWorld, startSipWorld, until } from './world.js';

/**
 * 50 calls at once, of every kind, through one switch with several SIP workers: every call's
 * events reach a real receiver (@callhook/receiver: signatures checked, fields validated) once
 * each, in the call's order, and its call assembly gives each call the outcome the phones made.
 */
const RING_MS = 300;
const TALK_MS = 500;

interface Kind {
  spec: Omit<CallSpec, 'ms'> & { ms?: number };
  status: HangupStatus;
  /** Events per extension leg: `175 dial-out`, … */
  events: string[];
}

const out = (to: string, status: HangupStatus, answered = false): Kind => ({
  spec: { from: '000*099', name: 'Iggy Pop', to, action: 'hangup' },
  status,
  events: answered ? ['175 dial-out', '175 answer', '175 hangup'] : ['175 dial-out', '175 hangup'],
});
const KINDS: Kind[] = [
  out('00010005', 'ANSWER', true),
  out('00010486', 'BUSY'),
  out('00010408', 'NOANSWER'),
  out('00010503', 'CONGESTION'),
  {
    spec: { from: '000*099', name: 'Iggy Pop', to: '00010999', action: 'cancel', ms: RING_MS / 2 },
    status: 'CANCEL',
    events: ['175 dial-out', '175 hangup'],
  },
  {
    spec: { from: '000*099', name: 'Iggy Pop', to: '000*203', action: 'hangup' },
    status: 'CHANUNAVAIL',
    events: ['175 dial-out', '203 dial-in', '203 hangup', '175 hangup'],
  },
  {
    spec: { from: '000*099', name: 'Iggy Pop', to: '000*200', action: 'hangup' },
    status: 'ANSWER',
    events: ['175 dial-out', '200 dial-in', '200 answer', '175 answer', '200 hangup', '175 hangup'],
  },
  {
    spec: { from: '+12025550100', fromDomain: 'gateway.example', to: '4930555100', action: 'hangup' },
    status: 'ANSWER',
    events: ['200 dial-in', '200 answer', '200 hangup'],
  },
];
const CALLS = 50;

describeSip('a burst of real calls', () => {
  let world: SipWorld;
  let http: Server;
  const deliveries: AnyWebhookDelivery[] = [];
  const records = new Map<string, CallRecord>();
  beforeAll(async () => {
    world = await startSipWorld({
      ringMs: RING_MS,
      ringTimeoutMs: 5000,
      children: 4,
      phones: [{ user: '000*200', behaviour: 'p200' }],
      dids: { '4930555100': '000*200' },
    });
    // The receiver is made once the subscriptions (and their secrets) exist; nothing is sent before.
    let handler: ReturnType<typeof nodeHandler> | undefined;
    http = createServer((req, res) => handler!(req, res));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/calls`;
    const secrets: string[] = [];
    for (const ext of [175, 200, 203]) {
      for (const type of ['dial-in', 'dial-out', 'answer', 'hangup']) {
        const { secret } = await world.server.subscribe(url, type, 'POST', ext);
        if (secret !== undefined) secrets.push(secret);
      }
    }
    const assembler = new CallAssembler({ onCall: (c) => records.set(c.callId, c), quietPeriodMs: 1000 });
    // No deduplication: the test counts every request, to see that none came twice.
    const receiver = new WebhookReceiver({ secret: secrets, dedupe: false }).onAny((d) => {
      deliveries.push(d);
      assembler.add(d.event);
    });
    handler = nodeHandler(receiver);
  });
  afterAll(async () => {
    await world?.stop();
    if (http) {
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    }
  });

  test('50 concurrent calls of mixed outcomes: each event once, in order; each call its outcome', async () => {
    const plan = Array.from({ length: CALLS }, (_, i) => KINDS[i % KINDS.length]!);
    const placed = await world.call(
      plan.map((k) => ({ ...k.spec, ms: k.spec.ms ?? TALK_MS })),
      { rate: CALLS, limit: CALLS },
    );
    expect(placed.code, placed.errors).toBe(0);
    const expectedEvents = plan.reduce((n, k) => n + k.events.length, 0);
    await until(
      `${expectedEvents} events (have ${deliveries.length})`,
      () => deliveries.length >= expectedEvents,
      30_000,
    );
    await until(`${CALLS} assembled calls (have ${records.size})`, () => records.size >= CALLS, 15_000);
    // Anything more (a second copy of an event) would be right behind.
    await new Promise((r) => setTimeout(r, 500));
    expect(deliveries.length).toBe(expectedEvents);
    expect(new Set(deliveries.map((d) => d.id)).size).toBe(expectedEvents);

    for (const [i, kind] of plan.entries()) {
      const callId = world.callIdOf(placed.sipCallIds[i]!);
      const mine = deliveries.filter((d) => 'CallID' in d.event && d.event.CallID === callId);
      const got = mine.map((d) => {
        const e = d.event as { SubCallID: string; EventType: string };
        return `${e.SubCallID.split('-')[0]} ${e.EventType}`;
      });
      // Once each, in the order the call made them (one endpoint: one order for the call).
      expect(got, `call ${i} (${kind.spec.to})`).toEqual(kind.events);
      const times = mine.map((d) => (d.event as { EventTime: number }).EventTime);
      expect(times, `call ${i}`).toEqual([...times].sort((a, b) => a - b));

      const record = records.get(callId);
      expect(record?.complete, `call ${i}`).toBe(true);
      expect(record?.status, `call ${i} (${kind.spec.to})`).toBe(kind.status);
      expect(record?.answered).toBe(kind.status === 'ANSWER');
    }
  });
});
