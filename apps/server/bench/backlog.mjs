#!/usr/bin/env node
// pnpm bench:backlog [--deliveries 1000000] [--endpoints 4] [--store sqlite|postgres] [--breaker-failures 5]
//                    [--heap-growth <percent>] [--node-options='<flags>']
// A backlog: --deliveries deliveries are queued while the receiver is down (its port refuses
// connections), over --endpoints endpoints (one subscription each, all for the same events) and
// calls of 5 events each; then the receiver comes up and the queue drains. The server runs in its
// own process (bench/server-child.mjs); its RSS is sampled every second and printed as a table.
// Checked at the end: every delivery arrived (nothing lost), no webhook-id arrived twice after a
// 2xx (nothing doubled), and each call's events arrived in order at each endpoint. The drain rate
// is compared with the normal max rate measured first, on the same server, receiver up.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import {
  clientToken,
  clockMs,
  dropFreshDatabases,
  fileMb,
  freshDatabase,
  hangupEvent,
  machine,
  machineLine,
  pct,
  sentAt,
} from './common.mjs';

const { values } = parseArgs({
  options: {
    deliveries: { type: 'string', default: '1000000' },
    endpoints: { type: 'string', default: '4' },
    store: { type: 'string', default: 'sqlite' },
    'normal-events': { type: 'string', default: '5000' },
    // The server's CALLHOOK_BREAKER_FAILURES: 0 attempts every call's first delivery against the
    // dead receiver, as before hosts were held.
    'breaker-failures': { type: 'string', default: '5' },
    // A healthy neighbour (extension 200's hangups, to another receiver): this many events at max
    // rate before the backlog, and again while the dead receiver's backlog waits; 0: none.
    'neighbour-events': { type: 'string', default: '5000' },
    // The server's CALLHOOK_HEAP_GROWTH (percent); 0: V8's own heap growth. Default: the server's.
    'heap-growth': { type: 'string' },
    // Node's flags for the server's process (with '=': --node-options='--max-semi-space-size=32'):
    // what a flag costs in RSS with a million queued (bench:delivery --node-options: what it gives).
    'node-options': { type: 'string' },
  },
});
const NODE_FLAGS = values['node-options']?.split(/\s+/).filter(Boolean) ?? [];
if (NODE_FLAGS.some((f) => !f.startsWith('-')))
  throw new Error("--node-options: node's flags, such as '--max-semi-space-size=32'");
const D = Number(values.deliveries);
const E = Number(values.endpoints);
const EVENTS = Math.ceil(D / E);
const PER_CALL = 5;
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

// ---- The receiver: its own server in this process (the load generator is idle while it drains).
let received = 0;
let doubled = 0;
let outOfOrder = 0;
let lastAt = 0;
const done = new Set(); // webhook-ids answered 2xx
const lastSeq = new Map(); // endpoint + call → last event number seen
const rx = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const now = performance.now();
    const id = req.headers['webhook-id'];
    if (done.has(id)) doubled++;
    else done.add(id);
    const body = new URLSearchParams(Buffer.concat(chunks).toString());
    const key = `${req.url}|${body.get('CallID')}`;
    const n = Number(body.get('Tag'));
    if ((lastSeq.get(key) ?? -1) >= n) outOfOrder++;
    lastSeq.set(key, n);
    received++;
    lastAt = now;
    res.end('ok');
  });
});
rx.keepAliveTimeout = 10_000;
// A free port, closed again: the receiver is down until it listens there.
const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const p = probe.address().port;
    probe.close(() => resolve(p));
  });
});

// ---- The healthy neighbour's receiver: another host (port), always up; latency from each Tag.
let nReceived = 0;
let nLatencies = [];
let nLastAt = 0;
const neighbour = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const sent = sentAt(Buffer.concat(chunks).toString());
    const now = clockMs();
    if (sent !== undefined) nLatencies.push(now - sent);
    nReceived++;
    nLastAt = now;
    res.end('ok');
  });
});
neighbour.keepAliveTimeout = 10_000;
await new Promise((r) => neighbour.listen(0, '127.0.0.1', r));

const dir = mkdtempSync(join(tmpdir(), 'callhook-backlog-'));
const databaseUrl = values.store === 'postgres' ? await freshDatabase('backlog') : '';
const server = fork(
  new URL('./server-child.mjs', import.meta.url),
  [
    JSON.stringify({
      dataDir: dir,
      databaseUrl,
      config: {
        simulator: false,
        extensionSubscriptionLimit: 100,
        demoClientId: 'bench',
        demoClientSecret: 'bench-secret',
        // The bench:delivery settings: 16 requests in flight.
        deliveryConcurrency: 16,
        deliveryPerHostConcurrency: 16,
        // The few deliveries the dispatcher holds for the dead host are tried again every 10 s
        // (the default schedule backs off to hours, which would make the drain wait for them).
        retrySchedule: Array(50).fill(10),
        retryJitter: 0,
        breakerFailures: Number(values['breaker-failures']),
        ...(values['heap-growth'] !== undefined ? { heapGrowthPercent: Number(values['heap-growth']) } : {}),
      },
    }),
  ],
  { execArgv: [...process.execArgv, ...NODE_FLAGS] },
);
const ask = (msg, key) =>
  new Promise((resolve) => {
    const on = (m) => {
      if (key in m) {
        server.off('message', on);
        resolve(m);
      }
    };
    server.on('message', on);
    if (msg) server.send(msg);
  });
const info = await ask(null, 'url');
const access_token = await clientToken(info.url, 'bench', 'bench-secret');
for (let e = 0; e < E; e++) {
  const res = await fetch(`${info.apiUrl}/extension/175/event/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: `http://127.0.0.1:${port}/hook/${e}`, method: 'POST', event_type: 'hangup' }),
  });
  if (!res.ok) throw new Error(`subscribe: ${res.status} ${await res.text()}`);
}

{
  const res = await fetch(`${info.apiUrl}/extension/200/event/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      url: `http://127.0.0.1:${neighbour.address().port}/neighbour`,
      method: 'POST',
      event_type: 'hangup',
    }),
  });
  if (!res.ok) throw new Error(`subscribe the neighbour: ${res.status} ${await res.text()}`);
}

// ---- RSS, sampled every second, and SQLite's WAL file (a WAL that never starts over grows by
// every commit for as long as the writes go on).
const walFile = join(dir, 'callhook.db-wal');
const walMb = () => (values.store === 'sqlite' ? fileMb(walFile) : Number.NaN);
const t0 = performance.now();
let phase = 'normal';
const samples = [];
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    const { rss, heapUsed } = await ask('cpu', 'cpu');
    samples.push({
      s: (performance.now() - t0) / 1000,
      phase,
      mb: rss / 2 ** 20,
      heapMb: heapUsed / 2 ** 20,
      walMb: walMb(),
      received,
      queued: ingested,
    });
    // Live, every 30 s, so a long run shows its course (and what it reached, if it is stopped).
    if (samples.length % 30 === 1) {
      const x = samples[samples.length - 1];
      console.error(
        `  ${round(x.s, 0)} s ${x.phase}: RSS ${round(x.mb, 0)} MB (JS heap ${round(x.heapMb, 0)} MB), queued ${x.queued}, received ${x.received}`,
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
})();

let ingested = 0;
let callBase = 0;
// As many connections as requests in flight: none sits idle for the server to close under it.
const intake = new Pool(info.url, { connections: 2 });
/** One intake request; a connection the server reset before answering is tried again. */
async function post(body) {
  for (let tries = 1; ; tries++) {
    try {
      return await intake.request({
        path: '/api/ver1.0/pbx/event/batch/',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-pbx-key': info.pbxKey },
        body,
      });
    } catch (err) {
      if (err.code !== 'ECONNRESET' || tries >= 3) throw err;
      resets++;
    }
  }
}
let resets = 0;
/** `count` events: calls of PER_CALL events, each event numbered within its call (Tag). */
async function ingestEvents(count) {
  let sent = 0;
  const first = callBase;
  callBase += Math.ceil(count / PER_CALL);
  await Promise.all(
    Array.from({ length: 2 }, async () => {
      while (sent < count) {
        const k = Math.min(100, count - sent);
        const events = [];
        for (let j = 0; j < k; j++, sent++) {
          events.push(hangupEvent(sent % PER_CALL, sent, first + Math.floor(sent / PER_CALL)));
        }
        const res = await post(JSON.stringify({ events }));
        if (res.statusCode !== 202) throw new Error(`intake ${res.statusCode}: ${await res.body.text()}`);
        await res.body.dump();
        ingested += k * E;
      }
    }),
  );
}
const NEIGHBOUR = Number(values['neighbour-events']);
let neighbourCall = 1e9;
/** The neighbour's events at max rate (batches of 100, 2 in flight): its rate and p99. */
async function neighbourRun() {
  nLatencies = [];
  const before = nReceived;
  const t0 = clockMs();
  let sent = 0;
  await Promise.all(
    Array.from({ length: 2 }, async () => {
      while (sent < NEIGHBOUR) {
        const k = Math.min(100, NEIGHBOUR - sent);
        sent += k;
        const events = [];
        for (let j = 0; j < k; j++) {
          const e = hangupEvent(clockMs(), sent + j, neighbourCall++);
          events.push({ ...e, extension_id: 200, data: { ...e.data, SubCallID: `200-${e.data.CallID}` } });
        }
        const res = await post(JSON.stringify({ events }));
        if (res.statusCode !== 202) throw new Error(`intake ${res.statusCode}: ${await res.body.text()}`);
        await res.body.dump();
      }
    }),
  );
  while (nReceived - before < NEIGHBOUR) await new Promise((r) => setTimeout(r, 50));
  return { per_s: NEIGHBOUR / ((nLastAt - t0) / 1000), p99_ms: pct(nLatencies, 99) };
}
async function waitReceived(n) {
  while (done.size < n) await new Promise((r) => setTimeout(r, 200));
}

// 1. Normal: receiver up, a short run at max rate.
await new Promise((r) => rx.listen(port, '127.0.0.1', r));
const normalEvents = Number(values['normal-events']);
const n0 = performance.now();
await ingestEvents(normalEvents);
await waitReceived(normalEvents * E);
const normalRate = (normalEvents * E) / ((lastAt - n0) / 1000);
console.error(`normal: ${round(normalRate, 0)} deliveries/s`);
const neighbourBefore = NEIGHBOUR > 0 ? await neighbourRun() : undefined;

// 2. Down: the receiver stops listening; the backlog is queued.
await new Promise((r) => {
  rx.close(r);
  rx.closeAllConnections();
});
phase = 'queue';
const before = done.size;
const q0 = performance.now();
await ingestEvents(EVENTS);
const queueSeconds = (performance.now() - q0) / 1000;
console.error(`queued ${EVENTS * E} deliveries in ${round(queueSeconds, 0)} s`);
/** The server's attempts that found no receiver (its /metrics), so far. */
async function unreachableAttempts() {
  const text = await (await fetch(`${info.url}/metrics`)).text();
  let n = 0;
  for (const outcome of ['connection_error', 'timeout']) {
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`callhook_delivery_attempts_total{outcome="${outcome}"} `));
    if (line) n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}
const deadAttempts = await unreachableAttempts();
// The neighbour again, the backlog waiting: after 20 s, so that waits have ended and probes
// failed (the backlog's deliveries have come due at least once).
let neighbourHeld;
if (NEIGHBOUR > 0) {
  await new Promise((r) => setTimeout(r, 20_000));
  neighbourHeld = await neighbourRun();
}

// 3. Up: the drain.
phase = 'drain';
const d0 = performance.now();
await new Promise((r) => rx.listen(port, '127.0.0.1', r));
while (done.size === before) await new Promise((r) => setTimeout(r, 20));
const firstAfter = (performance.now() - d0) / 1000;
await waitReceived(before + EVENTS * E);
// The drain's rate from its first delivery (how soon that comes is printed on its own: with held
// hosts, up to one wait between probes).
const drainSeconds = (lastAt - d0) / 1000 - firstAfter;
const drainRate = (EVENTS * E) / drainSeconds;
// A moment longer: anything doubled would arrive now.
await new Promise((r) => setTimeout(r, 2000));
sampling = false;
await sampler;
await intake.close();
server.send('exit');
await new Promise((r) => server.once('exit', r));
rx.close();
neighbour.close();
rmSync(dir, { recursive: true, force: true });
await dropFreshDatabases();

const total = (normalEvents + EVENTS) * E;
const lost = total - done.size;
const peak = Math.max(...samples.map((x) => x.mb));
const walPeak = Math.max(...samples.map((x) => x.walMb));
console.log(
  `backlog benchmark (${values.store}, CALLHOOK_BREAKER_FAILURES=${values['breaker-failures']}, ${EVENTS * E} deliveries = ${EVENTS} events × ${E} endpoints, calls of ${PER_CALL} events, server in its own process${NODE_FLAGS.length ? ` started with node ${NODE_FLAGS.join(' ')}` : ''})`,
);
console.log(machineLine());
console.log('  server RSS over time:');
console.log('    time s  phase   RSS MB  heap MB  WAL MB  queued    received');
const step = Math.max(1, Math.ceil(samples.length / 24));
for (let i = 0; i < samples.length; i += step) {
  const x = samples[i];
  console.log(
    `    ${String(round(x.s, 0)).padStart(6)}  ${x.phase.padEnd(6)}  ${String(round(x.mb, 0)).padStart(6)}  ${String(round(x.heapMb, 0)).padStart(7)}  ${String(Number.isNaN(x.walMb) ? '-' : round(x.walMb, 0)).padStart(6)}  ${String(x.queued).padStart(8)}  ${String(x.received).padStart(8)}`,
  );
}
console.log(
  `  normal max rate ${round(normalRate, 0)} deliveries/s; queued in ${round(queueSeconds, 0)} s; drained at ${round(drainRate, 0)} deliveries/s = ${round(drainRate / normalRate, 2)}x normal (target ≥ 0.8x)`,
);
console.log(
  `  while the receiver was down: queued ${round((EVENTS * E) / queueSeconds, 0)} deliveries/s, ${deadAttempts} attempts found no receiver; the first delivery ${round(firstAfter, 1)} s after it came up`,
);
if (neighbourBefore && neighbourHeld) {
  console.log(
    `  a healthy neighbour (another receiver, ${NEIGHBOUR} events at max rate): ${round(neighbourBefore.per_s, 0)} deliveries/s, p99 ${round(neighbourBefore.p99_ms, 1)} ms before the backlog; ${round(neighbourHeld.per_s, 0)} deliveries/s, p99 ${round(neighbourHeld.p99_ms, 1)} ms with it waiting = ${round(neighbourHeld.per_s / neighbourBefore.per_s, 2)}x`,
  );
}
console.log(
  `  peak RSS ${round(peak, 0)} MB (target ≤ 256 MB)${Number.isNaN(walPeak) ? '' : `, WAL file at most ${round(walPeak, 0)} MB`}; lost ${lost}, doubled ${doubled}, out of order ${outOfOrder}; intake requests sent again after a connection reset: ${resets}`,
);
console.log(
  JSON.stringify({
    bench: 'backlog',
    machine: machine(),
    store: values.store,
    ...(NODE_FLAGS.length ? { node_options: NODE_FLAGS } : {}),
    deliveries: EVENTS * E,
    endpoints: E,
    normal_per_s: round(normalRate, 0),
    drain_per_s: round(drainRate, 0),
    drain_ratio: round(drainRate / normalRate, 2),
    breaker_failures: Number(values['breaker-failures']),
    queue_seconds: round(queueSeconds, 1),
    queue_per_s: round((EVENTS * E) / queueSeconds, 0),
    unreachable_attempts: deadAttempts,
    first_delivery_after_s: round(firstAfter, 1),
    ...(neighbourBefore && neighbourHeld
      ? {
          neighbour_per_s: round(neighbourBefore.per_s, 0),
          neighbour_held_per_s: round(neighbourHeld.per_s, 0),
          neighbour_ratio: round(neighbourHeld.per_s / neighbourBefore.per_s, 2),
          neighbour_p99_ms: round(neighbourBefore.p99_ms, 1),
          neighbour_held_p99_ms: round(neighbourHeld.p99_ms, 1),
        }
      : {}),
    peak_rss_mb: round(peak, 0),
    ...(Number.isNaN(walPeak) ? {} : { peak_wal_mb: round(walPeak, 0) }),
    lost,
    doubled,
    out_of_order: outOfOrder,
  }),
);
process.exit(0);
