import { afterEach, describe, expect, test } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { startTestServer, type TestServer } from '../harness.js';

// The simulator answers 202 with the number of events a call will make: that is a promise. A
// server that closes while calls are under way keeps it: their remaining events reach the
// intake (played at once) before the store closes.

let s: TestServer | undefined;
afterEach(async () => {
  await s?.stop();
  s = undefined;
});

describe('closing the server with simulated calls under way', () => {
  test('every event the API promised is stored before the store closes', async () => {
    s = await startTestServer({ config: { simulator: true, dispatcher: false } });
    const subs = [];
    // Nothing listens there; without a dispatcher nothing is sent: the deliveries only count.
    for (const type of ['dial-out', 'answer', 'hangup']) {
      subs.push(await s.subscribe('http://127.0.0.1:9/hook', type, 'POST'));
    }
    let promised = 0;
    for (let i = 0; i < 5; i++) {
      // Ten minutes of ringing and an hour of talk: at close, only the dial-outs have happened.
      const res = await s.api('/pbx/simulate/', {
        method: 'POST',
        json: {
          scenario: 'outgoing',
          extension_id: 175,
          number: '00010005',
          ring_ms: 600000,
          talk_ms: 3600000,
        },
      });
      expect(res.status).toBe(202);
      promised += ((await res.json()) as { events: number }).events;
    }
    const callback = await s.api('/extension/175/callback/', {
      method: 'POST',
      json: { dst_num: '00010005', src_num: ['175'] },
    });
    expect(callback.status).toBe(200);
    expect(promised).toBe(15);

    await s.close();
    const late = await fetch(`${s.apiUrl}/pbx/simulate/`, { method: 'POST' }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(Error);

    const store = await openStore({
      dataDir: s.config.dataDir,
      databaseUrl: s.config.databaseUrl,
      poolSize: 2,
    });
    try {
      let stored = 0;
      const types: string[] = [];
      for (const sub of subs) {
        const { items, total } = await store.outbox.list(sub.id, { page: 1, perPage: 200 });
        stored += total;
        types.push(...items.map((d) => d.eventType));
      }
      // Five simulated calls of three events, and the callback's dial-out, answer and hangup.
      expect(stored).toBe(promised + 3);
      expect(types.filter((t) => t === 'hangup')).toHaveLength(6);
    } finally {
      await store.close();
    }
    // A server start takes seconds on a loaded machine; the close itself is quick.
  }, 90_000);
});
