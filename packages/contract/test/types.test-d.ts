import { describe, expectTypeOf, test } from 'vitest';
import type {
  AnyWebhookPayload,
  CallEventType,
  EventType,
  paths,
  Subscription,
  SubscriptionCreate,
  WebhookPayload,
  webhooks,
} from '../src/index.js';

describe('derived names follow the spec', () => {
  test('EventType is the seven event types', () => {
    expectTypeOf<EventType>().toEqualTypeOf<
      'dial-in' | 'dial-out' | 'answer' | 'hangup' | 'voicemail' | 'message-in' | 'message-out'
    >();
  });

  test('a subscription has the page fields, method GET | POST, id a number', () => {
    expectTypeOf<Subscription['method']>().toEqualTypeOf<'GET' | 'POST'>();
    expectTypeOf<Subscription['id']>().toEqualTypeOf<number>();
    expectTypeOf<Subscription['url']>().toEqualTypeOf<string>();
    expectTypeOf<SubscriptionCreate>().toHaveProperty('event_type').toEqualTypeOf<EventType>();
  });

  test('the hangup payload: Duration optional number, CallStatus the hangup statuses', () => {
    type Hangup = WebhookPayload<'hangup'>;
    expectTypeOf<Hangup['Duration']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<Hangup['EventType']>().toEqualTypeOf<'hangup'>();
    expectTypeOf<Hangup['CallStatus']>().toEqualTypeOf<
      'ANSWER' | 'BUSY' | 'NOANSWER' | 'CANCEL' | 'CONGESTION' | 'CHANUNAVAIL'
    >();
    expectTypeOf<Hangup['CallFlow']>().toEqualTypeOf<'in' | 'out'>();
    expectTypeOf<Hangup['Bridged']>().toEqualTypeOf<'yes' | 'no' | undefined>();
    expectTypeOf<Hangup['EventTime']>().toEqualTypeOf<number>();
  });

  test('dial-out and answer narrow CallStatus to their one value', () => {
    expectTypeOf<WebhookPayload<'dial-out'>['CallStatus']>().toEqualTypeOf<'CALLING'>();
    expectTypeOf<WebhookPayload<'answer'>['CallStatus']>().toEqualTypeOf<'ANSWER'>();
    expectTypeOf<WebhookPayload<'dial-out'>['Transfered']>().toEqualTypeOf<'yes' | undefined>();
  });

  test('message events carry their snake_case fields', () => {
    expectTypeOf<WebhookPayload<'message-in'>['did_number']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<WebhookPayload<'message-out'>['dst_number']>().toEqualTypeOf<string>();
    expectTypeOf<WebhookPayload<'message-out'>['extension_id']>().toEqualTypeOf<number>();
  });

  test('the union discriminates on EventType', () => {
    const narrow = (e: AnyWebhookPayload) => (e.EventType === 'voicemail' ? e : null);
    expectTypeOf(narrow).returns.toEqualTypeOf<WebhookPayload<'voicemail'> | null>();
    expectTypeOf<CallEventType>().toEqualTypeOf<'dial-in' | 'dial-out' | 'answer' | 'hangup' | 'voicemail'>();
  });

  test('paths keep the trailing slash and type their operations', () => {
    type Create = paths['/extension/{extension_id}/event/']['post'];
    expectTypeOf<Create['requestBody']['content']['application/json']>().toEqualTypeOf<SubscriptionCreate>();
    expectTypeOf<Create['parameters']['path']['extension_id']>().toEqualTypeOf<string>();
    expectTypeOf<keyof webhooks>().toEqualTypeOf<EventType>();
  });
});
