#!/usr/bin/env node
// pnpm bench:delivery [--store sqlite|postgres|none] [--events N] [--runs 3] [--instances 1|2]
//                     [--peer bullmq|pgboss] [--send-threads N] [--latency-rate N] [--latency-batch N]
//                     [--against <copy of dist>] [--control] [--node-options='<flags>']
// Events/s delivered end to end (intake → receiver 2xx), latency, and what it costs: the
// server's own CPU µs per delivered event (its process.cpuUsage over the max-rate phase ÷ events),
// beside a raw baseline: the same receiver driven directly by undici at the same concurrency, with
// no storage (its client CPU µs per request). With --store postgres on this machine, PostgreSQL's
// own CPU per event over the same phase too (its processes', from /proc). The server runs as its
// own process, as users run it (bench/server-child.mjs); the receiver is a third process. Each figure is the median of --runs
// rounds; every round runs the baseline, callhook (and the peer, if any) in turns.
// Round by round: each system's max rate, its ratio to that round's baseline and, with
// --store postgres on this machine, the write-ahead log PostgreSQL wrote per event (see walLsn),
// since these move from round to round more than the median says.
// Under each line, where the cores went through its max-rate phase, in % of one core (the server's
// main thread, its sending threads and its other threads, the receiver, this process, PostgreSQL;
// the sending threads apart where the build names its threads): a part near 100 is
// what bounds the run. The baseline is bound by its client's one thread, callhook by its main one.
// Under it, what the half-rate phase cost: CPU per event (batches of 10 cost an event more than
// batches of 100), how busy the whole machine was, and how long the server's threads waited for
// a core while they could run (Linux's schedstat): what the p99 at half rate follows.
// --store none is a diagnostic bound, not a mode of the product: the server's outbox is replaced
// by a pass-through (intake hands every event straight to the dispatcher, results are dropped),
// so the figures show what intake, dispatch, signing and sending cost without any storage.
// --instances 2 (PostgreSQL): two server processes on one database, intake spread over both,
// measured in turns with one process on a database of its own: how the server scales from 1 to 2.
// --peer bullmq: what a Node team would build instead (bench/peer-bullmq.mjs: Express → BullMQ on a
// Redis this benchmark starts with AOF fsync every second → a worker that signs with
// standardwebhooks and posts with undici), same events, batches, concurrency and receiver.
// --peer pgboss: the same with pg-boss on PostgreSQL (bench/peer-pgboss.mjs).
// --send-threads N: callhook with CALLHOOK_SEND_THREADS=N (sending on N worker threads; 0: on its
// main thread) measured in turns with callhook as it runs by default (`auto`: one sending thread
// on a machine of two cores or more). `--send-threads 0` shows what the thread gives one process.
// --against DIR: another build of the server (a copy of dist/), in turns with this one.
// --control: a second server of this same build, in turns with the first: the two read apart by
// the method's own spread in this run, which an --against figure must clear to show a change.
// --node-options='<flags>' (with '='): a further server of this build started with those Node flags (`node
// --max-semi-space-size=32 …`, as NODE_OPTIONS or the command line would), in turns with the
// default: what a flag gives in CPU per event and events/s, and what it costs in RSS.
// --latency-rate N: the latency phase at N events/s for every system instead of each one's half
// max rate, so that p99s are compared at one load (a slower system's half rate is a lighter one).
// --latency-batch N: the latency phase posts batches of N events (default 10) every N/rate s,
// the raw client N requests at once: how a PBX's batch size moves the tail at one rate.
// --server-cpus N: every server process runs in a cgroup given N CPUs (a container's CPU quota,
// `docker run --cpus=N`), made here for the run (Linux, as root); the server's `auto` counts it.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import {
  admin,
  adminUrl,
  clientToken,
  clockMs,
  dropFreshDatabases,
  fileMb,
  freshDatabase,
  hangupEvent,
  machine,
  machineLine,
  median,
  pct,
  procStat,
  round,
  child as spawnChild,
} from './common.mjs';

/** The latency phase's batch size unless --latency-batch says otherwise. */
const DEFAULT_LATENCY_BATCH = 10;
const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    events: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '16' },
    instances: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
    peer: { type: 'string' },
    // Another build of the server (a copy of apps/server/dist from before a change), measured in
    // turns with this one: the speed-up of a change on a shared machine.
    against: { type: 'string' },
    // A second server of this very build, in turns with the first: how far two servers of the
    // same code read apart in this run, the spread any --against figure is to be read against.
    control: { type: 'boolean', default: false },
    'node-options': { type: 'string' },
    // A directory: the server processes write a CPU profile there (node --cpu-prof) as they exit.
    prof: { type: 'string' },
    'send-threads': { type: 'string' },
    'latency-rate': { type: 'string' },
    'latency-batch': { type: 'string', default: String(DEFAULT_LATENCY_BATCH) },
    'server-cpus': { type: 'string' },
  },
});
const N = Number(values.events);
const C = Number(values.concurrency);
const I = Number(values.instances);
const RUNS = Number(values.runs);
const PEER = values.peer;
if (I !== 1 && I !== 2) throw new Error('--instances is 1 or 2');
if (I === 2 && values.store !== 'postgres') throw new Error('--instances 2 needs --store postgres');
if (!['sqlite', 'postgres', 'none'].includes(values.store))
  throw new Error('--store is sqlite, postgres or none');
if (PEER !== undefined && !['bullmq', 'pgboss'].includes(PEER)) throw new Error('--peer is bullmq or pgboss');
/** --node-options: Node's flags for a further server of this build. */
const NODE_FLAGS = values['node-options']?.split(/\s+/).filter(Boolean);
if (NODE_FLAGS !== undefined && (NODE_FLAGS.length === 0 || NODE_FLAGS.some((f) => !f.startsWith('-'))))
  throw new Error("--node-options: one or more of node's flags, such as '--max-semi-space-size=32'");

// --latency-rate N: the latency phase runs at N events/s for every system (and the raw client),
// instead of at each system's own half max rate: p99s compared at one load, not at each one's.
const LATENCY_RATE = values['latency-rate'] === undefined ? undefined : Number(values['latency-rate']);
if (LATENCY_RATE !== undefined && !(LATENCY_RATE > 0))
  throw new Error('--latency-rate: events per second, above 0');
// --latency-batch N: the latency phase's batch size (the max-rate phase's stays MAX_BATCH).
const LATENCY_BATCH = Number(values['latency-batch']);
const MAX_BATCH = 100;
if (!Number.isInteger(LATENCY_BATCH) || LATENCY_BATCH < 1 || LATENCY_BATCH > 500)
  throw new Error('--latency-batch: events per request, a whole number from 1 to 500');
/** How the latency phase's rate is named in what is printed. */
const AT = LATENCY_RATE === undefined ? 'at half rate' : `at ${LATENCY_RATE}/s`;
/** The same, with the rate a phase ran at when each system had its own (`whose`: whose half). */
const atRateOf = (perS, whose = '') =>
  LATENCY_RATE === undefined ? `at ${whose}half rate (${round(perS, 0)}/s)` : AT;

const SERVER_CPUS = values['server-cpus'] === undefined ? undefined : Number(values['server-cpus']);
if (SERVER_CPUS !== undefined && !(SERVER_CPUS > 0))
  throw new Error('--server-cpus is a number of CPUs above 0');
/** --server-cpus: the servers' cgroup, and the file a process joins it by. */
const cgroup = SERVER_CPUS === undefined ? undefined : cpuCgroup(SERVER_CPUS);
// Removed once the servers in it are gone (an error's exit may leave it behind, empty).
if (cgroup) {
  process.on('exit', () => {
    try {
      rmdirSync(cgroup.dir);
    } catch {}
  });
}
function cpuCgroup(cpus) {
  const name = `callhook-bench-${process.pid}`;
  const period = 100_000;
  const quota = String(Math.round(cpus * period));
  try {
    if (existsSync('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')) {
      const dir = `/sys/fs/cgroup/cpu/${name}`;
      mkdirSync(dir);
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(period));
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), quota);
      return { dir, procs: join(dir, 'cgroup.procs') };
    }
    const dir = `/sys/fs/cgroup/${name}`;
    mkdirSync(dir);
    writeFileSync(join(dir, 'cpu.max'), `${quota} ${period}`);
    return { dir, procs: join(dir, 'cgroup.procs') };
  } catch (err) {
    throw new Error(`--server-cpus needs a cgroup this process may make (Linux, as root): ${err.message}`);
  }
}

/**
 * A child process of the benchmark; the servers write a CPU profile with --prof. `flags`: more of
 * Node's flags for it (--node-options).
 */
function child(file, args = [], env = process.env, flags = []) {
  const execArgv =
    values.prof && file === './server-child.mjs'
      ? [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${values.prof}`]
      : process.execArgv;
  return spawnChild(file, args, { env, execArgv: [...execArgv, ...flags] });
}

const rx = child('./receiver-child.mjs');
const { port } = await rx.ask(null, 'port');
const target = `http://127.0.0.1:${port}`;

const cpuMicros = (u) => u.user + u.system;

const eventBody = hangupEvent;

// ---- Baseline: the receiver driven directly, C requests in flight, no storage.
/** The event as a subscriber's POST carries it, form-encoded; `Tag=0` stands for the send time. */
const rawBody = new URLSearchParams(
  Object.entries(eventBody(0, 1).data).map(([k, v]) => [k, String(v)]),
).toString();
/** One request of the raw client, stamped with its send time as it is made. */
async function rawRequest(pool) {
  const res = await pool.request({
    path: '/hook',
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: rawBody.replace('Tag=0', `Tag=${clockMs()}`),
  });
  await res.body.dump();
}

async function baseline() {
  await rx.ask('reset', 'reset');
  const pool = new Pool(target, { connections: C });
  let next = 0;
  const cpu0 = process.cpuUsage();
  const rx0 = procCpu(rx.proc.pid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (next < N) {
        next++;
        await rawRequest(pool);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuMicros(process.cpuUsage(cpu0));
  const rxCpu = procCpu(rx.proc.pid) - rx0;
  await pool.close();
  const stats = await rx.ask('stats', 'latencies');
  return {
    // % of one core: the client (this process) and the receiver.
    cores: { client: cpu / seconds / 1e4, receiver: rxCpu / seconds / 1e4 },
    per_s: N / seconds,
    p50_ms: pct(stats.latencies, 50),
    p99_ms: pct(stats.latencies, 99),
    cpu_us: cpu / N,
  };
}

/**
 * The baseline's client at a fixed rate, as atRate drives callhook (B requests every B/rate s,
 * each stamped as it is made, C connections): the latency this machine's client, receiver and
 * scheduling give with no delivery engine in between, a floor for callhook's p99 at that rate.
 */
async function baselineAtRate(rate, seconds = 5) {
  await rx.ask('reset', 'reset');
  const pool = new Pool(target, { connections: C });
  const inFlight = [];
  await paced(rate, seconds, (batch) => {
    for (let k = 0; k < batch; k++) inFlight.push(rawRequest(pool));
  });
  await Promise.all(inFlight);
  await pool.close();
  const stats = await rx.ask('stats', 'latencies');
  return { per_s: rate, p50_ms: pct(stats.latencies, 50), p99_ms: pct(stats.latencies, 99) };
}

/**
 * Calls `send(B)` every B/rate s for `seconds` (B: --latency-batch, 10 by default), each call on
 * time however long the one before took (awaited: a late batch is sent at once); resolves to how
 * many were sent.
 */
async function paced(rate, seconds, send) {
  const total = Math.round(rate * seconds);
  const batch = LATENCY_BATCH;
  const started = performance.now();
  let sent = 0;
  for (; sent < total; sent += batch) {
    const due = started + (sent / rate) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await send(batch);
  }
  return sent;
}

// ---- The systems under test: callhook (one or two server processes), and the peer.
const dir = mkdtempSync(join(tmpdir(), 'callhook-bench-'));
async function startCallhook(name = 'callhook', dist = undefined, extra = {}, processes = I, flags = []) {
  const env = {
    ...process.env,
    ...(dist ? { CALLHOOK_BENCH_DIST: dist } : {}),
    ...(cgroup ? { CALLHOOK_BENCH_CGROUP: cgroup.procs } : {}),
  };
  const dataDir = mkdtempSync(join(dir, 'server-'));
  const databaseUrl = values.store === 'postgres' ? await freshDatabase('callhook') : '';
  const config = {
    simulator: false,
    extensionSubscriptionLimit: 100,
    deliveryPerHostConcurrency: C,
    deliveryConcurrency: C,
    demoClientId: 'bench',
    demoClientSecret: 'bench-secret',
    ...extra,
  };
  const procs = [];
  for (let k = 0; k < processes; k++) {
    const p = child(
      './server-child.mjs',
      [
        JSON.stringify({
          dataDir,
          databaseUrl,
          config: k === 0 ? config : { ...config, pbxKey: procs[0].info.pbxKey },
        }),
      ],
      env,
      flags,
    );
    p.info = await p.ask(null, 'url');
    procs.push(p);
  }
  const { url, apiUrl, pbxKey } = procs[0].info;
  const access_token = await clientToken(url, 'bench', 'bench-secret');
  const sub = await fetch(`${apiUrl}/extension/175/event/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: `${target}/hook`, method: 'POST', event_type: 'hangup' }),
  });
  if (!sub.ok) throw new Error(`subscribe: ${sub.status} ${await sub.text()}`);
  if (values.store === 'none') for (const p of procs) await p.ask('pass-through', 'passThrough');
  return {
    name,
    procs,
    /** The sending threads the server started (CALLHOOK_SEND_THREADS, `auto` resolved by it). */
    sendThreads: procs[0].info.sendThreads,
    // SQLite's WAL: how long the file grew (a WAL that never starts over grows by every commit).
    wal: values.store === 'sqlite' ? join(dataDir, 'callhook.db-wal') : undefined,
    intakes: procs.map((p) => new Pool(p.info.url, { connections: 4 })),
    path: '/api/ver1.0/pbx/event/batch/',
    headers: { 'content-type': 'application/json', 'x-pbx-key': pbxKey },
  };
}

let redis;
async function startPeer() {
  let peerUrl;
  if (PEER === 'bullmq') {
    // A Redis of our own on a spare port, persisting as a production queue would: AOF, fsync
    // every second (a crash can lose the last second of accepted jobs).
    const { spawn } = await import('node:child_process');
    const redisPort = 6390 + (process.pid % 50);
    redis = spawn(
      'redis-server',
      [
        '--port',
        String(redisPort),
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
      ],
      { stdio: 'ignore' },
    );
    await new Promise((r) => setTimeout(r, 500));
    peerUrl = `redis://127.0.0.1:${redisPort}`;
  } else {
    peerUrl = await freshDatabase('pgboss');
  }
  const p = child(`./peer-${PEER}.mjs`, [
    JSON.stringify({ url: peerUrl, target: `${target}/hook`, concurrency: C }),
  ]);
  p.info = await p.ask(null, 'url');
  return {
    name: PEER,
    procs: [p],
    // BullMQ's store is a separate process: its CPU is the peer's too (callhook's SQLite runs
    // inside the server). PostgreSQL's CPU is counted for neither side.
    extraPids: redis ? [redis.pid] : [],
    intakes: [new Pool(p.info.url, { connections: 4 })],
    path: '/api/ver1.0/pbx/event/batch/',
    headers: { 'content-type': 'application/json' },
  };
}

let seq = 0;
let turn = 0;
async function ingest(sys, count) {
  const events = [];
  for (let k = 0; k < count; k++) events.push(eventBody(clockMs(), seq++));
  const intake = sys.intakes[turn++ % sys.intakes.length];
  const res = await intake.request({
    path: sys.path,
    method: 'POST',
    headers: sys.headers,
    body: JSON.stringify({ events }),
  });
  if (res.statusCode !== 202)
    throw new Error(`${sys.name} intake ${res.statusCode}: ${await res.body.text()}`);
  await res.body.dump();
}

async function waitDelivered(count, ms = 300_000) {
  const end = Date.now() + ms;
  for (;;) {
    const s = await rx.ask('stats', 'latencies');
    if (s.count >= count || Date.now() > end) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A process's user + system CPU in µs, from /proc (Linux; clock ticks of 10 ms). */
function procCpu(pid) {
  return procStat(`/proc/${pid}/stat`).cpuUs;
}

/** With --store postgres, a PostgreSQL on this machine: its processes' CPU and its log are read. */
const pgLocal =
  values.store === 'postgres' && ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(adminUrl).hostname);
/** Whether a system's PostgreSQL figures are read: callhook's and pg-boss's, never BullMQ's (Redis). */
const readsPostgres = (sys) => pgLocal && sys.name !== 'bullmq';

/**
 * PostgreSQL's CPU in µs, per process: every process of this machine named `postgres` (its
 * backends and background processes), when the database is on this machine; undefined otherwise.
 * Over a phase in which only one system's backends work, `postgresCpuSince` is that system's
 * PostgreSQL cost.
 */
function postgresCpu() {
  if (!pgLocal) return undefined;
  const byPid = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') byPid.set(pid, procCpu(pid));
    } catch {
      // gone meanwhile
    }
  }
  return byPid;
}

/**
 * The CPU PostgreSQL's processes used since `before` (a `postgresCpu()`), process by process: a
 * process that started meanwhile counts whole, one that ended meanwhile (another system's
 * connection closing) counts nothing. Subtracting two totals instead went below zero when a
 * backend with a long past ended during the phase.
 */
function postgresCpuSince(before) {
  let total = 0;
  for (const [pid, cpu] of postgresCpu()) total += cpu - (before.get(pid) ?? 0);
  return total;
}

/**
 * Where PostgreSQL's write-ahead log stands (its LSN), for a system whose PostgreSQL figures are
 * read (`readsPostgres`); undefined otherwise. Over a max-rate phase, the log written per event:
 * PostgreSQL's main write cost (each event's row, its deliveries' rows and their index entries,
 * written again when the result is recorded, and the attempt), and the figure a checkpoint would
 * raise (after one, the first change to each page writes the whole page into the log). Read on a
 * connection of its own, before the phase's PostgreSQL CPU is first read and after it is last: a
 * connection's backend is a postgres process too.
 */
async function walLsn(sys) {
  if (!readsPostgres(sys)) return undefined;
  try {
    return (await admin('select pg_current_wal_lsn()::text as lsn'))[0].lsn;
  } catch {
    // The figure is left out (NaN), not the run.
    return undefined;
  }
}
async function walBytesSince(before) {
  if (before === undefined) return Number.NaN;
  try {
    const [row] = await admin(
      'select pg_wal_lsn_diff(pg_current_wal_lsn(), cast($1 as pg_lsn))::float8 as bytes',
      [before],
    );
    return row.bytes;
  } catch {
    return Number.NaN;
  }
}

async function serverCpu(sys) {
  let total = 0;
  let main = 0;
  // Its sending threads (by their name, server-child.mjs; NaN for a build that does not name them).
  let send = 0;
  let rss = 0;
  for (const pid of sys.extraPids ?? []) total += procCpu(pid);
  for (const p of sys.procs) {
    const m = await p.ask('cpu', 'cpu');
    total += cpuMicros(m.cpu);
    // The server's main thread alone (the rest: sending threads, libuv's pool, V8's helpers).
    main += m.mainCpu ?? Number.NaN;
    send += m.threadsCpu?.send ?? Number.NaN;
    rss = Math.max(rss, m.rss);
  }
  return { cpu: total, main, send, rss };
}

/**
 * Each of callhook's server processes' /metrics: its lines, and `sample`, a series' value by its
 * name (`absent` if none).
 */
async function serverMetrics(sys) {
  const scrapes = [];
  for (const p of sys.procs) {
    const lines = (await (await fetch(`${p.info.url}/metrics`)).text()).split('\n');
    const sample = (series, absent = 0) => {
      const l = lines.find((x) => x.startsWith(`${series} `));
      return l === undefined ? absent : Number(l.slice(l.lastIndexOf(' ') + 1));
    };
    scrapes.push({ lines, sample });
  }
  return scrapes;
}

/**
 * callhook's dispatchers' counts (its /metrics): deliveries taken by the intake with its commit
 * and by claims, and claims that found none. Undefined for a peer.
 */
async function handedOver(sys) {
  if (!sys.name.startsWith('callhook')) return undefined;
  const sum = { intake: 0, claim: 0, claims: 0, empty: 0 };
  for (const { sample } of await serverMetrics(sys)) {
    sum.intake += sample('callhook_delivery_taken_total{by="intake"}');
    sum.claim += sample('callhook_delivery_taken_total{by="claim"}');
    const none = sample('callhook_delivery_claims_total{found="none"}');
    sum.claims += none + sample('callhook_delivery_claims_total{found="some"}');
    sum.empty += none;
  }
  return sum;
}

const HOLD = 'callhook_sqlite_wal_hold_seconds';
/** One of its bucket lines: the bound (`le`) and the count. */
const HOLD_BUCKET = new RegExp(`^${HOLD}_bucket\\{le="([^"]+)"\\} (\\S+)$`);

/**
 * SQLite's holds for the WAL's last copy so far (callhook_sqlite_wal_hold_seconds): how many, their
 * total (s), and per bucket bound the server declares (s, ascending, +Inf last) how many came within
 * it. Undefined for a peer, for PostgreSQL, and for a build that does not count them (an older
 * --against).
 */
async function walHolds(sys) {
  if (!sys.name.startsWith('callhook') || values.store !== 'sqlite') return undefined;
  const sum = { count: 0, seconds: 0, within: new Map() };
  let counted = false;
  for (const { sample, lines } of await serverMetrics(sys)) {
    const count = sample(`${HOLD}_count`, Number.NaN);
    if (Number.isNaN(count)) continue;
    counted = true;
    sum.count += count;
    sum.seconds += sample(`${HOLD}_sum`);
    for (const l of lines) {
      const bound = HOLD_BUCKET.exec(l);
      if (!bound) continue;
      const le = bound[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(bound[1]);
      sum.within.set(le, (sum.within.get(le) ?? 0) + Number(bound[2]));
    }
  }
  if (!counted) return undefined;
  sum.within = new Map([...sum.within].sort(([x], [y]) => x - y));
  return sum;
}

/**
 * The holds between two readings of `walHolds`: their count, mean (ms), the bound (ms) every one
 * of them came within, and the time held per second of a phase of `seconds`; NaN where not counted.
 */
function holdsBetween(before, after, seconds) {
  if (before === undefined || after === undefined)
    return {
      holds: Number.NaN,
      hold_mean_ms: Number.NaN,
      hold_max_ms: Number.NaN,
      held_ms_per_s: Number.NaN,
    };
  const count = after.count - before.count;
  let bound = Number.NaN;
  for (const [le, n] of after.within) {
    if (n - (before.within.get(le) ?? 0) === count) {
      bound = le;
      break;
    }
  }
  return {
    holds: count,
    hold_mean_ms: count === 0 ? 0 : ((after.seconds - before.seconds) * 1000) / count,
    hold_max_ms: count === 0 ? 0 : bound * 1000,
    held_ms_per_s: ((after.seconds - before.seconds) * 1000) / seconds,
  };
}

/** As fast as it goes: N events in batches of MAX_BATCH, 2 batches in flight. */
async function maxRate(sys) {
  await rx.ask('reset', 'reset');
  const walBefore = await walLsn(sys);
  const handedBefore = await handedOver(sys);
  const before = await serverCpu(sys);
  const pgBefore = readsPostgres(sys) ? postgresCpu() : undefined;
  const rxBefore = procCpu(rx.proc.pid);
  const loadBefore = process.cpuUsage();
  const started = clockMs();
  let sent = 0;
  await Promise.all(
    Array.from({ length: 2 }, async () => {
      while (sent < N) {
        const k = Math.min(MAX_BATCH, N - sent);
        sent += k;
        await ingest(sys, k);
      }
    }),
  );
  const s = await waitDelivered(N);
  const after = await serverCpu(sys);
  const handedAfter = await handedOver(sys);
  const handed =
    handedBefore &&
    Object.fromEntries(Object.keys(handedBefore).map((k) => [k, handedAfter[k] - handedBefore[k]]));
  const pgUsed = pgBefore === undefined ? Number.NaN : postgresCpuSince(pgBefore);
  // Where the machine's cores went through the phase, in % of one core: which part is the bound.
  const load = process.cpuUsage(loadBefore);
  const pctOfCore = (us) => (100 * us) / ((clockMs() - started) * 1000);
  const cores = {
    server: pctOfCore(after.cpu - before.cpu),
    main: pctOfCore(after.main - before.main),
    server_other: pctOfCore(after.cpu - before.cpu - (after.main - before.main)),
    // Of those: its sending threads, and the rest (V8's helper threads, SQLite's checkpoint
    // thread, libuv's pool), where the build names its threads (NaN where it does not).
    send: pctOfCore(after.send - before.send),
    server_rest: pctOfCore(after.cpu - before.cpu - (after.main - before.main) - (after.send - before.send)),
    receiver: pctOfCore(procCpu(rx.proc.pid) - rxBefore),
    load: pctOfCore(load.user + load.system),
    postgres: pctOfCore(pgUsed),
  };
  // After the phase's clock and CPU are read: a connection of its own takes a few milliseconds.
  const walBytes = await walBytesSince(walBefore);
  return {
    cores,
    // Of the deliveries taken to attempt through the phase, the share a claim found (the rest the
    // intake leased with its commit), and the claims' count and how many found none.
    claimed_pct: handed ? (100 * handed.claim) / (handed.claim + handed.intake) : Number.NaN,
    claims: handed ? handed.claims : Number.NaN,
    empty_claims: handed ? handed.empty : Number.NaN,
    pg_cpu_us: pgUsed / s.count,
    wal_kb: walBytes / 1024 / s.count,
    per_s: s.count / ((s.last - started) / 1000),
    p50_ms: pct(s.latencies, 50),
    p99_ms: pct(s.latencies, 99),
    delivered: s.count,
    cpu_us: (after.cpu - before.cpu) / s.count,
    main_cpu_us: (after.main - before.main) / s.count,
    rss_mb: after.rss / 2 ** 20,
    wal_mb: walMb(sys),
  };
}

/** The size of a system's SQLite WAL file in MB; NaN for other stores. */
const walMb = (sys) => (sys.wal ? fileMb(sys.wal) : Number.NaN);

/**
 * The machine's busy and total time in clock ticks since boot (/proc/stat's first line; waiting
 * for the disk counts as idle), Linux; undefined elsewhere.
 */
function machineTicks() {
  try {
    const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    const t = f.map(Number);
    const total = t.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - t[3] - t[4], total };
  } catch {
    return undefined;
  }
}

/**
 * How long each thread of a system's processes has waited for a core while it could run, in ns
 * by thread (/proc/<pid>/task/<tid>/schedstat's second field: time on a run queue), Linux.
 */
function coreWaits(sys) {
  const byThread = new Map();
  const pids = [...sys.procs.map((p) => p.proc.pid), ...(sys.extraPids ?? [])];
  for (const pid of pids) {
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
          const [, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
          byThread.set(tid, Number(wait));
        } catch {
          // ended meanwhile
        }
      }
    } catch {
      return undefined;
    }
  }
  return byThread;
}

/**
 * At a fixed rate (events/s), in batches of B every B/rate s (--latency-batch, 10 by default), for
 * latency. Beside it, what the phase cost: the system's CPU per event, how busy the whole machine
 * was, and how long the system's threads waited for a core while they could run (per second of
 * the phase). A tail at this rate follows the machine's load: batches of 10 cost an event far
 * more than batches of 100, so half the max rate is not half the load.
 */
async function atRate(sys, rate, seconds = 5) {
  await rx.ask('reset', 'reset');
  const before = await serverCpu(sys);
  const machineBefore = machineTicks();
  const waitsBefore = coreWaits(sys);
  const holdsBefore = await walHolds(sys);
  const started = clockMs();
  const sent = await paced(rate, seconds, (batch) => ingest(sys, batch));
  const s = await waitDelivered(sent);
  const phaseS = (clockMs() - started) / 1000;
  const machineAfter = machineTicks();
  const waitsAfter = coreWaits(sys);
  const after = await serverCpu(sys);
  const holds = holdsBetween(holdsBefore, await walHolds(sys), phaseS);
  // The main threads (a process's first thread has its pid), and the rest: sending threads,
  // V8's helpers, libuv's pool, a peer's Redis. A thread that started meanwhile counts whole; one
  // that ended, nothing.
  const mains = new Set(sys.procs.map((p) => String(p.proc.pid)));
  const waited = { main: Number.NaN, other: Number.NaN };
  if (waitsBefore && waitsAfter) {
    waited.main = 0;
    waited.other = 0;
    for (const [tid, ns] of waitsAfter)
      waited[mains.has(tid) ? 'main' : 'other'] += ns - (waitsBefore.get(tid) ?? 0);
  }
  return {
    cpu_us: (after.cpu - before.cpu) / s.count,
    machine_busy_pct:
      machineBefore && machineAfter
        ? (100 * (machineAfter.busy - machineBefore.busy)) / (machineAfter.total - machineBefore.total)
        : Number.NaN,
    main_wait_ms_per_s: waited.main / 1e6 / phaseS,
    other_wait_ms_per_s: waited.other / 1e6 / phaseS,
    ...holds,
    per_s: rate,
    p50_ms: pct(s.latencies, 50),
    p99_ms: pct(s.latencies, 99),
    delivered: s.count,
    wal_mb: walMb(sys),
  };
}

async function stop(sys) {
  for (const intake of sys.intakes) await intake.close();
  for (const p of sys.procs) {
    p.proc.send('exit');
    await new Promise((r) => p.proc.once('exit', r));
  }
}

const systems = [await startCallhook()];
if (PEER) systems.push(await startPeer());
if (values.against) systems.push(await startCallhook('callhook@against', values.against));
if (values.control) systems.push(await startCallhook('callhook@control'));
if (NODE_FLAGS) systems.push(await startCallhook('callhook@flags', undefined, {}, I, NODE_FLAGS));
const THREADS = values['send-threads'] === undefined ? undefined : Number(values['send-threads']);
if (THREADS !== undefined) {
  systems.push(await startCallhook('callhook@threads', undefined, { sendThreads: THREADS }));
}
// With two processes, one process in turns with them (target 7: from 1 to 2 in the same run).
if (I === 2) systems.push(await startCallhook('callhook@one', undefined, {}, 1));
await baseline(); // warm up the receiver and the baseline client
const warmed = [];
for (const sys of systems) warmed.push(await maxRate(sys)); // warm up each system (JIT, caches, pools)
// Then as each round ends, so that the first round's baseline follows what every later one does.
// Right after the systems' phases, the raw client's first run read 0.55-0.65x its next ones with
// the machine idle (the load generator and the receiver had run other code meanwhile, and their
// JIT warmed up again): the first round's ratios came out far above the others.
await baselineAtRate(LATENCY_RATE ?? Math.round(warmed[0].per_s / 2));

const rounds = [];
for (let r = 0; r < RUNS; r++) {
  const row = { base: await baseline() };
  // In turns: the order alternates between rounds so neither side always goes first.
  const order = r % 2 === 0 ? systems : [...systems].reverse();
  for (const sys of order) {
    const max = await maxRate(sys);
    const half = await atRate(sys, LATENCY_RATE ?? Math.round(max.per_s / 2));
    row[sys.name] = { max, half };
  }
  row.baseHalf = await baselineAtRate(LATENCY_RATE ?? Math.round(row.callhook.max.per_s / 2));
  rounds.push(row);
  console.error(`round ${r + 1}/${RUNS} done`);
}
for (const sys of systems) await stop(sys);
rx.proc.send('exit');
if (redis) redis.kill();
rmSync(dir, { recursive: true, force: true });
await dropFreshDatabases();

const med = (f) => median(rounds.map(f));
/**
 * Two systems' max-rate phases compared round by round (each round's pair was measured in turns),
 * the median of the rounds' ratios a / b: events/s by default, or CPU per event (`cpu_us`).
 */
const maxVs = (a, b, key = 'per_s') => med((r) => r[a].max[key] / r[b].max[key]);
const base = {
  per_s: med((r) => r.base.per_s),
  p99_ms: med((r) => r.base.p99_ms),
  cpu_us: med((r) => r.base.cpu_us),
  client_pct: med((r) => r.base.cores.client),
  receiver_pct: med((r) => r.base.cores.receiver),
  half_per_s: med((r) => r.baseHalf.per_s),
  half_p50_ms: med((r) => r.baseHalf.p50_ms),
  half_p99_ms: med((r) => r.baseHalf.p99_ms),
};
const summary = (name) => {
  const perS = rounds.map((r) => r[name].max.per_s);
  const ratios = rounds.map((r) => r[name].max.per_s / r.base.per_s);
  return {
    per_s: median(perS),
    max_p99_ms: med((r) => r[name].max.p99_ms),
    cpu_us: med((r) => r[name].max.cpu_us),
    main_cpu_us: med((r) => r[name].max.main_cpu_us),
    pg_cpu_us: med((r) => r[name].max.pg_cpu_us),
    // Each round's max rate, its ratio to that round's baseline and PostgreSQL's log per event.
    per_s_rounds: perS,
    ratio_rounds: ratios,
    wal_kb_rounds: rounds.map((r) => r[name].max.wal_kb),
    rss_mb: med((r) => r[name].max.rss_mb),
    cores: Object.fromEntries(
      Object.keys(rounds[0][name].max.cores).map((k) => [k, med((r) => r[name].max.cores[k])]),
    ),
    claimed_pct: med((r) => r[name].max.claimed_pct),
    claims: med((r) => r[name].max.claims),
    empty_claims: med((r) => r[name].max.empty_claims),
    // The file only grows (until it starts over past journal_size_limit): its largest.
    wal_mb: Math.max(...rounds.map((r) => Math.max(r[name].max.wal_mb, r[name].half.wal_mb))),
    half_per_s: med((r) => r[name].half.per_s),
    // Its server processes (two with --instances 2): their main threads' waits are summed.
    processes: systems.find((x) => x.name === name).procs.length,
    half_cpu_us: med((r) => r[name].half.cpu_us),
    half_machine_busy_pct: med((r) => r[name].half.machine_busy_pct),
    half_main_wait_ms_per_s: med((r) => r[name].half.main_wait_ms_per_s),
    half_other_wait_ms_per_s: med((r) => r[name].half.other_wait_ms_per_s),
    // SQLite's holds for the WAL's last copy through the phase: medians, and the longest bound of all.
    half_holds: med((r) => r[name].half.holds),
    half_hold_mean_ms: med((r) => r[name].half.hold_mean_ms),
    half_hold_max_ms: Math.max(...rounds.map((r) => r[name].half.hold_max_ms)),
    half_held_ms_per_s: med((r) => r[name].half.held_ms_per_s),
    half_p50_ms: med((r) => r[name].half.p50_ms),
    half_p99_ms: med((r) => r[name].half.p99_ms),
    // Each round's, in order: a tail moves with the machine from round to round, and the median
    // alone hides how far.
    half_p99_rounds: rounds.map((r) => r[name].half.p99_ms),
    ratio: median(ratios),
  };
};
const ch = summary('callhook');
const peer = PEER ? summary(PEER) : undefined;

/** `1 sending thread`, `0 sending threads`. */
const sendingThreads = (n) => `${n} sending thread${n === 1 ? '' : 's'}`;
/** The sending threads callhook starts by default here (`auto`, as the server resolved it). */
const AUTO_THREADS = systems[0].sendThreads;
const storeName = values.store === 'none' ? 'no storage: a bound, not the product' : values.store;
console.log(
  `delivery benchmark (${storeName}, ${I} server process${I === 2 ? 'es on one database' : ''}, ${N} events, ${C} in flight, ${sendingThreads(AUTO_THREADS)} by default${SERVER_CPUS === undefined ? '' : `, each server in a cgroup of ${SERVER_CPUS} CPU${SERVER_CPUS === 1 ? '' : 's'}`}${LATENCY_BATCH === DEFAULT_LATENCY_BATCH ? '' : `, latency phase in batches of ${LATENCY_BATCH}`}, receiver in its own process; median of ${RUNS} rounds)`,
);
console.log(machineLine());
/** What a system's latency phase cost: CPU per event, the machine's load, its threads' waits for a core. */
function latencyCostLine(s) {
  console.log(
    `    ${AT}: ${round(s.half_cpu_us, 1)} µs CPU/event (${round(s.half_cpu_us / s.cpu_us, 2)}x its max rate's, batches of ${LATENCY_BATCH} against ${MAX_BATCH}); the machine ${round(s.half_machine_busy_pct, 0)} % busy; waiting for a core, ms per second: ${s.processes > 1 ? "the servers' main threads together" : "the server's main thread"} ${round(s.half_main_wait_ms_per_s, 0)}, ${s.processes > 1 ? 'their' : 'its'} other threads together ${round(s.half_other_wait_ms_per_s, 0)}${Number.isNaN(s.half_holds) ? '' : `; WAL holds ${round(s.half_holds, 0)}, ${round(s.half_hold_mean_ms, 2)} ms on average, each within ${round(s.half_hold_max_ms, 1)} ms, ${round(s.half_held_ms_per_s, 1)} ms held per second`}`,
  );
}
/** Where the cores went through the max-rate phase: a part near 100 % of one core is the bound. */
function coresLine(s) {
  // A peer does not say which of its threads did what (BullMQ's counts its Redis too).
  const server = Number.isNaN(s.cores.main)
    ? [['server (all its threads and processes)', s.cores.server]]
    : Number.isNaN(s.cores.send)
      ? [
          ['server main thread', s.cores.main],
          ["server's other threads", s.cores.server_other],
        ]
      : [
          ['server main thread', s.cores.main],
          ['its sending threads', s.cores.send],
          ["its other threads (V8's helpers, SQLite's checkpoints, libuv's pool)", s.cores.server_rest],
        ];
  const parts = [
    ...server,
    ['receiver', s.cores.receiver],
    ['load generator', s.cores.load],
    ['PostgreSQL', s.cores.postgres],
  ].filter(([, v]) => !Number.isNaN(v));
  const all = parts.reduce((sum, [, v]) => sum + v, 0);
  console.log(
    `    max rate, % of one core: ${parts.map(([k, v]) => `${k} ${round(v, 0)}`).join(', ')}; ${round(all, 0)} of the machine's ${availableParallelism() * 100}`,
  );
  latencyCostLine(s);
  if (!Number.isNaN(s.claimed_pct))
    console.log(
      `    deliveries taken to attempt: ${round(100 - s.claimed_pct, 1)} % leased by the intake, ${round(s.claimed_pct, 1)} % found by claims (${round(s.claims, 0)} claims, ${round(s.empty_claims, 0)} of them found none)`,
    );
}
const line = (label, s) =>
  console.log(
    `  ${label.padEnd(34)} ${String(round(s.per_s, 0)).padStart(6)} events/s  ${String(round(s.cpu_us, 1)).padStart(6)} µs CPU/event${Number.isNaN(s.pg_cpu_us) ? '' : ` + PostgreSQL ${round(s.pg_cpu_us, 1)} µs`}  max-rate p99 ${round(s.max_p99_ms, 1)} ms  ${atRateOf(s.half_per_s)}: p50 ${round(s.half_p50_ms, 2)} ms  p99 ${round(s.half_p99_ms, 2)} ms  RSS ${round(s.rss_mb, 0)} MB${Number.isNaN(s.wal_mb) ? '' : `  WAL ${round(s.wal_mb, 0)} MB`}`,
  );
console.log(
  `  ${'raw baseline (undici → receiver)'.padEnd(34)} ${String(round(base.per_s, 0)).padStart(6)} req/s     ${String(round(base.cpu_us, 1)).padStart(6)} µs client CPU/request  p99 ${round(base.p99_ms, 2)} ms`,
);
console.log(
  `    % of one core: client ${round(base.client_pct, 0)}, receiver ${round(base.receiver_pct, 0)}; ${atRateOf(base.half_per_s, "callhook's ")}: p50 ${round(base.half_p50_ms, 2)} ms  p99 ${round(base.half_p99_ms, 2)} ms, the floor this machine gives`,
);
line('callhook (intake → 2xx)', ch);
coresLine(ch);
if (peer) {
  line(`${PEER} peer (intake → 2xx)`, peer);
  coresLine(peer);
}
const against = values.against ? summary('callhook@against') : undefined;
if (against) {
  line('callhook, --against build', against);
  coresLine(against);
}
const control = values.control ? summary('callhook@control') : undefined;
/** `--against` or `--control` in the JSON line: the other server's figures and this build's ratios. */
const versusJson = (key, s) =>
  s
    ? {
        [key]: json(s),
        [`vs_${key}_per_s`]: round(maxVs('callhook', `callhook@${key}`), 2),
        [`vs_${key}_cpu`]: round(maxVs(`callhook@${key}`, 'callhook', 'cpu_us'), 2),
      }
    : {};
if (control) {
  line('callhook, --control (same build)', control);
  coresLine(control);
}
const flagged = NODE_FLAGS ? summary('callhook@flags') : undefined;
/** --node-options as printed: `node --max-semi-space-size=32`. */
const FLAGS = NODE_FLAGS ? `node ${NODE_FLAGS.join(' ')}` : '';
if (flagged) {
  line(`callhook, ${FLAGS}`, flagged);
  coresLine(flagged);
}
const one = I === 2 ? summary('callhook@one') : undefined;
if (one) {
  line('callhook, one server process', one);
  coresLine(one);
}
const threaded = THREADS !== undefined ? summary('callhook@threads') : undefined;
if (threaded) {
  line(`callhook, ${sendingThreads(THREADS)}`, threaded);
  latencyCostLine(threaded);
}
const target3 = { sqlite: 0.35, postgres: 0.25, none: 0.5 }[values.store];
// Issue 16 sets a p99 for the two stores; without storage, a bound, it sets none.
const p99Target = { sqlite: 10, postgres: 15 }[values.store];
const p99Note =
  p99Target === undefined
    ? 'no target without storage'
    : `target ≤ ${p99Target} ms${LATENCY_RATE === undefined ? '' : ', at half rate'}`;
console.log(
  `  callhook ratio to baseline: ${round(ch.ratio, 3)}x (target ≥ ${target3}x); p99 ${AT} ${round(ch.half_p99_ms, 1)} ms (${p99Note}); server CPU ${round(ch.cpu_us, 1)} µs/event = ${round(ch.cpu_us / base.cpu_us, 1)}x the baseline client's per request`,
);
const eachRound = (xs, digits = 2) => xs.map((v) => round(v, digits)).join(', ');
console.log(
  `  p99 ${AT}, each round: callhook ${eachRound(ch.half_p99_rounds)} ms${peer ? `; ${PEER} ${eachRound(peer.half_p99_rounds)} ms` : ''}${against ? `; the --against build ${eachRound(against.half_p99_rounds)} ms` : ''}${control ? `; the --control build ${eachRound(control.half_p99_rounds)} ms` : ''}${flagged ? `; with ${FLAGS} ${eachRound(flagged.half_p99_rounds)} ms` : ''}; the raw client's at callhook's rate (the floor) ${eachRound(rounds.map((r) => r.baseHalf.p99_ms))} ms`,
);
/** One system's max rate round by round: `13138 (0.26x, WAL 4.1 KB/event)`. */
const maxRounds = (s) =>
  s.per_s_rounds
    .map(
      (v, i) =>
        `${round(v, 0)} (${round(s.ratio_rounds[i], 3)}x${Number.isNaN(s.wal_kb_rounds[i]) ? '' : `, WAL ${round(s.wal_kb_rounds[i], 2)} KB/event`})`,
    )
    .join(', ');
console.log(
  `  max rate, each round: callhook ${maxRounds(ch)} events/s${peer ? `; ${PEER} ${maxRounds(peer)}` : ''}${against ? `; the --against build ${maxRounds(against)}` : ''}${control ? `; the --control build ${maxRounds(control)}` : ''}${flagged ? `; with ${FLAGS} ${maxRounds(flagged)}` : ''}${threaded ? `; with ${sendingThreads(THREADS)} ${maxRounds(threaded)}` : ''}${one ? `; one process ${maxRounds(one)}` : ''}; the raw baseline ${eachRound(
    rounds.map((r) => r.base.per_s),
    0,
  )} req/s`,
);
if (peer) {
  const vs = maxVs('callhook', PEER);
  console.log(
    `  callhook / ${PEER}: ${round(vs, 2)}x events/s (target ≥ 1.5x), ${round(peer.cpu_us / ch.cpu_us, 2)}x less CPU per event${Number.isNaN(ch.pg_cpu_us) ? '' : ` (${round((peer.cpu_us + peer.pg_cpu_us) / (ch.cpu_us + ch.pg_cpu_us), 2)}x with PostgreSQL's)`}, p99 ${AT} ${round(ch.half_p99_ms, 2)} vs ${round(peer.half_p99_ms, 2)} ms`,
  );
  if (THREADS !== undefined) {
    const tvs = maxVs('callhook@threads', PEER);
    console.log(
      `  callhook with ${sendingThreads(THREADS)} / ${PEER}: ${round(tvs, 2)}x events/s, ${round(peer.cpu_us / summary('callhook@threads').cpu_us, 2)}x less CPU per event, p99 ${AT} ${round(summary('callhook@threads').half_p99_ms, 2)} vs ${round(peer.half_p99_ms, 2)} ms`,
    );
  }
}
/**
 * This build against another server measured in the same turns (`--against`, `--control`): the
 * median of each round's ratio, then each round's pair, since the machine's load can move a lot
 * between rounds (the ratio is the median of these pairs, not of the two medians).
 */
function versus(name, flag, what) {
  console.log(
    `  this build / ${flag} build: ${round(maxVs('callhook', name), 2)}x events/s, ${round(
      maxVs(name, 'callhook', 'cpu_us'),
      2,
    )}x less CPU per event (${what})`,
  );
  console.log(
    `  each round, this build / ${flag}: ${rounds
      .map(
        (r) =>
          `${round(r.callhook.max.per_s, 0)}/${round(r[name].max.per_s, 0)} events/s, ` +
          `${round(r.callhook.max.cpu_us, 1)}/${round(r[name].max.cpu_us, 1)} µs`,
      )
      .join('; ')}`,
  );
}
if (against) versus('callhook@against', '--against', values.against);
if (control) versus('callhook@control', '--control', "the same build: the method's own spread in this run");
if (flagged) {
  // What the flags give (events/s, CPU per event) and cost (RSS at the end of each max-rate phase).
  console.log(
    `  with ${FLAGS} / without: ${round(maxVs('callhook@flags', 'callhook'), 2)}x events/s, ${round(
      maxVs('callhook', 'callhook@flags', 'cpu_us'),
      2,
    )}x less CPU per event, ${round(maxVs('callhook@flags', 'callhook', 'rss_mb'), 2)}x the RSS (${round(flagged.rss_mb, 0)} against ${round(ch.rss_mb, 0)} MB)`,
  );
  console.log(
    `  each round, with / without: ${rounds
      .map(
        (r) =>
          `${round(r['callhook@flags'].max.per_s, 0)}/${round(r.callhook.max.per_s, 0)} events/s, ` +
          `${round(r['callhook@flags'].max.cpu_us, 1)}/${round(r.callhook.max.cpu_us, 1)} µs, ` +
          `${round(r['callhook@flags'].max.rss_mb, 0)}/${round(r.callhook.max.rss_mb, 0)} MB`,
      )
      .join('; ')}`,
  );
}
if (one) {
  // Each round's pair as well: the ratio is the median of these pairs, not of the two medians.
  console.log(
    `  two processes / one: ${round(maxVs('callhook', 'callhook@one'), 2)}x events/s, ${round(
      maxVs('callhook', 'callhook@one', 'cpu_us'),
      2,
    )}x the CPU per event (PostgreSQL's not counted); each round ${rounds
      .map((r) => `${round(r.callhook.max.per_s, 0)}/${round(r['callhook@one'].max.per_s, 0)}`)
      .join(', ')} events/s`,
  );
}
if (threaded) {
  console.log(
    `  ${sendingThreads(THREADS)} / the default (${AUTO_THREADS}): ${round(
      maxVs('callhook@threads', 'callhook'),
      2,
    )}x events/s, ${round(
      maxVs('callhook@threads', 'callhook', 'cpu_us'),
      2,
    )}x the CPU per event (all threads), p99 ${AT} ${round(threaded.half_p99_ms, 2)} vs ${round(ch.half_p99_ms, 2)} ms`,
  );
  // Where one process stops scaling, however many cores: its main thread (intake, store,
  // dispatcher) busy all the time. A bound computed from this run, not a measurement.
  console.log(
    `  main thread: ${round(ch.main_cpu_us, 1)} µs/event with ${sendingThreads(AUTO_THREADS)} (all threads ${round(ch.cpu_us, 1)}), ${round(threaded.main_cpu_us, 1)} µs/event with ${THREADS} (all threads ${round(threaded.cpu_us, 1)}); one process with enough cores tops out near ${round(1e6 / Math.min(ch.main_cpu_us, threaded.main_cpu_us), -2)} events/s (1 s ÷ the main thread's µs/event)`,
  );
}
const json = (s) => ({
  per_s: round(s.per_s, 0),
  ratio: round(s.ratio, 3),
  cpu_us_per_event: round(s.cpu_us, 1),
  ...(Number.isNaN(s.pg_cpu_us) ? {} : { postgres_cpu_us_per_event: round(s.pg_cpu_us, 1) }),
  p50_ms: round(s.half_p50_ms, 2),
  p99_ms: round(s.half_p99_ms, 2),
  p99_ms_rounds: s.half_p99_rounds.map((v) => round(v, 2)),
  per_s_rounds: s.per_s_rounds.map((v) => round(v, 0)),
  ratio_rounds: s.ratio_rounds.map((v) => round(v, 3)),
  ...(s.wal_kb_rounds.every((v) => Number.isNaN(v))
    ? {}
    : { wal_kb_per_event_rounds: s.wal_kb_rounds.map((v) => round(v, 2)) }),
  half_rate_per_s: round(s.half_per_s, 0),
  half_rate_cpu_us_per_event: round(s.half_cpu_us, 1),
  half_rate_machine_busy_pct: round(s.half_machine_busy_pct, 0),
  half_rate_main_wait_ms_per_s: round(s.half_main_wait_ms_per_s, 1),
  half_rate_other_wait_ms_per_s: round(s.half_other_wait_ms_per_s, 1),
  ...(Number.isNaN(s.half_holds)
    ? {}
    : {
        half_rate_wal_holds: round(s.half_holds, 0),
        half_rate_wal_hold_mean_ms: round(s.half_hold_mean_ms, 2),
        half_rate_wal_hold_max_ms: round(s.half_hold_max_ms, 1),
        half_rate_wal_held_ms_per_s: round(s.half_held_ms_per_s, 1),
      }),
  max_rate_p99_ms: round(s.max_p99_ms, 1),
  rss_mb: round(s.rss_mb, 0),
  ...(Number.isNaN(s.wal_mb) ? {} : { wal_mb: round(s.wal_mb, 0) }),
  ...(Number.isNaN(s.claimed_pct)
    ? {}
    : {
        claimed_pct: round(s.claimed_pct, 1),
        claims: round(s.claims, 0),
        empty_claims: round(s.empty_claims, 0),
      }),
  cores_pct: Object.fromEntries(
    Object.entries(s.cores)
      .filter(([, v]) => !Number.isNaN(v))
      .map(([k, v]) => [k, round(v, 0)]),
  ),
});
console.log(
  JSON.stringify({
    bench: 'delivery',
    machine: machine(),
    store: values.store,
    instances: I,
    events: N,
    concurrency: C,
    default_send_threads: AUTO_THREADS,
    ...(SERVER_CPUS === undefined ? {} : { server_cpus: SERVER_CPUS }),
    ...(LATENCY_RATE === undefined ? {} : { latency_rate: LATENCY_RATE }),
    latency_batch: LATENCY_BATCH,
    runs: RUNS,
    baseline_per_s: round(base.per_s, 0),
    baseline_cpu_us_per_request: round(base.cpu_us, 1),
    baseline_half_rate_p99_ms: round(base.half_p99_ms, 2),
    ...json(ch),
    ...(peer
      ? {
          peer: PEER,
          peer_result: json(peer),
          vs_peer: round(maxVs('callhook', PEER), 2),
        }
      : {}),
    ...(threaded
      ? {
          send_threads: THREADS,
          main_cpu_us_per_event: round(ch.main_cpu_us, 1),
          threaded_main_cpu_us_per_event: round(threaded.main_cpu_us, 1),
          threaded: json(threaded),
          ...(PEER
            ? {
                threaded_vs_peer: round(maxVs('callhook@threads', PEER), 2),
              }
            : {}),
          vs_main_thread_per_s: round(maxVs('callhook@threads', 'callhook'), 2),
        }
      : {}),
    ...(one
      ? {
          one_process: json(one),
          vs_one_process_per_s: round(maxVs('callhook', 'callhook@one'), 2),
          vs_one_process_cpu: round(maxVs('callhook', 'callhook@one', 'cpu_us'), 2),
        }
      : {}),
    ...versusJson('control', control),
    ...(flagged
      ? {
          node_options: { flags: NODE_FLAGS, ...json(flagged) },
          node_options_vs_default_per_s: round(maxVs('callhook@flags', 'callhook'), 2),
          node_options_less_cpu: round(maxVs('callhook', 'callhook@flags', 'cpu_us'), 2),
          node_options_vs_default_rss: round(maxVs('callhook@flags', 'callhook', 'rss_mb'), 2),
        }
      : {}),
    ...versusJson('against', against),
  }),
);
process.exit(0);
