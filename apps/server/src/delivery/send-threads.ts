import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ClaimedDelivery } from '../store/index.js';
import type { SendResult } from './sender.js';

/** What the dispatcher needs of a sender: one attempt per call, and a close. */
export interface SendPort {
  send(d: ClaimedDelivery, now?: number): Promise<SendResult>;
  close(): Promise<void>;
}

/** What each sending thread builds its `Sender` from (no functions: they do not cross threads). */
export interface SendThreadSettings {
  /** CIDRs and host names allowed as targets though not global (`TargetPolicy`). */
  allow: string[];
  connectTimeoutMs: number;
  timeoutMs: number;
  perHostConnections: number;
}

interface Waiting {
  resolve(r: SendResult): void;
  reject(err: Error): void;
}

/** One attempt as it crosses to a sending thread. */
export interface ThreadAttempt {
  id: number;
  d: ClaimedDelivery;
  now: number;
}

/** One attempt's outcome as it comes back. */
export interface ThreadAnswer {
  id: number;
  result?: SendResult;
  error?: string;
}

interface Thread {
  worker: Worker;
  /** Attempts sent to this thread and not answered yet. */
  waiting: Map<number, Waiting>;
  /** Attempts given to this thread in the current turn of the event loop, not posted yet. */
  outgoing: ThreadAttempt[];
  /** It has not exited (a message to an exited thread would never be answered). */
  alive: boolean;
}

/** The sending thread's script, beside this module once built. */
const WORKER = new URL('./send-worker.js', import.meta.url);

/** A thread that dies sooner than this after it started is replaced only after as long again. */
const RESPAWN_MS = 1000;

/**
 * Sends deliveries on `threads` worker threads, each with its own `Sender` (signing, the target
 * check and undici's sockets), so that a second core takes the HTTP side of delivery while the
 * main thread takes the intake, the store and the dispatcher. Each attempt goes to the thread
 * with the fewest under way. A thread that dies fails its attempts under way (the dispatcher
 * records them as connection errors and retries them: nothing is lost) and is replaced.
 */
export class ThreadedSender implements SendPort {
  private readonly threads: Thread[] = [];
  private next = 0;
  private closing = false;

  constructor(
    threads: number,
    private readonly settings: SendThreadSettings,
  ) {
    // Threads run JavaScript: from the sources (a test runner's TypeScript) there is none to run,
    // and every attempt would fail. Say so at start instead.
    if (!existsSync(WORKER)) {
      throw new Error(`sending threads need the built server: ${fileURLToPath(WORKER)} is missing`);
    }
    for (let i = 0; i < threads; i++) this.threads.push(this.spawn());
  }

  private spawn(): Thread {
    const worker = new Worker(WORKER, { workerData: this.settings });
    const thread: Thread = { worker, waiting: new Map(), outgoing: [], alive: true };
    const started = Date.now();
    worker.on('message', (answers: ThreadAnswer[]) => {
      for (const m of answers) {
        const w = thread.waiting.get(m.id);
        thread.waiting.delete(m.id);
        if (m.result) w?.resolve(m.result);
        else w?.reject(new Error(m.error ?? 'the sending thread gave no result'));
      }
    });
    const fail = (err: Error) => {
      for (const w of thread.waiting.values()) w.reject(err);
      thread.waiting.clear();
    };
    worker.on('error', fail);
    // A result that cannot be read back: which attempt it was is unknown, so all of the
    // thread's are failed (and retried) rather than left waiting for ever.
    worker.on('messageerror', fail);
    worker.on('exit', (code) => {
      thread.alive = false;
      fail(new Error(`sending thread exited (${code})`));
      if (this.closing) return;
      // One that cannot even start (its file missing) must not be restarted in a tight loop.
      const replace = () => {
        const i = this.threads.indexOf(thread);
        if (i !== -1 && !this.closing) this.threads[i] = this.spawn();
      };
      if (Date.now() - started < RESPAWN_MS) setTimeout(replace, RESPAWN_MS).unref();
      else replace();
    });
    return thread;
  }

  send(d: ClaimedDelivery, now = Date.now()): Promise<SendResult> {
    let best: Thread | undefined;
    for (const t of this.threads) if (t.alive && (!best || t.waiting.size < best.waiting.size)) best = t;
    // The dispatcher retries an attempt that throws (nothing is lost).
    if (!best) return Promise.reject(new Error('no sending thread is running'));
    const thread = best;
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      thread.waiting.set(id, { resolve, reject });
      // The dispatcher starts a claim's attempts in one go: they cross as one message, posted once
      // the current task is done. A message costs about as much as the attempt's own sending.
      if (thread.outgoing.push({ id, d, now }) === 1) queueMicrotask(() => this.post(thread));
    });
  }

  private post(thread: Thread): void {
    const attempts = thread.outgoing;
    thread.outgoing = [];
    // A thread that exited meanwhile has failed these attempts already (its waiting list).
    if (thread.alive) thread.worker.postMessage(attempts);
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
              t.worker.postMessage('close');
            }),
        ),
    );
  }
}
