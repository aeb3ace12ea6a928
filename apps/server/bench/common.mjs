// What the benchmarks share: the server build to measure, a token, a server in this process that
// sends nothing, child processes spoken to over IPC, the statistics, the page's hangup event as the
// intake takes it, and the machine a run was made on.
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

/**
 * A module of the server build to measure: CALLHOOK_BENCH_DIST (or `dist`) names a copy of dist/
 * from before a change.
 */
export function serverBuild(file = 'index.js', dist = process.env.CALLHOOK_BENCH_DIST) {
  return import(
    dist ? pathToFileURL(join(dist, file)).href : new URL(`../dist/${file}`, import.meta.url).href
  );
}

/** An OAuth2 client-credentials token from the server at `url`. */
export async function clientToken(url, clientId, clientSecret) {
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: clientSecret,
    }),
  });
  if (!res.ok) throw new Error(`token: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

/**
 * A demo server in this process that sends nothing (no dispatcher, no simulator), on a fresh data
 * directory or `databaseUrl`, with its demo client's token. `close()` also removes the directory.
 * `dist`: another build's (as for `serverBuild`).
 */
export async function quietServer(name, { databaseUrl, config = {}, dist } = {}) {
  const { startServer } = await serverBuild('index.js', dist);
  const dir = mkdtempSync(join(tmpdir(), `callhook-bench-${name}-`));
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    dataDir: dir,
    demo: true,
    logLevel: 'silent',
    ...(databaseUrl ? { databaseUrl } : {}),
    config: { dispatcher: false, simulator: false, ...config },
    env: {},
  });
  const close = async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    return {
      server,
      token: await clientToken(server.url, server.demo.clientId, server.demo.clientSecret),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * A child process (a file next to this one) and a request/answer over IPC: `ask(msg, key)` sends
 * `msg` (if any) and waits for a message with `key`. `execArgv` adds Node flags (a CPU profile).
 */
export function child(file, args = [], { env = process.env, execArgv = process.execArgv } = {}) {
  const proc = fork(new URL(file, import.meta.url), args, { env, execArgv });
  const ask = (msg, key) =>
    new Promise((resolve, reject) => {
      const on = (m) => {
        if (key in m) {
          proc.off('message', on);
          proc.off('exit', gone);
          resolve(m);
        }
      };
      const gone = (code) => reject(new Error(`${file} exited (${code}) before answering ${key}`));
      proc.on('message', on);
      proc.once('exit', gone);
      if (msg) proc.send(msg);
    });
  return { proc, ask };
}

/**
 * The machine a run was made on: the cores Node may use, their model, Node's version. The same
 * build reads differently on another host (BENCHMARKS.md, "The machine's phase trades the targets
 * off"), so the benchmarks print it under their heading and carry it in their JSON line.
 */
export function machine() {
  const model = cpus()[0]?.model.trim().replace(/\s+/g, ' ') || 'unknown CPU';
  return { cores: availableParallelism(), cpu: model, node: process.version };
}
/** `  machine: 2 cores, AMD EPYC, node v20.20.2` */
export const machineLine = (m = machine()) => `  machine: ${m.cores} cores, ${m.cpu}, node ${m.node}`;

export const pct = (xs, p) => {
  if (xs.length === 0) return Number.NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
export const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * The page's hangup of extension 175 as the intake takes it: event number `i` (its EventTime),
 * of call number `call` (by default one call per event), with `Tag` = `tag`.
 */
export function hangupEvent(tag, i, call = i) {
  const callId = call.toString(16).padStart(32, '0');
  return {
    event_type: 'hangup',
    extension_id: 175,
    data: {
      SubCallID: `175-${callId}`,
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
      CallID: callId,
      Tag: String(tag),
    },
  };
}

/**
 * Now, in ms, on a clock every process of this machine shares: the benchmarks stamp an event in
 * one process and its receiver reads the stamp in another. `performance.timeOrigin +
 * performance.now()` is not such a clock: each process fixes its origin from the wall clock as
 * it starts, so a step of the wall clock between two starts (NTP) shifts one process against the
 * other; one run printed latencies of -1.46 ms. process.hrtime is the system's monotonic clock.
 */
export const clockMs = () => Number(process.hrtime.bigint()) / 1e6;

/** A file's size in MB (SQLite's WAL, in the benches' data directories); NaN when there is none. */
/**
 * A task's name and its user + system CPU in µs, from a /proc stat file (`/proc/<pid>/stat`,
 * `/proc/<pid>/task/<tid>/stat`; Linux, clock ticks of 10 ms). Throws where there is none.
 */
export function procStat(path) {
  const stat = readFileSync(path, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    cpuUs: (Number(fields[11]) + Number(fields[12])) * 10_000,
  };
}

export const fileMb = (path) => (existsSync(path) ? statSync(path).size / 2 ** 20 : Number.NaN);

/** The send time (`clockMs`) a receiver reads from a delivery's `Tag` field, or undefined. */
export function sentAt(body) {
  const i = body.indexOf('Tag=');
  if (i === -1) return undefined;
  const end = body.indexOf('&', i);
  const sent = Number(body.slice(i + 4, end === -1 ? undefined : end));
  return sent > 0 ? sent : undefined;
}

/**
 * CPU µs per unit of one build (`subjects[0]`) and, with `--against`, of another (`subjects[1]`),
 * measured in turns: one warm-up each, then `rounds` rounds of `measure(subject)` for each, the
 * order alternating from one round to the next, as in bench:delivery, so that neither build is
 * always the one measured right after the other.
 * Prints this build's median and, with two, the other's, the median of the rounds' ratios
 * (other / this) and every round's pair; returns the figures for the JSON line.
 */
export async function cpuInTurns(subjects, measure, { rounds, unit, digits }) {
  for (const subject of subjects) await measure(subject);
  const runs = subjects.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = [...subjects.keys()];
    if (r % 2 === 1) order.reverse();
    for (const i of order) runs[i].push(await measure(subjects[i]));
  }
  const mine = median(runs[0]);
  console.log(`  this build   ${round(mine, digits)} µs per ${unit}`);
  if (subjects.length < 2) return { mine };
  const other = median(runs[1]);
  const ratio = round(median(runs[0].map((m, i) => runs[1][i] / m)), 2);
  console.log(
    `  --against    ${round(other, digits)} µs per ${unit}   (this build ${ratio}x less, median of rounds)`,
  );
  console.log(
    `  each round, this build / --against: ${runs[0].map((m, i) => `${round(m, 1)}/${round(runs[1][i], 1)}`).join(', ')} µs`,
  );
  return { mine, other, ratio };
}

// PostgreSQL: fresh databases on the server named by CALLHOOK_BENCH_DATABASE_URL (an admin URL),
// dropped at the end (dropFreshDatabases), so that every run starts from the same empty state.
export const adminUrl =
  process.env.CALLHOOK_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const freshDatabases = [];
/** Runs one statement on the admin URL's database, on a connection of its own; its rows. */
export async function admin(query, params = []) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return (await c.query(query, params)).rows;
  } finally {
    await c.end();
  }
}
/** A new empty database, `tag` in its name; its URL. */
export async function freshDatabase(tag) {
  const name = `callhook_bench_${tag}_${process.pid}_${Date.now()}`;
  await admin(`create database ${name}`);
  freshDatabases.push(name);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}
/** Drops every database freshDatabase made. */
export async function dropFreshDatabases() {
  for (const name of freshDatabases.splice(0)) await admin(`drop database if exists ${name} with (force)`);
}
