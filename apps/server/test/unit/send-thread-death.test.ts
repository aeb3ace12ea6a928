import type { Worker } from 'node:worker_threads';
import { afterEach, expect, test } from 'vitest';
import { ThreadedSender } from '../../dist/delivery/send-threads.js';
import { type Receiver, startReceiver } from '../receivers.js';
import { claimedDelivery } from './delivery-rows.js';

// A sending thread that dies (a crash, or ended after a message it could not read) fails the
// attempts it was given, which may have been sent: the dispatcher records them and tries them
// again. What comes for it after that waits for its replacement, instead of being failed at once
// as "not running" (each failure spends an attempt of the delivery's schedule; a thread that
// died at start failed everything for a second, again and again). The built module: a thread
// runs JavaScript.

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

/**
 * A receiver that answers in 100 ms, and a sender of one thread to it; `exits`: each time the
 * thread was replaced in, ms; `kill` ends the thread and lets its exit be seen.
 */
async function setUp() {
  const rx = await startReceiver(async (_r, res) => {
    await new Promise((r) => setTimeout(r, 100));
    res.end('ok');
  });
  open.push(rx);
  const exits: number[] = [];
  const s = new ThreadedSender(
    1,
    {
      allow: ['127.0.0.0/8'],
      connectTimeoutMs: 2000,
      timeoutMs: 5000,
      perHostConnections: 4,
      concurrency: 4,
      breakerFailures: 5,
      breakerMaxSeconds: 30,
    },
    (_code: number, replacedInMs: number) => void exits.push(replacedInMs),
  );
  open.push(s);
  const kill = async () => {
    await (s as unknown as { threads: Array<{ worker: Worker }> }).threads[0]!.worker.terminate();
    await new Promise((r) => setImmediate(r));
  };
  return { rx, s, exits, kill };
}

const delivery = (rx: Receiver, n: number) =>
  claimedDelivery(`${rx.url}/hook`, 'whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=', {
    seq: n,
    id: `msg_${n}`,
  });

test('a dead thread fails what it was given; what comes after waits for its replacement and is sent', {
  timeout: 20_000,
}, async () => {
  const { rx, s, exits, kill } = await setUp();
  const given = Array.from({ length: 8 }, (_, i) =>
    s.send(delivery(rx, i + 1)).then(
      (r) => (r === undefined ? 'withdrawn' : r.attempt.outcome),
      (err: Error) => err.message,
    ),
  );
  await rx.waitFor(1, 5000);
  await kill();
  const after = Array.from({ length: 5 }, (_, i) => s.send(delivery(rx, 100 + i)));
  const outcomes = await Promise.all(given);
  // Four were under way (the cap) and four queued in the thread: none answered before it died.
  expect(outcomes.filter((o) => /sending thread exited/.test(o)).length).toBe(8);
  // Died within a second of its start: replaced a second later, and then these go.
  expect(exits).toEqual([1000]);
  const results = await Promise.all(after);
  expect(results.map((r) => r?.attempt.outcome)).toEqual(Array(5).fill('success'));
  const ids = rx.received.map((r) => r.headers['webhook-id']);
  for (let i = 0; i < 5; i++) expect(ids).toContain(`msg_${100 + i}`);
});

test('while a dead thread waits for its replacement, a hold takes back what waits for the host', {
  timeout: 20_000,
}, async () => {
  const { rx, s, kill } = await setUp();
  await s.send(delivery(rx, 1));
  await kill();
  const waiting = Array.from({ length: 3 }, (_, i) => s.send(delivery(rx, 10 + i)));
  s.withdraw(new URL(rx.url).host);
  expect(await Promise.all(waiting)).toEqual([undefined, undefined, undefined]);
  expect(rx.received.map((r) => r.headers['webhook-id'])).toEqual(['msg_1']);
});
