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
import express from 'express';
import PgBoss from 'pg-boss';
import { Webhook } from 'standardwebhooks';
import { Agent, request } from 'undici';

const opts = JSON.parse(process.argv[2]);
const QUEUE = 'webhooks';
const WORKERS = 4;
const boss = new PgBoss({ connectionString: opts.url, max: 10 });
boss.on('error', (err) => console.error('pg-boss:', err.message));
await boss.start();
await boss.createQueue(QUEUE);
const secret = `whsec_${Buffer.from('bench-peer-secret-0123456789abcd').toString('base64')}`;
const wh = new Webhook(secret);
const agent = new Agent({ connections: opts.concurrency, headersTimeout: 10_000, bodyTimeout: 10_000 });

function encode(data) {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(data))
    if (v !== null && v !== undefined && v !== '') form.append(k, String(v));
  return form.toString();
}

let seq = 0;
const app = express();
app.use(express.json({ limit: '5mb' }));
app.post('/api/ver1.0/pbx/event/batch/', async (req, res, next) => {
  try {
    const events = req.body?.events;
    if (!Array.isArray(events)) return res.status(400).json({ message: 'events: an array is required' });
    const jobs = events.map((ev) => ({
      name: QUEUE,
      data: { id: `msg_${process.pid}_${++seq}`, url: opts.target, payload: encode(ev.data) },
      retryLimit: 8,
      retryDelay: 1,
      retryBackoff: true,
    }));
    await boss.insert(jobs);
    res.status(202).json({ accepted: jobs.length });
  } catch (err) {
    next(err);
  }
});

async function send({ id, url, payload }) {
  const now = new Date();
  const res = await request(url, {
    method: 'POST',
    dispatcher: agent,
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': wh.sign(id, now, payload),
    },
    body: payload,
    signal: AbortSignal.timeout(10_000),
  });
  await res.body.dump();
  if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}`);
}

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

const server = app.listen(0, '127.0.0.1', () => {
  process.send({ url: `http://127.0.0.1:${server.address().port}` });
});
process.on('message', async (msg) => {
  if (msg === 'cpu') {
    process.send({ cpu: process.cpuUsage(), rss: process.memoryUsage.rss() });
  } else if (msg === 'exit') {
    server.close();
    await boss.stop({ graceful: true, wait: true, timeout: 5000 });
    process.exit(0);
  }
});
// The benchmark went away (finished or killed): so does this peer.
process.on('disconnect', () => process.exit(0));
