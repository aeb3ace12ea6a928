#!/usr/bin/env node
// pnpm bench:delivery [--store sqlite|postgres|none] [--events N] [--instances 1|2]
// Events/s delivered end to end (intake → receiver 2xx) and latency, beside a raw baseline: the
// same receiver driven directly by undici at the same concurrency, with no storage.
// --store none is a diagnostic bound, not a mode of the product: the server's outbox is replaced
// by a pass-through (intake hands every event straight to the dispatcher, results are dropped),
// so the figures show what intake, dispatch, signing and sending cost without any storage.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';
import { startServer } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    events: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '16' },
    instances: { type: 'string', default: '1' },
  },
});
const N = Number(values.events);
const C = Number(values.concurrency);
const I = Number(values.instances);
if (I !== 1 && I !== 2) throw new Error('--instances is 1 or 2');
if (I === 2 && values.store !== 'postgres') throw new Error('--instances 2 needs --store postgres');
if (!['sqlite', 'postgres', 'none'].includes(values.store))
  throw new Error('--store is sqlite, postgres or none');

const rx = fork(new URL('./receiver-child.mjs', import.meta.url));
const ask = (msg, key) =>
  new Promise((resolve) => {
    const on = (m) => {
      if (key in m) {
        rx.off('message', on);
        resolve(m);
      }
    };
    rx.on('message', on);
    if (msg) rx.send(msg);
  });
const { port } = await ask(null, 'port');
const target = `http://127.0.0.1:${port}`;

const pct = (xs, p) => {
  if (xs.length === 0) return Number.NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function eventBody(tag, i) {
  return {
    event_type: 'hangup',
    extension_id: 175,
    data: {
      SubCallID: `175-${i.toString(16).padStart(32, '0')}`,
      EventTime: 1499349846331075 + i,
      CalledNumber: '00010005',
      EventType: 'hangup',
      CallerIDNum: '000*099',
      CallerExtensionID: 175,
      CallerExtension: '000*099@sip.domain',
      CallFlow: 'out',
      CallAPIID: '3584705177-31845fca-8562-4b7a-94cf-7b4036fd6d52',
      CallerIDName: 'Iggy Pop',
      Duration: 4239900,
      CallStatus: 'ANSWER',
      CallID: i.toString(16).padStart(32, '0'),
      Tag: String(tag),
    },
  };
}

// ---- Baseline: the receiver driven directly, C requests in flight, no storage.
async function baseline() {
  await ask('reset', 'reset');
  const pool = new Pool(target, { connections: C });
  const body = new URLSearchParams(
    Object.entries(eventBody(0, 1).data).map(([k, v]) => [k, String(v)]),
  ).toString();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) {
        next++;
        const b = body.replace('Tag=0', `Tag=${performance.timeOrigin + performance.now()}`);
        const res = await pool.request({
          path: '/hook',
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: b,
        });
        await res.body.dump();
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  const stats = await ask('stats', 'latencies');
  return { per_s: N / seconds, p50_ms: pct(stats.latencies, 50), p99_ms: pct(stats.latencies, 99) };
}

// ---- callhook: intake → outbox → dispatcher → receiver.
const dir = mkdtempSync(join(tmpdir(), 'callhook-bench-'));
// PostgreSQL: a fresh database on the server named by CALLHOOK_BENCH_DATABASE_URL (an admin URL),
// dropped at the end, so every run starts from the same empty state.
const adminUrl = process.env.CALLHOOK_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const benchDb = `callhook_bench_${process.pid}_${Date.now()}`;
async function admin(query) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(query);
  } finally {
    await c.end();
  }
}
let databaseUrl = '';
if (values.store === 'postgres') {
  await admin(`create database ${benchDb}`);
  const u = new URL(adminUrl);
  u.pathname = `/${benchDb}`;
  databaseUrl = u.toString();
}
const start = (pbxKey) =>
  startServer({
    port: 0,
    dataDir: dir,
    databaseUrl,
    demo: true,
    logLevel: 'silent',
    env: {},
    config: {
      simulator: false,
      extensionSubscriptionLimit: 100,
      deliveryPerHostConcurrency: C,
      deliveryConcurrency: C,
      demoClientId: 'bench',
      demoClientSecret: 'bench-secret',
      ...(pbxKey ? { pbxKey } : {}),
    },
  });
const server = await start();
// --instances 2: a second server on the same database (in this process), intake spread over both.
const servers = I === 2 ? [server, await start(server.pbxKey)] : [server];
const tokenRes = await fetch(`${server.url}/oauth/token`, {
  method: 'POST',
  body: new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: 'bench',
    client_secret: 'bench-secret',
  }),
});
const { access_token } = await tokenRes.json();
await fetch(`${server.apiUrl}/extension/175/event/`, {
  method: 'POST',
  headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ url: `${target}/hook`, method: 'POST', event_type: 'hangup' }),
});
if (values.store === 'none') {
  // The pass-through outbox of --store none: every event becomes a delivery already leased to
  // the dispatcher, whatever room it has; nothing is written, claimed or recorded.
  const { outbox, subscriptions } = server.store;
  const [listed] = await subscriptions.list(175);
  const sub = await subscriptions.byId(listed.id);
  let seqs = 1;
  outbox.ingest = async (events, now) => ({
    eventIds: events.map(() => seqs),
    deliveries: events.length,
    unleased: 0,
    leased: events.map((e) => {
      const seq = seqs++;
      return {
        seq,
        id: `msg_${seq}`,
        subscriptionId: sub.id,
        eventId: seq,
        clientId: sub.clientId,
        extensionId: e.extensionId,
        eventType: e.eventType,
        callId: e.callId,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: now,
        createdAt: now,
        lastAttemptAt: null,
        lastStatusCode: null,
        lastOutcome: null,
        payload: e.payload,
        url: sub.url,
        method: sub.method,
        secret: sub.secret,
        previousSecret: null,
        previousSecretExpiresAt: null,
        failingSince: null,
      };
    }),
  });
  outbox.complete = async () => {};
  outbox.claim = async () => [];
}
const intakes = servers.map((sv) => new Pool(sv.url, { connections: 4 }));
let seq = 0;
let turn = 0;
async function ingest(count) {
  const events = [];
  for (let k = 0; k < count; k++) events.push(eventBody(performance.timeOrigin + performance.now(), seq++));
  const intake = intakes[turn++ % intakes.length];
  const res = await intake.request({
    path: '/api/ver1.0/pbx/event/batch/',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-pbx-key': server.pbxKey },
    body: JSON.stringify({ events }),
  });
  if (res.statusCode !== 202) throw new Error(`intake ${res.statusCode}: ${await res.body.text()}`);
  await res.body.dump();
}

async function waitDelivered(count, ms = 300_000) {
  const end = Date.now() + ms;
  for (;;) {
    const s = await ask('stats', 'latencies');
    if (s.count >= count || Date.now() > end) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** As fast as it goes: N events in batches of 100, 2 batches in flight. */
async function maxRate() {
  await ask('reset', 'reset');
  const started = performance.timeOrigin + performance.now();
  let sent = 0;
  await Promise.all(
    Array.from({ length: 2 }, async () => {
      while (sent < N) {
        const k = Math.min(100, N - sent);
        sent += k;
        await ingest(k);
      }
    }),
  );
  const s = await waitDelivered(N);
  return {
    per_s: s.count / ((s.last - started) / 1000),
    p50_ms: pct(s.latencies, 50),
    p99_ms: pct(s.latencies, 99),
    delivered: s.count,
  };
}

/** At a fixed rate (events/s), in batches of 10 every 10/rate s, for latency. */
async function atRate(rate, seconds = 5) {
  await ask('reset', 'reset');
  const total = Math.round(rate * seconds);
  const batch = 10;
  const started = performance.now();
  for (let sent = 0; sent < total; sent += batch) {
    const due = started + (sent / rate) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await ingest(batch);
  }
  const s = await waitDelivered(Math.ceil(total / batch) * batch);
  return { per_s: rate, p50_ms: pct(s.latencies, 50), p99_ms: pct(s.latencies, 99), delivered: s.count };
}

await baseline(); // warm up both sides
const base = await baseline();
const max = await maxRate();
const half = await atRate(Math.round(max.per_s / 2));
for (const intake of intakes) await intake.close();
for (const sv of servers) await sv.close();
rx.send('exit');
rmSync(dir, { recursive: true, force: true });
if (databaseUrl) await admin(`drop database if exists ${benchDb} with (force)`);

const ratio = max.per_s / base.per_s;
console.log(
  `delivery benchmark (${values.store === 'none' ? 'no storage: a bound, not the product' : values.store}, ${I} instance${I === 2 ? 's in one process' : ''}, ${N} events, ${C} in flight, one receiver process)`,
);
console.log(
  `  raw baseline (undici → receiver):  ${round(base.per_s, 0)} req/s   p50 ${round(base.p50_ms, 2)} ms  p99 ${round(base.p99_ms, 2)} ms`,
);
console.log(
  `  callhook, max rate (intake → 2xx): ${round(max.per_s, 0)} events/s  p50 ${round(max.p50_ms)} ms  p99 ${round(max.p99_ms)} ms`,
);
console.log(
  `  callhook at half that rate:        ${round(half.per_s, 0)} events/s  p50 ${round(half.p50_ms, 2)} ms  p99 ${round(half.p99_ms, 2)} ms`,
);
console.log(
  `  ratio to baseline: ${round(ratio, 2)}x (target ≥ 0.5x); p99 at half rate ${round(half.p99_ms, 1)} ms (target ≤ 25 ms)`,
);
console.log(
  JSON.stringify({
    store: values.store,
    instances: I,
    events: N,
    ratio: round(ratio, 3),
    per_s: round(max.per_s, 0),
    baseline_per_s: round(base.per_s, 0),
    p50_ms: round(half.p50_ms, 2),
    p99_ms: round(half.p99_ms, 2),
    half_rate_per_s: half.per_s,
    max_rate_p99_ms: round(max.p99_ms, 1),
  }),
);
process.exit(0);
