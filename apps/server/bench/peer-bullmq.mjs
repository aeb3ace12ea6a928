// The bench:delivery --peer bullmq system: what a Node team would build instead of callhook, in
// one process as callhook runs: Express takes the same intake batch (JSON), encodes each event as
// the provider sends it and queues one job per event with BullMQ on Redis (the benchmark starts a
// Redis with AOF, fsync every second); a BullMQ worker (same concurrency as callhook's) signs with
// the standardwebhooks package and posts with undici; a non-2xx fails the job, which BullMQ retries
// with exponential backoff. Completed jobs are removed (a lighter load than callhook's, which
// keeps every attempt); there is no per-call order (BullMQ has no groups outside its Pro edition).
// Started with { url (redis), target, concurrency } as JSON in argv[2]; reports { url } over IPC
// and answers 'cpu' like server-child.mjs.
import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { opts, send, servePeer } from './peer-common.mjs';

const connection = new IORedis(opts.url, { maxRetriesPerRequest: null });
const queue = new Queue('webhooks', { connection });
await queue.obliterate({ force: true });

const worker = new Worker('webhooks', (job) => send(job.data), {
  connection: new IORedis(opts.url, { maxRetriesPerRequest: null }),
  concurrency: opts.concurrency,
});

servePeer(
  (jobs) =>
    queue.addBulk(
      jobs.map((data) => ({
        name: 'webhooks',
        data,
        opts: {
          jobId: data.id,
          attempts: 8,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: true,
          removeOnFail: 1000,
        },
      })),
    ),
  async () => {
    await worker.close();
    await queue.close();
    await connection.quit();
  },
);
