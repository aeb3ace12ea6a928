#!/usr/bin/env node
// pnpm bench:api [--duration 3] [--rounds 5] [--warmup 2] [--connections 10] [--dist <build dir>]
//                [--against <build dir>]
// Requests/s and p99 of the validated API (the real server from dist/, demo mode, SQLite in a
// temp dir) for GET .../event/ (a list of 20) and POST .../event/ (create), each beside the same
// route on bare Express in the same run, in two forms:
//  - "bare Express + store": the same route doing the same work (find the extension, read or
//    write its subscriptions in a SQLite store of this build, seeded alike but its own, answer
//    the same JSON), without the validator, authentication, metrics or request ids. The ratio
//    to this one is the target's (validated list >= 0.85x, issue 16): what the contract-first
//    stack costs over plain Express.
//  - "bare Express, in memory": no store at all (a static array), the floor, for context.
// The load generator (autocannon) runs in a child process so it does not share the servers'
// event loop. Each variant's CPU per request (this process's CPU over its runs) is printed too,
// with the same ratio taken from it: on a shared machine req/s swings with what else gets the
// cores, and the CPU a request costs does not.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import express from 'express';
import { machine, machineLine, quietServer, serverBuild } from './common.mjs';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '10' },
    // Another build of the server to measure (e.g. a copy of dist/ from before a change); the
    // same as CALLHOOK_BENCH_DIST for the other benchmarks.
    dist: { type: 'string' },
    // Another build measured beside this one in the same run, in turns: a before/after
    // comparison that the machine's drift between two runs does not blur. (Run it once against
    // a copy of this same build first: that is the noise a difference must beat.)
    against: { type: 'string' },
  },
});
if (values.dist) process.env.CALLHOOK_BENCH_DIST = values.dist;
const { presentSubscription } = await serverBuild('api/subscriptions.js');
const DURATION = Number(values.duration);
const ROUNDS = Number(values.rounds);
const WARMUP = Number(values.warmup);
const CONNECTIONS = Number(values.connections);
const autocannonBin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

// A literal global address: the server checks a URL's host, and a name would make this a
// benchmark of the machine's resolver.
const createBody = JSON.stringify({
  url: 'https://93.184.215.14/hook?myid=175',
  method: 'POST',
  event_type: 'hangup',
});

/** One autocannon run in a child process; its JSON result. */
function cannon({ url, method = 'GET', headers = {}, body, duration }) {
  const args = [autocannonBin, '-j', '-c', String(CONNECTIONS), '-d', String(duration), '-m', method];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  if (body !== undefined) args.push('-b', body);
  args.push(url);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`autocannon failed: ${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout));
    });
  });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/**
 * Measures the variants of one route in turns (A, B, C, A, B, C, ...) and keeps each one's
 * median: the machine's load drifts over a run, and measuring one variant after the other put
 * that drift into the ratio.
 */
async function compare(variants) {
  for (const v of variants) {
    await cannon({ ...v, duration: WARMUP });
    await v.reset?.();
  }
  const runs = variants.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, v] of variants.entries()) {
      // The servers' CPU per request: all of them live in this process and only the one under
      // load works, so this process's CPU over a run is that variant's. Steadier than req/s on
      // a shared machine, where the load generator and neighbours take the other core's time.
      const cpu0 = process.cpuUsage();
      const r = await cannon({ ...v, duration: DURATION });
      const cpu = process.cpuUsage(cpu0);
      r.cpu_us = (cpu.user + cpu.system) / Math.max(1, r.requests.total);
      runs[i].push(r);
      await v.reset?.();
    }
  }
  return variants.map((v, i) => {
    const rs = runs[i];
    const out = {
      per_s: Math.round(median(rs.map((r) => r.requests.average))),
      p99_ms: median(rs.map((r) => r.latency.p99)),
      p50_ms: median(rs.map((r) => r.latency.p50)),
      cpu_us: Math.round(median(rs.map((r) => r.cpu_us))),
      failed: rs.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0),
    };
    console.log(
      `  ${v.label.padEnd(34)} ${String(out.per_s).padStart(7)} req/s   p50 ${out.p50_ms} ms   p99 ${out.p99_ms} ms   cpu ${out.cpu_us} µs/req` +
        `   (runs: ${rs.map((r) => Math.round(r.requests.average)).join(', ')})` +
        (out.failed ? `   (${out.failed} non-2xx/errors!)` : ''),
    );
    return out;
  });
}

// ---- the real server (no dispatcher: nothing is delivered, only the API is measured) ----
const limits = { perExtension: 100000, perClient: 10000000 };
const types = ['dial-in', 'dial-out', 'answer', 'hangup', 'voicemail'];
/** A quiet server of `dist` (this build when undefined) with extension 175's 20 subscriptions. */
async function seededServer(dist) {
  const started = await quietServer('api', {
    dist,
    config: { extensionSubscriptionLimit: limits.perExtension, clientSubscriptionLimit: limits.perClient },
  });
  const auth = { authorization: `Bearer ${started.token}` };
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${started.server.apiUrl}/extension/175/event/`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        url: `https://somehost.com/fordel/show.php?myid=175&n=${i}`,
        method: i % 2 ? 'GET' : 'POST',
        event_type: types[i % types.length],
      }),
    });
    if (res.status !== 200) throw new Error(`seeding: ${res.status} ${await res.text()}`);
  }
  const listUrl = `${started.server.apiUrl}/extension/175/event/`;
  const seeded = await (await fetch(listUrl, { headers: auth })).json();
  if (seeded.length !== 20) throw new Error(`expected 20 subscriptions, got ${seeded.length}`);
  return { ...started, auth, listUrl, seeded };
}
const { server, auth, listUrl, seeded, close } = await seededServer(undefined);
const other = values.against ? await seededServer(values.against) : undefined;
// The bare variant's store is a server of its own (this build, seeded alike), so that neither
// validated server shares its store with another variant: when the first one did, it came out
// 1.05-1.11x ahead of an identical second one on the list; apart, 1.01x.
const storeSide = await seededServer(undefined);

// ---- bare Express, in memory: same routes, same JSON, no auth, no validation, no store ----
const bare = express();
bare.disable('x-powered-by');
bare.set('etag', false);
bare.use(express.json());
const list = seeded.map((s) => ({ ...s }));
let created = [];
let nextId = 100000;
bare.get('/api/ver1.0/extension/:extension_id/event/', (_req, res) => res.json(list));
bare.post('/api/ver1.0/extension/:extension_id/event/', (req, res) => {
  const b = req.body;
  const s = {
    url: b.url,
    method: b.method,
    event_type: b.event_type,
    id: nextId++,
    enabled: true,
    disabled_reason: null,
    extension_id: 200,
    created_at: new Date().toISOString(),
    secret: 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  };
  created.push(s);
  res.json(s);
});

// ---- bare Express + store: the same work on the same store, without the stack around it ----
const { store } = storeSide.server;
const stored = express();
stored.disable('x-powered-by');
stored.set('etag', false);
stored.use(express.json());
const extensionOf = async (req, res) => {
  const ext = await store.tenants.getExtension(Number(req.params.extension_id));
  if (!ext) res.status(404).json({ message: 'Not found' });
  return ext;
};
stored.get('/api/ver1.0/extension/:extension_id/event/', async (req, res, next) => {
  try {
    const ext = await extensionOf(req, res);
    if (ext) res.json((await store.subscriptions.list(ext.id)).map(presentSubscription));
  } catch (err) {
    next(err);
  }
});
stored.post('/api/ver1.0/extension/:extension_id/event/', async (req, res, next) => {
  try {
    const ext = await extensionOf(req, res);
    if (!ext) return;
    const b = req.body;
    const s = await store.subscriptions.create(
      ext.clientId,
      ext.id,
      { url: b.url, method: b.method, eventType: b.event_type },
      limits,
    );
    res.json({ ...presentSubscription(s), secret: s.secret });
  } catch (err) {
    next(err);
  }
});

const listen = (app) =>
  new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
const bareServer = await listen(bare);
const bareUrl = `http://127.0.0.1:${bareServer.address().port}`;
const storedServer = await listen(stored);
const storedUrl = `http://127.0.0.1:${storedServer.address().port}`;

console.log(
  `callhook API benchmark: ${CONNECTIONS} connections, ${WARMUP} s warm-up, then ${ROUNDS} rounds of ${DURATION} s per variant, taken in turns; medians (autocannon ${createRequire(import.meta.url)('autocannon/package.json').version}, node ${process.version})`,
);
console.log(machineLine());
console.log('GET /api/ver1.0/extension/175/event/ (a list of 20)');
const againstLabel = 'validated, the --against build';
const [listV, listS, listB, listA] = await compare([
  { label: 'validated (auth + spec + SQLite)', url: listUrl, headers: auth },
  { label: 'bare Express + store', url: `${storedUrl}/api/ver1.0/extension/175/event/` },
  { label: 'bare Express, in memory', url: `${bareUrl}/api/ver1.0/extension/175/event/` },
  ...(other ? [{ label: againstLabel, url: other.listUrl, headers: other.auth }] : []),
]);

console.log('POST /api/ver1.0/extension/200/event/ (create)');
const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: createBody };
const clear200 = (side) => () =>
  fetch(`${side.server.apiUrl}/extension/200/event/`, { method: 'DELETE', headers: side.auth });
const [createV, createS, createB, createA] = await compare([
  {
    ...post,
    label: 'validated (auth + spec + SQLite)',
    url: `${server.apiUrl}/extension/200/event/`,
    headers: { ...post.headers, ...auth },
    reset: clear200({ server, auth }),
  },
  {
    ...post,
    label: 'bare Express + store',
    url: `${storedUrl}/api/ver1.0/extension/200/event/`,
    reset: clear200(storeSide),
  },
  {
    ...post,
    label: 'bare Express, in memory',
    url: `${bareUrl}/api/ver1.0/extension/200/event/`,
    reset: () => {
      created = [];
    },
  },
  ...(other
    ? [
        {
          ...post,
          label: againstLabel,
          url: `${other.server.apiUrl}/extension/200/event/`,
          headers: { ...post.headers, ...other.auth },
          reset: clear200(other),
        },
      ]
    : []),
]);

const ratio = (a, b) => Math.round((a.per_s / b.per_s) * 100) / 100;
// The same comparison in CPU per request (bare's cost / validated's), so higher is better too.
const cpuRatio = (a, b) => Math.round((b.cpu_us / a.cpu_us) * 100) / 100;
const figures = (v, s, b) => ({
  per_s: v.per_s,
  p99_ms: v.p99_ms,
  ratio: ratio(v, s),
  cpu_us: v.cpu_us,
  cpu_ratio: cpuRatio(v, s),
  bare_store_cpu_us: s.cpu_us,
  bare_store_per_s: s.per_s,
  bare_store_p99_ms: s.p99_ms,
  bare_memory_per_s: b.per_s,
  bare_memory_p99_ms: b.p99_ms,
  ratio_to_memory: ratio(v, b),
});
const result = {
  machine: machine(),
  list: figures(listV, listS, listB),
  create: figures(createV, createS, createB),
  ...(other
    ? {
        against: {
          dist: values.against,
          list: figures(listA, listS, listB),
          create: figures(createA, createS, createB),
          list_ratio: ratio(listV, listA),
          list_cpu_ratio: cpuRatio(listV, listA),
          create_ratio: ratio(createV, createA),
          create_cpu_ratio: cpuRatio(createV, createA),
        },
      }
    : {}),
  connections: CONNECTIONS,
  duration_s: DURATION,
  rounds: ROUNDS,
};
console.log(
  `list: ${result.list.ratio}x bare Express + store (target >= 0.85x) ${result.list.ratio >= 0.85 ? 'OK' : 'BELOW TARGET'}, ` +
    `${result.list.ratio_to_memory}x bare in memory; create: ${result.create.ratio}x bare + store, ${result.create.ratio_to_memory}x in memory`,
);
console.log(
  `in CPU per request: list ${result.list.cpu_ratio}x bare Express + store (target >= 0.85x) ` +
    `${result.list.cpu_ratio >= 0.85 ? 'OK' : 'BELOW TARGET'}; create ${result.create.cpu_ratio}x`,
);
if (result.against) {
  const a = result.against;
  console.log(
    `this build / the --against build: list ${a.list_ratio}x req/s, ${a.list_cpu_ratio}x less CPU per request; ` +
      `create ${a.create_ratio}x, ${a.create_cpu_ratio}x less CPU (that build: list ${a.list.ratio}x bare + store, ` +
      `${a.list.cpu_ratio}x in CPU)`,
  );
}
if ([listV, listS, listB, createV, createS, createB, listA, createA].some((r) => r && r.failed > 0))
  console.log('warning: some requests failed');

for (const srv of [bareServer, storedServer]) {
  srv.closeAllConnections?.();
  await new Promise((r) => srv.close(r));
}
await close();
await other?.close();
await storeSide.close();
console.log(JSON.stringify(result));
