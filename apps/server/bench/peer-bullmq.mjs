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
import express from 'express';
import IORedis from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { Agent, request } from 'undici';

const opts = JSON.parse(process.argv[2]);
const connection = new IORedis(opts.url, { maxRetriesPerRequest: null });
const queue = new Queue('webhooks', { connection });
await queue.obliterate({ force: true });
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
    const jobs = events.map((ev) => {
      const id = `msg_${process.pid}_${++seq}`;
      return {
        name: ev.event_type,
        data: { id, url: opts.target, payload: encode(ev.data) },
        opts: {
          jobId: id,
          attempts: 8,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: true,
          removeOnFail: 1000,
        },
      };
    });
    await queue.addBulk(jobs);
    res.status(202).json({ accepted: jobs.length });
  } catch (err) {
    next(err);
  }
});

const worker = new Worker(
  'webhooks',
  async (job) => {
    const { id, url, payload } = job.data;
    const now = new Date();
    const signature = wh.sign(id, now, payload);
    const res = await request(url, {
      method: 'POST',
      dispatcher: agent,
      headers: {
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': signature,
      },
      body: payload,
      signal: AbortSignal.timeout(10_000),
    });
    await res.body.dump();
    if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}`);
  },
  { connection: new IORedis(opts.url, { maxRetriesPerRequest: null }), concurrency: opts.concurrency },
);

const server = app.listen(0, '127.0.0.1', () => {
  process.send({ url: `http://127.0.0.1:${server.address().port}` });
});
process.on('message', async (msg) => {
  if (msg === 'cpu') {
    process.send({ cpu: process.cpuUsage(), rss: process.memoryUsage.rss() });
  } else if (msg === 'exit') {
    server.close();
    await worker.close();
    await queue.close();
    await connection.quit();
    process.exit(0);
  }
});
// The benchmark went away (finished or killed): so does this peer.
process.on('disconnect', () => process.exit(0));
