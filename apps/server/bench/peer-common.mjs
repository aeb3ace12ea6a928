// What the two peers of bench:delivery (peer-bullmq.mjs, peer-pgboss.mjs) share, so that they
// differ only in their queue: the intake route (Express, the same JSON batch as callhook's), the
// provider's form encoding, the sender (standardwebhooks + undici), and the benchmark's IPC.
import express from 'express';
import { Webhook } from 'standardwebhooks';
import { Agent, request } from 'undici';

/** The peer's options: { url, target, concurrency }, as JSON in argv[2]. */
export const opts = JSON.parse(process.argv[2]);

/** The event data form-encoded as the provider sends it. */
function encode(data) {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(data))
    if (v !== null && v !== undefined && v !== '') form.append(k, String(v));
  return form.toString();
}

const wh = new Webhook(`whsec_${Buffer.from('bench-peer-secret-0123456789abcd').toString('base64')}`);
const agent = new Agent({ connections: opts.concurrency, headersTimeout: 10_000, bodyTimeout: 10_000 });

/** Signs and posts one job; throws on a non-2xx, which fails the job for its queue to retry. */
export async function send({ id, url, payload }) {
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

/**
 * Serves the intake batch route, handing `enqueue` one job's data per event ({ id, url, payload });
 * reports its URL to the benchmark, answers 'cpu', and runs `close` on 'exit'.
 */
export function servePeer(enqueue, close) {
  let seq = 0;
  const app = express();
  app.use(express.json({ limit: '5mb' }));
  app.post('/api/ver1.0/pbx/event/batch/', async (req, res, next) => {
    try {
      const events = req.body?.events;
      if (!Array.isArray(events)) return res.status(400).json({ message: 'events: an array is required' });
      const jobs = events.map((ev) => ({
        id: `msg_${process.pid}_${++seq}`,
        url: opts.target,
        payload: encode(ev.data),
      }));
      await enqueue(jobs);
      res.status(202).json({ accepted: jobs.length });
    } catch (err) {
      next(err);
    }
  });
  const server = app.listen(0, '127.0.0.1', () => {
    process.send({ url: `http://127.0.0.1:${server.address().port}` });
  });
  process.on('message', async (msg) => {
    if (msg === 'cpu') {
      process.send({ cpu: process.cpuUsage(), rss: process.memoryUsage.rss() });
    } else if (msg === 'exit') {
      server.close();
      await close();
      process.exit(0);
    }
  });
  // The benchmark went away (finished or killed): so does this peer.
  process.on('disconnect', () => process.exit(0));
}
