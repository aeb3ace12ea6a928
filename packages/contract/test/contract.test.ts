import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { eventTypes, formFields, schemas, webhookPayloadSchemas } from '../src/index.js';

const spec = parse(
  readFileSync(createRequire(import.meta.url).resolve('@callhook/spec/openapi.yaml'), 'utf8'),
);

describe('runtime schemas', () => {
  test('one payload schema per webhook in the spec, and the seven event types', () => {
    expect(Object.keys(spec.webhooks).sort()).toEqual([...eventTypes].sort());
    expect(Object.keys(webhookPayloadSchemas).sort()).toEqual([...eventTypes].sort());
    expect(eventTypes).toHaveLength(7);
  });

  test("the page's logged events are valid payloads of their event type", () => {
    for (const name of ['PageDialOut', 'PageAnswer', 'PageHangup']) {
      const value = spec.components.examples[name].value;
      const schema = webhookPayloadSchemas[value.EventType as 'dial-out'];
      expect(schema.safeParse(value).success, name).toBe(true);
    }
  });

  test('a payload of one type is refused by another type, and bad values are named', () => {
    const hangup = spec.components.examples.PageHangup.value;
    expect(webhookPayloadSchemas.answer.safeParse(hangup).success).toBe(false);
    const bad = webhookPayloadSchemas.hangup.safeParse({ ...hangup, CallStatus: 'CALLING' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['CallStatus']);
    const missing = webhookPayloadSchemas.hangup.safeParse({ ...hangup, CallID: undefined });
    expect(missing.error?.issues.map((i) => i.path.join('.'))).toContain('CallID');
  });

  test('the page examples of subscriptions fit the subscription schemas', () => {
    expect(schemas.zSubscriptionCreate.safeParse(spec.components.examples.CreateDialOut.value).success).toBe(
      true,
    );
    expect(schemas.zSubscription.safeParse(spec.components.examples.PageSubscription.value).success).toBe(
      true,
    );
    expect(schemas.zSubscriptionCreate.safeParse({ url: 'x', method: 'PUT' }).success).toBe(false);
  });

  test('formFields reads field kinds off the schema, through allOf', () => {
    const hangup = formFields(webhookPayloadSchemas.hangup);
    const specFields = Object.keys(spec.components.schemas.CallEventFields.properties);
    expect([...hangup.keys()].sort()).toEqual(specFields.sort());
    const integers = specFields.filter(
      (f) => spec.components.schemas.CallEventFields.properties[f].type === 'integer',
    );
    expect(
      [...hangup]
        .filter(([, k]) => k === 'integer')
        .map(([f]) => f)
        .sort(),
    ).toEqual(integers.sort());
    expect(integers).toEqual(expect.arrayContaining(['EventTime', 'Duration', 'CallerExtensionID']));
    expect(formFields(webhookPayloadSchemas['message-in']).get('extension_id')).toBe('integer');
    expect(formFields(webhookPayloadSchemas['message-in']).get('text')).toBe('string');
  });
});
