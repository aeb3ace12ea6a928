// bench:isolation's receivers, in their own process: one HTTP server per endpoint, each on its own
// port (so its own host to the dispatcher, as different integrators are). Each endpoint answers
// 200 at once ('ok'), 500 at once ('fail'), never ('hang': it reads the request and holds it), or
// 200 to its first STALL_AFTER requests of the run and never after ('stall').
// Per endpoint it counts the 2xx it gave and records how long after its `Tag` (the send time, ms)
// each request arrived. Driven over IPC.
import { createServer } from 'node:http';
import { clockMs, sentAt } from './common.mjs';

const endpoints = [];
/** A 'stall' endpoint's answers before it holds every request. */
const STALL_AFTER = 20;

function endpoint() {
  const e = { mode: 'ok', count: 0, first: 0, last: 0, latencies: [], held: new Set(), stallAnswers: 0 };
  e.server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (e.mode === 'hang' || (e.mode === 'stall' && e.stallAnswers++ >= STALL_AFTER)) {
        e.held.add(res);
        res.on('close', () => e.held.delete(res));
        return;
      }
      if (e.mode === 'fail') {
        res.writeHead(500).end('down for maintenance');
        return;
      }
      const now = clockMs();
      const body = Buffer.concat(chunks).toString();
      const sent = sentAt(body);
      if (sent !== undefined) e.latencies.push(now - sent);
      if (e.count === 0) e.first = now;
      e.last = now;
      e.count++;
      res.end('ok');
    });
  });
  e.server.keepAliveTimeout = 10_000;
  // A held request stays held: Node's own request timeout would answer it with 408.
  e.server.requestTimeout = 0;
  return e;
}

process.on('message', async (msg) => {
  if (msg.setup !== undefined) {
    for (let i = 0; i < msg.setup; i++) endpoints.push(endpoint());
    await Promise.all(endpoints.map((e) => new Promise((r) => e.server.listen(0, '127.0.0.1', r))));
    process.send({ ports: endpoints.map((e) => e.server.address().port) });
  } else if (msg.modes !== undefined) {
    // A new run: every held request let go, counts cleared, each endpoint its mode.
    for (const [i, e] of endpoints.entries()) {
      for (const res of e.held) res.destroy();
      e.held.clear();
      Object.assign(e, { mode: msg.modes[i], count: 0, first: 0, last: 0, latencies: [], stallAnswers: 0 });
    }
    process.send({ modesSet: true });
  } else if (msg.clear !== undefined) {
    // Between phases of one run: counts cleared, modes and held requests kept.
    for (const e of endpoints) Object.assign(e, { count: 0, first: 0, last: 0, latencies: [] });
    process.send({ cleared: true });
  } else if (msg.stats !== undefined) {
    process.send({
      endpoints: endpoints.map((e) => ({
        count: e.count,
        first: e.first,
        last: e.last,
        latencies: msg.stats ? e.latencies : [],
      })),
    });
  } else if (msg === 'exit') {
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
