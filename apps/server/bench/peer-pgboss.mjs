// The bench:delivery --peer pgboss system (for --store postgres): what a Node team on PostgreSQL
// would build instead of callhook, in one process as callhook runs: Express takes the same intake
// batch (JSON), encodes each event as the provider sends it and inserts one pg-boss job per event
// (boss.insert: one statement per batch, committed before the 202); pg-boss workers fetch jobs in
// batches (SKIP LOCKED), sign each with the standardwebhooks package and post it with undici, at
// most `concurrency` requests in flight in all; a non-2xx fails that job, which pg-boss retries with
// backoff. pg-boss polls (at least every 0.5 s, its minimum; a worker that found jobs fetches again
// at once when its batch took longer), so several workers take turns. There is no per-call order.
// Started with { url (a fresh database), target, concurrency } as JSON in argv[2]; reports { url }
// over IPC and answers 'cpu' like server-child.mjs.
import PgBoss from 'pg-boss';
import { opts, send, servePeer } from './peer-common.mjs';

const QUEUE = 'webhooks';
const WORKERS = 4;
const boss = new PgBoss({ connectionString: opts.url, max: 10 });
boss.on('error', (err) => console.error('pg-boss:', err.message));
await boss.start();
await boss.createQueue(QUEUE);

// Each worker sends its batch with concurrency / WORKERS requests in flight.
const lanes = Math.max(1, Math.floor(opts.concurrency / WORKERS));
for (let w = 0; w < WORKERS; w++) {
  await boss.work(QUEUE, { batchSize: 500, pollingIntervalSeconds: 0.5 }, async (jobs) => {
    const failed = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < jobs.length) {
          const job = jobs[next++];
          try {
            await send(job.data);
          } catch {
            failed.push(job.id);
          }
        }
      }),
    );
    // The batch completes as a whole when the handler returns; the failed ones go to retry first.
    if (failed.length > 0) await boss.fail(QUEUE, failed);
  });
}

servePeer(
  (jobs) =>
    boss.insert(
      jobs.map((data) => ({ name: QUEUE, data, retryLimit: 8, retryDelay: 1, retryBackoff: true })),
    ),
  () => boss.stop({ graceful: true, wait: true, timeout: 5000 }),
);
