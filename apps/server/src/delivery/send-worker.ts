import { parentPort, workerData } from 'node:worker_threads';
import type { SendThreadSettings, ThreadAnswer, ThreadAttempt } from './send-threads.js';
import { Sender } from './sender.js';
import { TargetPolicy } from './target.js';

/** One sending thread of `ThreadedSender`: attempts in, results out, in any order. */
const settings = workerData as SendThreadSettings;
const sender = new Sender({
  targets: new TargetPolicy(settings.allow),
  connectTimeoutMs: settings.connectTimeoutMs,
  timeoutMs: settings.timeoutMs,
  perHostConnections: settings.perHostConnections,
});
const port = parentPort!;

/**
 * Answers go back together: those settled in one turn of the event loop (the responses read in
 * one poll) cross as one message, posted when the turn's I/O is done.
 */
let answers: ThreadAnswer[] = [];
const answer = (a: ThreadAnswer) => {
  if (answers.push(a) === 1) setImmediate(flush);
};
function flush(): void {
  const out = answers;
  answers = [];
  port.postMessage(out);
}

port.on('message', (m: 'close' | ThreadAttempt[]) => {
  if (m === 'close') {
    // Every attempt has settled by now. A connection still being made for one given up at its
    // deadline would keep this thread alive until the connect timeout (closing the sender does
    // not end it), and the server's shutdown waits for the thread: end the thread itself.
    void sender.close().finally(() => {
      port.close();
      process.exit(0);
    });
    return;
  }
  for (const { id, d, now } of m) {
    // Sending never throws by design; if it does, the main thread hears of it and retries later.
    sender.send(d, now).then(
      (result) => answer({ id, result }),
      (err: unknown) => answer({ id, error: String(err) }),
    );
  }
});
