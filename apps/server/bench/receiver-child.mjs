// The benchmark's receiver, in its own process: answers 200 at once and records, per request,
// how long after its `Tag` (the send time, ms) it arrived. Reports over IPC when asked.
import { createServer } from 'node:http';
import { clockMs, sentAt } from './common.mjs';

let latencies = [];
let count = 0;
let first = 0;
let last = 0;
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const now = clockMs();
    const body = Buffer.concat(chunks).toString();
    const sent = sentAt(body);
    if (sent !== undefined) latencies.push(now - sent);
    if (count === 0) first = now;
    last = now;
    count++;
    res.end('ok');
  });
});
server.keepAliveTimeout = 10_000;
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
process.on('message', (msg) => {
  if (msg === 'reset') {
    latencies = [];
    count = 0;
    first = 0;
    last = 0;
    process.send({ reset: true });
  } else if (msg === 'stats') {
    process.send({ count, first, last, latencies });
  } else if (msg === 'exit') {
    server.close();
    process.exit(0);
  }
});
