#!/usr/bin/env node
// node bench/send.mjs [--against <copy of dist>] [--rounds 7] [--attempts 5000]
// The sender alone: one build's Sender.send (check the URL, sign, POST with undici, read the
// answer, build the attempt record) against the benchmark's receiver in its own process, 16
// attempts in flight as the dispatcher runs them, in this process's CPU µs per attempt. No store,
// no dispatcher, no intake: the per-attempt costs that bench:delivery's end-to-end rounds (±10-20 %
// apart) cannot resolve. With --against, another build's sender in turns, median of the rounds.
import { parseArgs } from 'node:util';
import { child, cpuInTurns, hangupEvent, round, serverBuild } from './common.mjs';

const { values } = parseArgs({
  options: {
    against: { type: 'string' },
    rounds: { type: 'string', default: '7' },
    attempts: { type: 'string', default: '5000' },
  },
});
const ROUNDS = Number(values.rounds);
const N = Number(values.attempts);
const C = 16;

const rx = child('./receiver-child.mjs');
const { port } = await rx.ask(null, 'port');

async function build(dist) {
  const { Sender } = await serverBuild('delivery/sender.js', dist);
  const { TargetPolicy } = await serverBuild('delivery/target.js', dist);
  return new Sender({
    targets: new TargetPolicy(['127.0.0.0/8']),
    connectTimeoutMs: 5_000,
    timeoutMs: 15_000,
    perHostConnections: C,
  });
}

const payload = new URLSearchParams(
  Object.entries(hangupEvent(0, 1).data).map(([k, v]) => [k, String(v)]),
).toString();
/** A claimed delivery as the sender reads it (the store's other columns play no part here). */
const delivery = (i) => ({
  id: `msg_bench_${i}`,
  url: `http://127.0.0.1:${port}/hook?myid=175`,
  method: 'POST',
  payload,
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
  await Promise.all(Array.from({ length: C }, worker));
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / N;
}

const senders = [await build(undefined)];
if (values.against) senders.push(await build(values.against));
console.log(
  `sender alone: CPU µs per attempt (POST, ${C} in flight, receiver in its own process), median of ${ROUNDS} rounds of ${N} (node ${process.version})`,
);
const { mine, other, ratio } = await cpuInTurns(senders, measure, {
  rounds: ROUNDS,
  unit: 'attempt',
  digits: 2,
});
const result = { bench: 'send', rounds: ROUNDS, attempts: N, us: round(mine, 2) };
if (other !== undefined) Object.assign(result, { against_us: round(other, 2), ratio });
console.log(JSON.stringify(result));
for (const sender of senders) await sender.close();
await rx.ask('exit', 'never').catch(() => {});
