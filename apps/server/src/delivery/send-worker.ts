import { parentPort, workerData } from 'node:worker_threads';
import Denque from 'denque';
import { nameThisThread, THREAD_NAMES } from '../thread-name.js';
import { type AnswerTuple, type AttemptTuple, answerOut, attemptIn } from './crossing.js';
import { hostOf, hostVerdict } from './host.js';
import { HostRamp, type RampHandle, rampShares } from './ramp.js';
import type { SendThreadSettings, ThreadMessage } from './send-threads.js';
import { Sender, type SendResult } from './sender.js';
import { TargetPolicy } from './target.js';

/**
 * One sending thread of `ThreadedSender`: attempts in, results out, in any order. Attempts wait
 * here in a queue per host and start as requests end, at most `concurrency` under way (those
 * whose host has not answered for a second aside: see HostRamp) and `perHostConnections` per
 * host once it answers, taking the hosts in turn so that one slow host's queue holds back no other.
 *
 * A host that does not answer `breakerFailures` times in a row is about to be held by the
 * dispatcher, which then withdraws what waits here for it. Until then (its answers are on their
 * way to the main thread) its queue waits rather than spend attempts on it: sending on, a dead
 * host took the dispatcher's whole hand-off (8 times its cap) before the hold arrived. Should no
 * withdrawal come, the queue goes on after `PAUSE_MS`.
 */
nameThisThread(THREAD_NAMES.send);
const settings = workerData as SendThreadSettings;
const sender = new Sender({
  targets: new TargetPolicy(settings.allow),
  connectTimeoutMs: settings.connectTimeoutMs,
  timeoutMs: settings.timeoutMs,
  perHostConnections: settings.perHostConnections,
});
const port = parentPort!;

/**
 * Answers go back together: those settled within `ANSWER_WAIT_MS` of the first cross as one
 * message. A message is cheap to carry but dear to wake for: posted as each turn of the event
 * loop ended (4.6 answers each at full rate), each message found the main thread idle and woke
 * it, and it woke this thread again with the next attempts (one message each way costs 44 µs of
 * CPU between two idle threads, 2.3 µs between two busy ones). Gathered for a millisecond, about
 * 20 answers cross at once and the next 20 attempts with them: 1.05-1.17x less CPU per attempt
 * for both threads in four runs of `bench:send --thread --against` the build before (2 ms gave
 * no more); end to end, within bench:delivery's noise. No request waits for it: the answer is
 * in; its result is recorded up to a millisecond later (the dispatcher writes results every
 * 5 ms), while the thread holds 8 times its slots in attempts (DEPTH).
 */
const ANSWER_WAIT_MS = 1;
let answers: AnswerTuple[] = [];
let flushing: NodeJS.Timeout | undefined;
const answer = (a: AnswerTuple) => {
  answers.push(a);
  flushing ??= setTimeout(flush, ANSWER_WAIT_MS);
};
function flush(): void {
  clearTimeout(flushing);
  flushing = undefined;
  if (answers.length === 0) return;
  const out = answers;
  answers = [];
  port.postMessage(out);
}

/** Per host: requests under way, and attempts waiting for one of its slots (as they crossed). */
const hosts = new Map<string, { sending: number; queue: Denque<AttemptTuple> }>();
let sending = 0;
/** What each host may have under way: its cap once it answers, one at a time until then. */
const ramp = new HostRamp({
  cap: settings.perHostConnections,
  first: 1,
  ...rampShares(settings.concurrency, 1),
  onFree: () => start(),
});
setInterval(() => ramp.prune(), 30_000).unref();
/** The dispatcher's first wait before it probes a held host: a queue paused here waits no longer. */
const PAUSE_MS = 1000;
/**
 * Per host that failed last: unreachable attempts in a row, when the last one ended, and until
 * when its queue waits.
 */
const failing = new Map<string, { failures: number; last: number; pausedUntil: number }>();

function paused(host: string, now: number): boolean {
  const f = failing.get(host);
  return f !== undefined && f.pausedUntil > now;
}

/** Counts an outcome against its host as the dispatcher's breaker does (see hostVerdict). */
function observe(host: string, result: SendResult): void {
  const verdict = hostVerdict(result.attempt.outcome);
  ramp.observe(host, verdict);
  if (settings.breakerFailures === 0) return;
  if (verdict === 'answered') failing.delete(host);
  if (verdict !== 'unreachable') return;
  const now = Date.now();
  let f = failing.get(host);
  // Failures counted a longest wait ago are forgotten, as the dispatcher forgets them (prune).
  if (f === undefined || now - f.last > settings.breakerMaxSeconds * 1000) {
    // Bounded as the hosts that fail are: one entry each, until it answers or is held.
    f = { failures: 0, last: now, pausedUntil: 0 };
    failing.set(host, f);
  }
  f.last = now;
  if (++f.failures >= settings.breakerFailures && f.pausedUntil === 0) {
    f.pausedUntil = now + PAUSE_MS;
    setTimeout(start, PAUSE_MS + 1).unref();
  }
}

function start(): void {
  // Attempts without an answer for SLOW_MS (ramp: `stuck`) are under way without counting.
  const cap = settings.concurrency + ramp.stuckCount;
  if (sending >= cap) return;
  const now = failing.size > 0 ? Date.now() : 0;
  // A host that starts an attempt goes to the back of the line, and the loop comes to it again
  // after the others (see the dispatcher's pump).
  for (const [host, h] of hosts) {
    if (sending >= cap) break;
    if (!ramp.allows(host, h.sending) || (now > 0 && paused(host, now))) continue;
    const a = h.queue.shift();
    if (!a) continue;
    h.sending++;
    sending++;
    hosts.delete(host);
    hosts.set(host, h);
    const ramped = ramp.began(host);
    // The attempt begins now: its signature's timestamp and its deadline count from here, not
    // from when it was queued.
    const id = a[0];
    sender.send(attemptIn(a), Date.now()).then(
      (result) => {
        observe(host, result);
        done(host, answerOut(id, result), ramped);
      },
      // Sending never throws by design; if it does, the main thread hears of it and retries later.
      (err: unknown) => done(host, [id, String(err)], ramped),
    );
  }
}

function done(host: string, a: AnswerTuple, ramped: RampHandle): void {
  ramp.ended(ramped);
  const h = hosts.get(host)!;
  h.sending--;
  sending--;
  if (h.sending === 0 && h.queue.length === 0) hosts.delete(host);
  answer(a);
  start();
}

/** Gives back what waits for `host` (every host: null), unsent: answered with neither result nor error. */
function withdraw(host: string | null): void {
  for (const [key, h] of hosts) {
    if (host !== null && key !== host) continue;
    for (const a of h.queue.toArray()) answer([a[0]]);
    h.queue.clear();
    if (h.sending === 0) hosts.delete(key);
  }
  // Held: nothing more of it comes but the dispatcher's probes, one at a time, which must go.
  // Its count starts over: an attempt that began before the hold and fails after it must not
  // pause the probe's queue.
  if (host === null) failing.clear();
  else failing.delete(host);
}

port.on('message', (m: ThreadMessage) => {
  if (m === 'close') {
    // Every attempt has settled by now. A connection still being made for one given up at its
    // deadline would keep this thread alive until the connect timeout (closing the sender does
    // not end it), and the server's shutdown waits for the thread: end the thread itself.
    flush();
    void sender.close().finally(() => {
      port.close();
      process.exit(0);
    });
    return;
  }
  if (!Array.isArray(m)) {
    withdraw(m.withdraw);
    return;
  }
  for (const a of m) {
    const host = hostOf(a[2]);
    let h = hosts.get(host);
    if (!h) {
      h = { sending: 0, queue: new Denque() };
      hosts.set(host, h);
    }
    h.queue.push(a);
  }
  start();
});
