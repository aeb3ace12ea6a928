import type { WebhookPayload } from '@callhook/contract';
import { describe, expect, expectTypeOf, test } from 'vitest';
import { MemoryDeliveryIdStore, WebhookReceiver, type WebhookRequest } from '../src/index.js';
import { encodeEvent, pageCall, SECRET, signedHeaders } from './support.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };

function delivery(event: Record<string, unknown>, id = 'msg_1'): WebhookRequest {
  const body = encodeEvent(event);
  return {
    method: 'POST',
    url: '/hook?myid=175',
    headers: { ...FORM, ...signedHeaders(body, { id }) },
    body,
  };
}

describe('WebhookReceiver', () => {
  test('on(type) runs only for that type, with the event narrowed', async () => {
    const seen: string[] = [];
    const receiver = new WebhookReceiver({ secret: SECRET })
      .on('hangup', (event, d) => {
        expectTypeOf(event).toEqualTypeOf<WebhookPayload<'hangup'>>();
        expectTypeOf(event.CallStatus).toEqualTypeOf<WebhookPayload<'hangup'>['CallStatus']>();
        seen.push(`hangup ${event.Duration} ${d.params.myid}`);
      })
      .on('message-in', (event) => {
        expectTypeOf(event.text).toBeString();
        seen.push('message');
      })
      .onAny((d) => seen.push(`any ${d.event.EventType}`));
    const answered = await receiver.handle(delivery(pageCall.hangup));
    await receiver.handle(delivery(pageCall.answer, 'msg_2'));
    expect(answered).toMatchObject({ status: 204, duplicate: false });
    expect(seen).toEqual(['hangup 4239900 175', 'any hangup', 'any answer']);
  });

  test('a retried delivery (same webhook-id) is acknowledged without running handlers again', async () => {
    let runs = 0;
    const receiver = new WebhookReceiver({ secret: SECRET }).on('hangup', () => {
      runs++;
    });
    await receiver.handle(delivery(pageCall.hangup, 'msg_retry'));
    const again = await receiver.handle(delivery(pageCall.hangup, 'msg_retry'));
    expect(again).toMatchObject({ status: 204, duplicate: true });
    expect(runs).toBe(1);
  });

  test('a handler that throws makes the sender retry, and the retry is handled', async () => {
    let fail = true;
    const handled: string[] = [];
    const receiver = new WebhookReceiver({ secret: SECRET }).on('hangup', (e) => {
      if (fail) throw new Error('database down');
      handled.push(e.CallID);
    });
    await expect(receiver.handle(delivery(pageCall.hangup, 'msg_x'))).rejects.toThrow('database down');
    fail = false;
    expect(await receiver.handle(delivery(pageCall.hangup, 'msg_x'))).toMatchObject({ duplicate: false });
    expect(handled).toEqual([pageCall.hangup.CallID]);
  });

  test('a retry that overtakes a slow first attempt is refused, so a failure there loses nothing', async () => {
    let finish: (ok: boolean) => void = () => {};
    const receiver = new WebhookReceiver({ secret: SECRET }).on(
      'hangup',
      () =>
        new Promise<void>((resolve, reject) => {
          finish = (ok) => (ok ? resolve() : reject(new Error('failed late')));
        }),
    );
    const first = receiver.handle(delivery(pageCall.hangup, 'msg_slow'));
    await new Promise((r) => setTimeout(r, 0));
    const overtaking = await receiver.handle(delivery(pageCall.hangup, 'msg_slow'));
    expect(overtaking).toMatchObject({ status: 409 });
    expect(JSON.parse(overtaking.body)).toMatchObject({ error: 'in_progress' });
    finish(false);
    await expect(first).rejects.toThrow('failed late');
    const retry = receiver.handle(delivery(pageCall.hangup, 'msg_slow'));
    await new Promise((r) => setTimeout(r, 0));
    finish(true);
    expect(await retry).toMatchObject({ status: 204, duplicate: false });
  });

  test('deduplication can be turned off or given another store', async () => {
    let runs = 0;
    const count = () => {
      runs++;
    };
    const off = new WebhookReceiver({ secret: SECRET, dedupe: false }).onAny(count);
    await off.handle(delivery(pageCall.hangup));
    await off.handle(delivery(pageCall.hangup));
    expect(runs).toBe(2);
    const store = new MemoryDeliveryIdStore(1);
    const small = new WebhookReceiver({ secret: SECRET, dedupe: store }).onAny(count);
    await small.handle(delivery(pageCall.hangup, 'a'));
    await small.handle(delivery(pageCall.hangup, 'b'));
    await small.handle(delivery(pageCall.hangup, 'a'));
    expect(runs).toBe(5);
    expect(store.size).toBe(1);
  });

  test('refusals are 4xx with a JSON reason and run no handler', async () => {
    let runs = 0;
    const receiver = new WebhookReceiver({ secret: SECRET }).onAny(() => {
      runs++;
    });
    const bad = delivery({ ...pageCall.hangup, Duration: 'long' });
    const invalid = await receiver.handle(bad);
    expect(invalid.status).toBe(422);
    expect(JSON.parse(invalid.body)).toMatchObject({ error: 'invalid_field', field: 'Duration' });
    const forged = await receiver.handle({ ...bad, body: encodeEvent(pageCall.hangup) });
    expect(forged.status).toBe(401);
    expect(JSON.parse(forged.body)).toMatchObject({ error: 'bad_signature' });
    expect(runs).toBe(0);
  });
});

describe('MemoryDeliveryIdStore', () => {
  test('keeps the most recently claimed ids', () => {
    const store = new MemoryDeliveryIdStore(2);
    expect([store.claim('a'), store.claim('b'), store.claim('a'), store.claim('c')]).toEqual([
      true,
      true,
      false,
      true,
    ]);
    // `a` was claimed again after `b`, so `b` is the one that fell out.
    expect([store.claim('a'), store.claim('b')]).toEqual([false, true]);
    expect(() => new MemoryDeliveryIdStore(0)).toThrow(RangeError);
  });
});
