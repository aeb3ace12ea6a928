import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import {
  type AnyWebhookPayload,
  type IntakeEvent,
  type Random,
  schemas,
  seededRandom,
  type WebhookPayload,
  webhookPayloadSchemas,
} from '@callhook/contract';
import { expect } from 'vitest';
import { parse } from 'yaml';
import type * as z from 'zod';
import { createDirectory, type PbxExtension } from '../src/simulator/directory.js';
import type { CallPlan, PlannedEvent } from '../src/simulator/scenarios.js';

/** The page's extension 175 and a small PBX around it (one client), plus another client's phone. */
export const extensions: PbxExtension[] = [
  {
    id: 175,
    name: '000*099',
    domain: 'sip.domain',
    callerIdName: 'Iggy Pop',
    recording: true,
    kind: 'phone',
    clientId: 1,
  },
  {
    id: 200,
    name: '000*200',
    domain: 'sip.domain',
    callerIdName: 'David Bowie',
    recording: false,
    kind: 'phone',
    clientId: 1,
  },
  {
    id: 201,
    name: '000*201',
    domain: 'sip.domain',
    callerIdName: 'Lou Reed',
    recording: true,
    kind: 'phone',
    clientId: 1,
  },
  {
    id: 202,
    name: '000*202',
    domain: 'sip.domain',
    callerIdName: 'Nico',
    recording: false,
    kind: 'phone',
    clientId: 1,
  },
  { id: 203, name: '000*203', domain: 'sip.domain', recording: true, kind: 'phone', clientId: 1 },
  {
    id: 300,
    name: '000*300',
    domain: 'sip.domain',
    callerIdName: 'Main menu',
    recording: false,
    kind: 'ivr',
    clientId: 1,
  },
  {
    id: 400,
    name: '000*400',
    domain: 'sip.domain',
    callerIdName: 'Support queue',
    recording: true,
    kind: 'queue',
    agents: [201, 202, 203],
    clientId: 1,
  },
  {
    id: 401,
    name: '000*401',
    domain: 'sip.domain',
    recording: false,
    kind: 'queue',
    agents: [],
    clientId: 1,
  },
  {
    id: 500,
    name: '000*500',
    domain: 'sip.domain',
    callerIdName: 'Night desk',
    recording: true,
    kind: 'phone',
    forwardTo: '+79817654321',
    clientId: 1,
  },
  { id: 900, name: '001*900', domain: 'other.domain', recording: false, kind: 'phone', clientId: 2 },
];

export const directory = createDirectory(extensions);

/** The page's logged events, from the spec's examples (the spec is the source of truth). */
export function pageExamples(): {
  dialOut: WebhookPayload<'dial-out'>;
  answer: WebhookPayload<'answer'>;
  hangup: WebhookPayload<'hangup'>;
} {
  const file = createRequire(import.meta.url).resolve('@callhook/spec/openapi.yaml');
  const doc = parse(readFileSync(file, 'utf8')) as {
    components: { examples: Record<string, { value: unknown }> };
  };
  const ex = doc.components.examples;
  // Validated, but returned as written: zod's output would reorder the keys, and the order is
  // part of what the page shows.
  const valid = <T>(schema: z.ZodType<T>, value: unknown): T => {
    schema.parse(value);
    return value as T;
  };
  return {
    dialOut: valid(webhookPayloadSchemas['dial-out'], ex.PageDialOut?.value),
    answer: valid(webhookPayloadSchemas.answer, ex.PageAnswer?.value),
    hangup: valid(webhookPayloadSchemas.hangup, ex.PageHangup?.value),
  };
}

/**
 * A random source that first yields exactly the numbers the id generators turn into the page's
 * CallID (16 bytes) and CallAPIID prefix, then a seeded sequence.
 */
export function pageRandom(): Random {
  const bytes = '31845fca85624b7a94cf7b4036fd6d52'
    .match(/../g)!
    .map((h) => (Number.parseInt(h, 16) + 0.5) / 256);
  const script = [...bytes, (3584705177 + 0.5) / 2 ** 32];
  const rest = seededRandom(1);
  return () => script.shift() ?? rest();
}

export const PAGE_START_US = 1499349840250190;

export const CALL_ID = /^[0-9a-f]{32}$/;
export const CALL_API_ID = /^\d+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type CallData = Extract<AnyWebhookPayload, { CallID: string }>;

/** The call event data of an intake event, or undefined for a message. */
function callData(event: IntakeEvent): CallData | undefined {
  return event.event_type === 'message-in' || event.event_type === 'message-out' ? undefined : event.data;
}

/** The call event data of a planned event (fails the test for a message). */
export function dataOf(e: PlannedEvent | IntakeEvent): CallData {
  const event = 'event' in e ? e.event : e;
  const data = callData(event);
  if (!data) throw new Error(`${event.event_type} is not a call event`);
  return data;
}

/** `[extension_id, event_type, CallStatus]` of each event: the sequence the rules give. */
export function sequence(plan: CallPlan): Array<[number, string, string | undefined]> {
  return plan.events.map(({ event }) => [event.extension_id, event.event_type, callData(event)?.CallStatus]);
}

export function eventsOf(plan: CallPlan, extensionId: number, type?: string): CallData[] {
  return plan.events
    .filter(
      (e) => e.event.extension_id === extensionId && (type === undefined || e.event.event_type === type),
    )
    .map(dataOf);
}

/**
 * What every plan must satisfy: each event valid for the contract (the intake schema, and the
 * webhook payload schema without anything stripped, so no field outside the spec), no empty
 * value (only fields with a value are sent), `event_type` = `EventType`, one CallID and CallAPIID
 * of the right shapes, `EventTime` strictly increasing, `atUs` matching it.
 */
export function checkPlan(plan: CallPlan, startUs: number): void {
  expect(plan.events.length).toBeGreaterThan(0);
  let lastTime = -1;
  for (const { atUs, event } of plan.events) {
    expect(schemas.zIntakeEvent.parse(event)).toEqual(event);
    expect(webhookPayloadSchemas[event.event_type].parse(event.data)).toStrictEqual(event.data);
    expect(event.data.EventType).toBe(event.event_type);
    for (const value of Object.values(event.data)) expect(value === undefined || value === '').toBe(false);
    const data = callData(event);
    if (!data) continue;
    expect(data.CallID).toBe(plan.callId);
    expect(data.CallID).toMatch(CALL_ID);
    expect(data.CallAPIID).toBe(plan.callApiId);
    expect(data.CallAPIID).toMatch(CALL_API_ID);
    expect(data.CallAPIID?.endsWith(dashed(data.CallID))).toBe(true);
    expect(data.EventTime).toBe(startUs + atUs);
    expect(data.EventTime).toBeGreaterThan(lastTime);
    lastTime = data.EventTime;
    // Every component's id is `<its extension>-<CallID>`, with `-n` for the n-th visit.
    expect(data.SubCallID).toMatch(new RegExp(`^${event.extension_id}-${data.CallID}(-[2-9]\\d*)?$`));
    if (data.RecID !== undefined) expect(data.RecID).toBe(`${event.extension_id}-${data.CallID}`);
  }
}

export function dashed(hex: string): string {
  return hex.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');
}

export const seeded = (seed = 7): Random => seededRandom(seed);
