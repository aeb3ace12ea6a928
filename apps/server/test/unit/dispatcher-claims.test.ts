import pino from 'pino';
import { afterEach, expect, test, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { Dispatcher } from '../../src/delivery/dispatcher.js';
import type { SendPort } from '../../src/delivery/send-threads.js';
import type { SendResult } from '../../src/delivery/sender.js';
import { Metrics } from '../../src/metrics.js';
import type { AttemptResult, ClaimedDelivery, OutboxStore } from '../../src/store/index.js';
import { claimedDelivery } from './delivery-rows.js';

/**
 * How the dispatcher paces its claims through a backlog, with the store and the receiver faked
 * and time stopped: only what a claim, an answer or a recorded result sets going can move it, so
 * a wait on a timer that the backlog does not need shows as deliveries never sent.
 */

afterEach(() => {
  vi.useRealTimers();
});

function delivery(seq: number): ClaimedDelivery {
  return claimedDelivery('http://receiver.test/hook', 'whsec_x', {
    seq,
    id: `msg_${seq}`,
    eventId: seq,
    callId: `call-${seq}`,
    payload: `n=${seq}`,
  });
}

/** A 200 answer, as the sender reports it. */
function answered200(): SendResult {
  const attempt = {
    attemptedAt: 0,
    outcome: 'success' as const,
    statusCode: 200,
    latencyMs: 0,
    error: null,
    responseBody: 'ok',
  };
  return { attempt, gone: false };
}

/** A dispatcher with the caps these tests reason about (16 in all and per host, claims of 200). */
function dispatcherOf(outbox: OutboxStore, sender: SendPort): Dispatcher {
  const config = loadConfig(
    {
      deliveryConcurrency: 16,
      deliveryPerHostConcurrency: 16,
      deliveryBatchSize: 200,
      deliveryPollMs: 60_000,
      simulator: false,
    },
    {},
  );
  return new Dispatcher({
    outbox,
    sender,
    config,
    metrics: new Metrics({
      queueDepth: async () => 0,
      inFlight: () => 0,
      unanswered: () => 0,
      heldHosts: () => 0,
    }),
    logger: pino({ level: 'silent' }),
    exclusive: false,
  });
}

/**
 * Sends a backlog of `size` deliveries (one subscription, one host) through a dispatcher whose
 * clocks are stopped; every `nudgeEvery` sends, a nudge (an operator's retry or recovery);
 * `slowWrites`: no batch of results is recorded until every delivery has been sent. Answers
 * come on setImmediate, which runs; the poll interval, the wait after a short claim and the
 * results' flush timer never run out. `depth`: the sender's (a sending thread's hand-off).
 */
async function drain(size: number, nudgeEvery = 0, slowWrites = false, depth = 1) {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
  const backlog = Array.from({ length: size }, (_, i) => delivery(i + 1));
  let next = 0;
  /** Per claim: how many it found, and whether it left the subscription out. */
  const claims: Array<{ found: number; leftOut: boolean }> = [];
  const recorded: number[] = [];
  let writesGo = () => {};
  const writes = slowWrites ? new Promise<void>((r) => (writesGo = r)) : Promise.resolve();
  const outbox = {
    claim: async (_owner: string, _now: number, _until: number, limit: number, excluded: number[]) => {
      const leftOut = excluded.includes(1);
      const batch = leftOut ? [] : backlog.slice(next, next + limit);
      next += batch.length;
      claims.push({ found: batch.length, leftOut });
      return batch;
    },
    complete: async (
      _owner: string,
      results: Array<{ delivery: ClaimedDelivery; result: AttemptResult }>,
    ) => {
      await writes;
      for (const r of results) recorded.push(r.delivery.seq);
    },
    releaseLeases: async () => 0,
  } as unknown as OutboxStore;
  const sent: number[] = [];
  let dispatcher: Dispatcher | undefined;
  const sender: SendPort = {
    send: async (d: ClaimedDelivery): Promise<SendResult> => {
      await new Promise((r) => setImmediate(r));
      sent.push(d.seq);
      if (nudgeEvery > 0 && sent.length % nudgeEvery === 0) dispatcher?.nudge();
      return answered200();
    },
    close: async () => {},
    depth,
  };
  dispatcher = dispatcherOf(outbox, sender);
  await dispatcher.start();
  // Let the answers and claims run (real setImmediate turns), far more than the backlog needs.
  for (let turn = 0; turn < 50_000 && sent.length < backlog.length; turn++) {
    await new Promise((r) => setImmediate(r));
  }
  // Every result is written: the last few wait for the flush timer, which stop() does not need.
  writesGo();
  const stopped = dispatcher.stop();
  await vi.advanceTimersByTimeAsync(100);
  await stopped;
  return { sent, claims, recorded };
}

test('a host kept full through a backlog is topped up as soon as it has room, with no wait between claims', async () => {
  const { sent, claims, recorded } = await drain(2000);
  expect(sent.length).toBe(2000);
  expect(new Set(sent).size).toBe(2000);
  // Claimed a batch at a time, never more than the backlog.
  expect(claims.every((c) => c.found <= 200)).toBe(true);
  expect(claims.reduce((n, c) => n + c.found, 0)).toBe(2000);
  expect(new Set(recorded).size).toBe(2000);
});

test('a claim that found nothing because it left the full host out does not hold that host back once it has room', async () => {
  // Nudges (an operator retrying deliveries through the API) while the host is full: the claim
  // each asks for leaves the host out and comes back empty, which must not make the host wait out
  // the pause after a short claim.
  const { sent, claims, recorded } = await drain(2000, 50);
  expect(claims.some((c) => c.leftOut && c.found === 0)).toBe(true);
  expect(sent.length).toBe(2000);
  expect(new Set(sent).size).toBe(2000);
  expect(new Set(recorded).size).toBe(2000);
});

test('a slow write of results does not hold back the claims that keep a host busy', async () => {
  // The results of the first batches are still being written (a slow commit) while the host's
  // queue runs low: the next claim must not wait for them.
  const { sent, recorded } = await drain(2000, 0, true);
  expect(sent.length).toBe(2000);
  expect(new Set(sent).size).toBe(2000);
  expect(new Set(recorded).size).toBe(2000);
});

test("with a sending thread's hand-off (8 times the caps), a slow write still does not hold back the claims", async () => {
  // The thread holds 8 x 16 of the host's 200 claimed deliveries: the queue here holds 72 at most,
  // and must still ask for the next claim as it runs low.
  const { sent, recorded } = await drain(2000, 0, true, 8);
  expect(sent.length).toBe(2000);
  expect(new Set(sent).size).toBe(2000);
  expect(new Set(recorded).size).toBe(2000);
});

test('the intake leases a host what it answered in the last quarter second, up to 4 times its cap, and the cap once it stops answering', async () => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] });
  const outbox = {
    claim: async () => [],
    complete: async () => {},
    releaseLeases: async () => 0,
  } as unknown as OutboxStore;
  /** Fake milliseconds each answer takes (the clock moves on as the host answers). */
  let msPerAnswer = 0.5;
  let answered = 0;
  const sender: SendPort = {
    send: async (): Promise<SendResult> => {
      await new Promise((r) => setImmediate(r));
      vi.advanceTimersByTime(msPerAnswer);
      answered++;
      return answered200();
    },
    close: async () => {},
  };
  const dispatcher = dispatcherOf(outbox, sender);
  await dispatcher.start();
  const url = 'http://receiver.test/hook';
  /** How many fresh deliveries for the host one intake may lease now. */
  const leasable = () => {
    const lease = dispatcher.leaseForIntake()!;
    let n = 0;
    while (n < 100_000 && lease.accept(url)) n++;
    return n;
  };
  let seq = 0;
  /** The host answers `n` deliveries, `msPerAnswer` apart on the fake clock (16 at once). */
  const answer = async (n: number) => {
    const target = answered + n;
    dispatcher.take(Array.from({ length: n }, () => delivery(++seq)));
    while (answered < target) await new Promise((r) => setImmediate(r));
  };

  // Nothing answered yet: the host's cap (the claim batch, 200).
  expect(leasable()).toBe(200);
  // 2,000 answers a second (one per 0.5 ms): what it answers in 250 ms, about 500.
  await answer(2000);
  const fast = leasable();
  expect(fast).toBeGreaterThanOrEqual(450);
  expect(fast).toBeLessThanOrEqual(550);
  // 40,000 a second would be 10,000 in 250 ms: held to 4 times the cap.
  msPerAnswer = 0.025;
  await answer(20_000);
  expect(leasable()).toBe(800);
  // Still so a moment later; once it has not answered for a window, back to the cap.
  vi.advanceTimersByTime(200);
  expect(leasable()).toBe(800);
  vi.advanceTimersByTime(100);
  expect(leasable()).toBe(200);
  // Its next answers, one every 10 ms, close the window at 100 a second: the cap.
  msPerAnswer = 10;
  await answer(40);
  expect(leasable()).toBe(200);
  const stopped = dispatcher.stop();
  await vi.advanceTimersByTimeAsync(100);
  await stopped;
});
