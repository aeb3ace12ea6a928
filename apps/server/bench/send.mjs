#!/usr/bin/env node
// node bench/send.mjs [--against <copy of dist>] [--rounds 7] [--attempts 5000] [--thread]
// The sender alone: one build's Sender.send (check the URL, sign, POST with undici, read the
// answer, build the attempt record) against the benchmark's receiver in its own process, 16
// attempts in flight as the dispatcher runs them, in this process's CPU µs per attempt. No store,
// no dispatcher, no intake: the per-attempt costs that bench:delivery's end-to-end rounds (±10-20 %
// apart) cannot resolve. With --against, another build's sender in turns, median of the rounds.
// --thread: through one sending thread (ThreadedSender, as the server sends by default), handed 8
// times the cap as the dispatcher does: the CPU of both threads, the crossings between them included.
import { parseArgs } from 'node:util';
import { child, cpuInTurns, hangupEvent, round, serverBuild } from './common.mjs';

const { values } = parseArgs({
  options: {
    against: { type: 'string' },
    rounds: { type: 'string', default: '7' },
    attempts: { type: 'string', default: '5000' },
    thread: { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const N = Number(values.attempts);
const C = 16;

const rx = child('./receiver-child.mjs');
const { port } = await rx.ask(null, 'port');

async function build(dist) {
  if (values.thread) {
    const { ThreadedSender } = await serverBuild('delivery/send-threads.js', dist);
    return new ThreadedSender(1, {
      allow: ['127.0.0.0/8'],
      connectTimeoutMs: 5_000,
      timeoutMs: 15_000,
      perHostConnections: C,
      concurrency: C,
      breakerFailures: 5,
      breakerMaxSeconds: 30,
    });
  }
  const { Sender } = await serverBuild('delivery/sender.js', dist);
  const { TargetPolicy } = await serverBuild('delivery/target.js', dist);
  return new Sender({
    targets: new TargetPolicy(['127.0.0.0/8']),
    connectTimeoutMs: 5_000,
    timeoutMs: 15_000,
    perHostConnections: C,
  });
}
/** Attempts under way at once: the sender's cap, or what the dispatcher hands a thread (DEPTH 8). */
const IN_FLIGHT = values.thread ? C * 8 : C;

const payload = new URLSearchParams(
  Object.entries(hangupEvent(0, 1).data).map(([k, v]) => [k, String(v)]),
).toString();
/**
 * A claimed delivery with every column the store's claim gives (ClaimedDelivery): the sender
 * reads a few, a sending thread is handed them all, as the dispatcher's are. One literal, so that
 * building it costs the benchmark's side as little as the dispatcher's does.
 */
const delivery = (i) => ({
  seq: i,
  id: `msg_bench_${i}`,
  subscriptionId: 1,
  eventId: i,
  clientId: 1,
  extensionId: 175,
  eventType: 'hangup',
  callId: '00000000000000000000000000000001',
  status: 'pending',
  attempts: 0,
  nextAttemptAt: 1_796_568_863_603,
  createdAt: 1_796_568_863_603,
  lastAttemptAt: null,
  lastStatusCode: null,
  lastOutcome: null,
  payload,
  url: `http://127.0.0.1:${port}/hook?myid=175`,
  method: 'POST',
  failingSince: null,
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  previousSecret: null,
  previousSecretExpiresAt: null,
  migratedSecret: null,
  migratedSecretExpiresAt: null,
});

/** CPU µs of this process per attempt, over N attempts with C in flight. */
async function measure(sender) {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const worker = async () => {
    while (next < N) {
      const r = await sender.send(delivery(next++));
      if (r.attempt.outcome !== 'success') throw new Error(`attempt failed: ${r.attempt.error}`);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / N;
}

const senders = [await build(undefined)];
if (values.against) senders.push(await build(values.against));
console.log(
  `sender alone${values.thread ? ', through a sending thread' : ''}: CPU µs per attempt (POST, ${C} in flight, receiver in its own process), median of ${ROUNDS} rounds of ${N} (node ${process.version})`,
);
const { mine, other, ratio } = await cpuInTurns(senders, measure, {
  rounds: ROUNDS,
  unit: 'attempt',
  digits: 2,
});
const result = { bench: 'send', thread: values.thread, rounds: ROUNDS, attempts: N, us: round(mine, 2) };
if (other !== undefined) Object.assign(result, { against_us: round(other, 2), ratio });
console.log(JSON.stringify(result));
for (const sender of senders) await sender.close();
await rx.ask('exit', 'never').catch(() => {});
