import { parentPort, workerData } from 'node:worker_threads';
import type { ClaimedDelivery } from '../store/index.js';
import type { SendThreadSettings } from './send-threads.js';
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
port.on('message', (m: 'close' | { id: number; d: ClaimedDelivery; now: number }) => {
  if (m === 'close') {
    void sender.close().finally(() => port.close());
    return;
  }
  // Sending never throws by design; if it does, the main thread hears of it and retries later.
  sender.send(m.d, m.now).then(
    (result) => port.postMessage({ id: m.id, result }),
    (err: unknown) => port.postMessage({ id: m.id, error: String(err) }),
  );
});
