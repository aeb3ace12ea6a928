import { type EventType, eventTypes, formFields, webhookPayloadSchemas } from '@callhook/contract';
import fc from 'fast-check';
import { describe, expect, test, vi } from 'vitest';
import * as z from 'zod';
import { WebhookParser } from '../src/index.js';
import { acceptsAll, eventShapes, flatten, predicateOf } from '../src/schema.js';
import { anyEventType, payloadOf } from './arbitraries.js';
import { encodeEvent, getTarget, SECRET, signedHeaders } from './support.js';

const parser = new WebhookParser({ secret: SECRET });

/** The subscriber's own query: names that are not event fields (those would be event data by design). */
function ownQuery(type: EventType): fc.Arbitrary<[string, string][]> {
  const fields = formFields(webhookPayloadSchemas[type]);
  const name = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).filter((n) => !fields.has(n));
  return fc.array(fc.tuple(name, fc.string({ unit: 'grapheme', maxLength: 12 })), { maxLength: 4 });
}

const deliveries = anyEventType.chain((type) =>
  fc.record({ type: fc.constant(type), payload: payloadOf(type), own: ownQuery(type) }),
);

describe('round trip: what the delivery engine sends parses back to the same event', () => {
  test('GET: event data after the subscription URL own query, signed over the raw query', () => {
    fc.assert(
      fc.property(deliveries, ({ payload, own }) => {
        const base = `/fordel/show.php${own.length > 0 ? `?${new URLSearchParams(own)}` : ''}`;
        const url = getTarget(base, encodeEvent(payload));
        const headers = signedHeaders(url.slice(url.indexOf('?') + 1));
        const delivery = parser.parse({ method: 'GET', url, headers });
        expect(delivery.event).toEqual(payload);
        expect({ ...delivery.params }).toEqual(Object.fromEntries(own));
        expect({ ...delivery.extra }).toEqual({});
      }),
      { numRuns: 500 },
    );
  });

  test('POST: event data in the body, the URL own query apart', () => {
    fc.assert(
      fc.property(deliveries, ({ payload, own }) => {
        const body = Buffer.from(encodeEvent(payload));
        const delivery = parser.parse({
          method: 'POST',
          url: `/hook?${new URLSearchParams(own)}`,
          headers: {
            ...signedHeaders(body.toString()),
            'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
          },
          body,
        });
        expect(delivery.event).toEqual(payload);
        expect({ ...delivery.params }).toEqual(Object.fromEntries(own));
      }),
      { numRuns: 500 },
    );
  });

  test('every event type gets generated', () => {
    const seen = new Set(fc.sample(deliveries, 300).map((d) => d.type));
    expect([...seen].sort()).toEqual([...eventTypes].sort());
  });
});

/** Valid payloads of any event type with up to three fields set to values from `pool`. */
function mutatedPayloads(pool: readonly unknown[]) {
  return anyEventType.chain((type) =>
    fc.record({
      type: fc.constant(type),
      value: fc
        .tuple(payloadOf(type), fc.array(fc.tuple(fc.nat(), fc.constantFrom(...pool)), { maxLength: 3 }))
        .map(([payload, edits]) => {
          const copy: Record<string, unknown> = { ...payload };
          const names = [...formFields(webhookPayloadSchemas[type]).keys()];
          for (const [at, value] of edits) copy[names[at % names.length]!] = value;
          return copy;
        }),
    }),
  );
}

describe('the flattened schemas the parser validates with', () => {
  const pool: unknown[] = [
    undefined,
    '',
    'x',
    'yes',
    'no',
    'in',
    'ANSWER',
    'CALLING',
    'hangup',
    -1,
    0,
    1.5,
    2 ** 60,
    null,
  ];
  const mutated = mutatedPayloads(pool);

  test('accept and refuse exactly what the generated schemas do, with the same output', () => {
    fc.assert(
      fc.property(mutated, ({ type, value }) => {
        const generated = webhookPayloadSchemas[type].safeParse(value);
        const flat = flatten(webhookPayloadSchemas[type] as z.ZodType).safeParse(value);
        expect(flat.success).toBe(generated.success);
        if (generated.success) expect(flat.data).toEqual(generated.data);
      }),
      { numRuns: 2000 },
    );
  });

  test('the mutations make both valid and invalid values', () => {
    const outcomes = fc
      .sample(mutated, 300)
      .map(({ type, value }) => webhookPayloadSchemas[type].safeParse(value).success);
    expect(outcomes).toContain(true);
    expect(outcomes).toContain(false);
  });

  test('are plain objects for the allOf events, so the fast path is really taken', () => {
    for (const type of eventTypes) {
      expect(flatten(webhookPayloadSchemas[type] as z.ZodType).def.type, type).toBe('object');
    }
  });
});

describe('the predicates read off the schemas, which let valid events skip zod', () => {
  // Values at and past every bound and length the spec has, and of every wrong type.
  const pool: unknown[] = [
    undefined,
    null,
    '',
    'x',
    'x'.repeat(100),
    'x'.repeat(101),
    'yes',
    'no',
    'in',
    'out',
    'ANSWER',
    'CALLING',
    'hangup',
    'dial-in',
    true,
    false,
    -1,
    -0,
    0,
    1,
    1.5,
    2 ** 53 - 1,
    2 ** 53,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    {},
    [],
  ];
  const mutated = mutatedPayloads(pool);

  test('every event type has them, so the parser does skip zod for valid events', () => {
    for (const type of eventTypes) expect(eventShapes[type].requiredCount, type).toBeGreaterThan(0);
  });

  test('accept exactly what the generated schemas accept', () => {
    fc.assert(
      fc.property(mutated, ({ type, value }) => {
        expect(acceptsAll(eventShapes[type], value)).toBe(
          webhookPayloadSchemas[type].safeParse(value).success,
        );
      }),
      { numRuns: 3000 },
    );
  });

  test('each agrees with its field schema on every value of the pool', () => {
    for (const type of eventTypes) {
      const shape = flatten(webhookPayloadSchemas[type] as z.ZodType) as unknown as {
        shape: Record<string, z.ZodType>;
      };
      for (const [name, field] of Object.entries(shape.shape)) {
        const accepts = predicateOf(field)!;
        for (const value of pool.filter((v) => v !== undefined)) {
          expect(accepts(value), `${type}.${name} = ${String(value)}`).toBe(field.safeParse(value).success);
        }
      }
    }
  });

  test('a valid event, optional fields and all, is not run through zod; an invalid one is', () => {
    const parser = new WebhookParser({ allowUnsigned: true });
    const zod = vi.spyOn(eventShapes.hangup.schema, 'safeParse');
    try {
      const event = 'EventType=hangup&CallID=c1&EventTime=1&CallFlow=in&CallStatus=ANSWER';
      const post = (body: string) =>
        parser.parse({
          method: 'POST',
          url: '/hook',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: Buffer.from(body),
        });
      expect(post(`${event}&Duration=5&RecID=r1&Bridged=yes&CallerIDNum=100`).event).toEqual({
        EventType: 'hangup',
        CallID: 'c1',
        EventTime: 1,
        CallFlow: 'in',
        CallStatus: 'ANSWER',
        Duration: 5,
        RecID: 'r1',
        Bridged: 'yes',
        CallerIDNum: '100',
      });
      expect(zod).not.toHaveBeenCalled();
      expect(() => post(event.replace('&CallFlow=in', '&CallFlow=sideways'))).toThrow(/CallFlow/);
      expect(zod).toHaveBeenCalledTimes(1);
    } finally {
      zod.mockRestore();
    }
  });

  test('refuse what they do not understand, leaving the event to zod', () => {
    expect(predicateOf(z.string().email())).toBeUndefined();
    expect(predicateOf(z.string().regex(/^a/))).toBeUndefined();
    expect(predicateOf(z.number().refine((n) => n > 1))).toBeUndefined();
    expect(predicateOf(z.array(z.string()))).toBeUndefined();
    expect(predicateOf(z.string().max(3))!('abcd')).toBe(false);
  });
});
