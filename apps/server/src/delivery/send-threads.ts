import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ConfigError } from '../config.js';
import { usableCores } from '../cores.js';
import type { ClaimedDelivery } from '../store/index.js';
import { type AnswerTuple, type AttemptTuple, answerIn, attemptOut } from './crossing.js';
import { hostOf } from './host.js';
import type { SendJob, SendResult } from './sender.js';

/** What the dispatcher needs of a sender: one attempt per call, and a close. */
export interface SendPort {
  /**
   * One attempt. Undefined: it was withdrawn before it began (see `withdraw`), nothing was sent
   * and nothing is to be recorded.
   */
  send(d: ClaimedDelivery, now?: number): Promise<SendResult | undefined>;
  /**
   * How many attempts it takes per slot of the dispatcher's caps (1 if absent). A sender that
   * queues attempts and starts each as one of its own slots frees, within the same caps, takes
   * more than it sends at once, so that a slot never waits for the dispatcher to fill it.
   */
  readonly depth?: number;
  /** Gives back the attempts queued for `host` (for every host if absent) that have not begun. */
  withdraw?(host?: string): void;
  close(): Promise<void>;
}

/** What each sending thread builds its `Sender` from (no functions: they do not cross threads). */
export interface SendThreadSettings {
  /** CIDRs and host names allowed as targets though not global (`TargetPolicy`). */
  allow: string[];
  connectTimeoutMs: number;
  timeoutMs: number;
  perHostConnections: number;
  /**
   * Requests under way at once, all hosts together: in all threads, as `ThreadedSender` is given
   * it; this thread's share, as each thread is. Requests whose host has not answered for a second
   * do not count (up to 16 times as many; see HostRamp).
   */
  concurrency: number;
  /** The dispatcher's `breakerFailures` (0: never held) and `breakerMaxSeconds`. */
  breakerFailures: number;
  breakerMaxSeconds: number;
}

interface Waiting {
  /** The delivery: its outcome comes back without what the main thread has of it (crossing.ts). */
  d: SendJob;
  resolve(r: SendResult | undefined): void;
  reject(err: Error): void;
}

/**
 * What the main thread posts to a sending thread: attempts (no time: the thread signs and times
 * each when it starts it, which may be after a wait in its queue), a withdrawal, or the end.
 */
export type ThreadMessage = AttemptTuple[] | { withdraw: string | null } | 'close';

interface Thread {
  worker: Worker;
  /** Its share of the requests under way in all (`threadShare`). */
  share: number;
  /** Attempts for this thread not answered yet: posted to it, or still in `outgoing`. */
  waiting: Map<number, Waiting>;
  /**
   * Attempts for this thread not posted yet: those of the current turn of the event loop, or,
   * while it is dead, those that wait for its replacement (which takes both lists over).
   */
  outgoing: AttemptTuple[];
  /** It has not exited (a message to an exited thread would never be answered). */
  alive: boolean;
}

/** The sending thread's script, beside this module once built. */
const WORKER = new URL('./send-worker.js', import.meta.url);

/** A thread that dies sooner than this after it started is replaced only after as long again. */
const RESPAWN_MS = 1000;

/**
 * Attempts handed to the threads per slot of the dispatcher's caps. A thread starts each queued
 * attempt the moment one of its requests ends; were it given only as many as it may send, each
 * slot would wait, between two requests, for the answer to cross to the main thread and the next
 * attempt to cross back, behind whatever the main thread was doing (a commit, an intake): with
 * 16 slots, 1.5 ms per request against 0.6 ms of sending, and the main thread a third idle
 * (`bench:delivery --send-threads 1`). The receivers see no more than the caps either way.
 */
const DEPTH = 8;

/**
 * How many sending threads to start for the setting `CALLHOOK_SEND_THREADS`. `auto`: one where
 * the machine has a second core for it, none where it has not or where the server runs from its
 * sources (a thread runs the built JavaScript), with a custom resolver (a function cannot cross
 * to a thread) or without a dispatcher (an instance that only serves the API sends nothing); a
 * number asked for explicitly is kept, and refused with such a resolver. The cores are those
 * this process may run on, no more than its container's CPU quota (`usableCores`): a container
 * given one CPU sends on its main thread, however many the host has.
 */
export function sendThreadsFor(
  setting: number | 'auto',
  customResolver: boolean,
  dispatcher = true,
  cores = usableCores(),
): number {
  if (setting !== 'auto') {
    if (setting > 0 && customResolver) {
      throw new ConfigError('CALLHOOK_SEND_THREADS: a custom resolver cannot be used by sending threads');
    }
    return setting;
  }
  return dispatcher && cores > 1 && !customResolver && existsSync(WORKER) ? 1 : 0;
}

/** Which of `threads` sending threads sends to `host` (a hash of its name). */
export function threadFor(host: string, threads: number): number {
  let h = 0;
  for (let i = 0; i < host.length; i++) h = (h * 31 + host.charCodeAt(i)) | 0;
  return Math.abs(h) % threads;
}

/**
 * Thread `i`'s share of `concurrency` requests under way among `threads`: the shares differ by
 * one at most and add up to it exactly (each share rounded up, as before, let two threads keep 6
 * for a cap of 5).
 */
export function threadShare(concurrency: number, threads: number, i: number): number {
  return Math.floor(concurrency / threads) + (i < concurrency % threads ? 1 : 0);
}

/**
 * Sends deliveries on `threads` worker threads, each with its own `Sender` (signing, the target
 * check and undici's sockets), so that a second core takes the HTTP side of delivery while the
 * main thread takes the intake, the store and the dispatcher. Each host's attempts go to one
 * thread, which queues them and keeps the caps (see DEPTH). A thread that dies fails the
 * attempts it was given (the dispatcher records them as connection errors and retries them:
 * nothing is lost) and is replaced; what comes for it meanwhile waits for the replacement.
 */
export class ThreadedSender implements SendPort {
  readonly depth = DEPTH;
  private readonly threads: Thread[] = [];
  private next = 0;
  private closing = false;
  private readonly settings: SendThreadSettings;

  /**
   * `concurrency` is the cap on requests under way, all threads together (each thread keeps its
   * share, `threadShare`; there are no more threads than it); `perHostConnections` is each
   * host's. A host's attempts all go to one thread, whose queue keeps its cap exactly.
   */
  constructor(
    threads: number,
    settings: SendThreadSettings,
    /** Told of each thread that exits while sending goes on, and how soon it is replaced. */
    private readonly onExit: (code: number, replacedInMs: number) => void = () => {},
  ) {
    this.settings = settings;
    // Threads run JavaScript: from the sources (a test runner's TypeScript) there is none to run,
    // and every attempt would fail. Say so at start instead.
    if (!existsSync(WORKER)) {
      throw new Error(`sending threads need the built server: ${fileURLToPath(WORKER)} is missing`);
    }
    if (threads > settings.concurrency) {
      throw new Error(
        `${threads} sending threads for ${settings.concurrency} requests at once: a thread would have none`,
      );
    }
    for (let i = 0; i < threads; i++)
      this.threads.push(this.spawn(threadShare(settings.concurrency, threads, i)));
  }

  /** Starts a thread that may have `share` requests under way, all its hosts together. */
  private spawn(share: number): Thread {
    const worker = new Worker(WORKER, {
      workerData: { ...this.settings, concurrency: share } satisfies SendThreadSettings,
      // A thread's objects live for one request, but up to 8 times its slots in attempts wait in
      // its queue, and each scavenge copies them. The young generation is most of what a thread
      // adds to the process's RSS (+26 MB with 2 MB, +62 MB with V8's default). 8 MB: 1.04-1.12x
      // less CPU per attempt than 2 MB in three runs of `bench:send --thread --against` (4 MB:
      // 1.00x; 16 MB: as 8), 1.18x the events/s where the thread is the bound (`bench:delivery
      // --store none`), for 8 MB more RSS.
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    const thread: Thread = { worker, share, waiting: new Map(), outgoing: [], alive: true };
    // When it dies: fails the attempts it was given (they may have been sent: the dispatcher
    // records them and tries them again) and hands those it was not given yet to its replacement,
    // so that no attempt is spent on a thread that is not there.
    const started = Date.now();
    worker.on('message', (answers: AnswerTuple[]) => {
      for (const m of answers) {
        const w = thread.waiting.get(m[0]);
        if (w === undefined) continue;
        thread.waiting.delete(m[0]);
        if (m.length === 1) w.resolve(undefined);
        else if (m.length === 2) w.reject(new Error(m[1]));
        else w.resolve(answerIn(m, w.d));
      }
    });
    const fail = (err: Error) => {
      const unsent = new Set(thread.outgoing.map((a) => a[0]));
      for (const [id, w] of thread.waiting) {
        if (unsent.has(id)) continue;
        w.reject(err);
        thread.waiting.delete(id);
      }
    };
    worker.on('error', fail);
    // A result that cannot be read back: which attempt it was is unknown, so all of the
    // thread's are failed (and retried) rather than left waiting for ever, and the thread is
    // ended (and replaced), so that what it still holds queued is not sent as well.
    worker.on('messageerror', (err) => {
      fail(err);
      void worker.terminate();
    });
    worker.on('exit', (code) => {
      thread.alive = false;
      fail(new Error(`sending thread exited (${code})`));
      if (this.closing) {
        this.giveBack(thread);
        return;
      }
      // One that cannot even start must not be restarted in a tight loop. Meanwhile its
      // attempts wait for the replacement (see send and post).
      const replace = () => {
        const i = this.threads.indexOf(thread);
        if (i === -1) return;
        if (this.closing) {
          this.giveBack(thread);
          return;
        }
        const next = this.spawn(thread.share);
        next.waiting = thread.waiting;
        next.outgoing = thread.outgoing;
        this.threads[i] = next;
        this.post(next);
      };
      const early = Date.now() - started < RESPAWN_MS;
      this.onExit(code, early ? RESPAWN_MS : 0);
      if (early) setTimeout(replace, RESPAWN_MS).unref();
      else replace();
    });
    return thread;
  }

  /** The thread that sends to `host`: always the same one while it runs. */
  private threadOf(host: string): Thread {
    return this.threads[threadFor(host, this.threads.length)]!;
  }

  send(d: ClaimedDelivery): Promise<SendResult | undefined> {
    // A dead thread's attempts wait for its replacement (post keeps them).
    const thread = this.threadOf(hostOf(d.url));
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      thread.waiting.set(id, { d, resolve, reject });
      // The dispatcher starts a claim's attempts in one go: they cross as one message, posted once
      // the current task is done. A message costs about as much as the attempt's own sending.
      if (thread.outgoing.push(attemptOut(id, d)) === 1) queueMicrotask(() => this.post(thread));
    });
  }

  withdraw(host?: string): void {
    for (const t of host === undefined ? this.threads : [this.threadOf(host)]) {
      if (!t.alive) {
        // Waiting for a replacement: what waits for the host comes back from here.
        this.giveBack(t, host);
        continue;
      }
      // After the attempts of this turn, so that those are withdrawn too.
      this.post(t);
      t.worker.postMessage({ withdraw: host ?? null } satisfies ThreadMessage);
    }
  }

  /** Answers the attempts `thread` was not given yet (those for `host`, or all) as withdrawn. */
  private giveBack(thread: Thread, host?: string): void {
    const keep: AttemptTuple[] = [];
    for (const a of thread.outgoing) {
      if (host !== undefined && hostOf(a[2]) !== host) {
        keep.push(a);
        continue;
      }
      thread.waiting.get(a[0])?.resolve(undefined);
      thread.waiting.delete(a[0]);
    }
    thread.outgoing = keep;
  }

  private post(thread: Thread): void {
    // A dead thread keeps them for its replacement.
    if (thread.outgoing.length === 0 || !thread.alive) return;
    const attempts = thread.outgoing;
    thread.outgoing = [];
    thread.worker.postMessage(attempts satisfies ThreadMessage);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.threads
        .filter((t) => t.alive)
        .map(
          (t) =>
            new Promise<void>((resolve) => {
              t.worker.once('exit', () => resolve());
              t.worker.postMessage('close' satisfies ThreadMessage);
            }),
        ),
    );
  }
}
