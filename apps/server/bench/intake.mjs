#!/usr/bin/env node
// node bench/intake.mjs [--against <copy of dist>] [--rounds 7] [--batches 100] [--size 100]
//                        [--in-flight 2] [--store sqlite|postgres] [--prof <dir>]
// The intake alone: the server's own CPU µs per event for batches posted to the PBX batch intake
// (HTTP, JSON, validation against the spec, encoding, the store's transaction), one subscription
// so each event stores a delivery, no dispatcher (nothing is sent). The server runs in its own
// process as in bench:delivery. With --against, a second server of another build, in turns, each
// on its own SQLite file; the median of the rounds' ratios. --in-flight: how many requests the PBX
// side keeps under way at once (a fleet of PBXs each posting its events one at a time is
// --size 1 --in-flight 16). Beside the CPU, the intake's events/s and each batch's time to its 202
// (medians of the rounds): how fast one process takes events with nothing else running.
// --store postgres: each server on a fresh database of the PostgreSQL server that
// CALLHOOK_BENCH_DATABASE_URL names (an admin URL; the local one by default).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import {
  child,
  clientToken,
  cpuInTurns,
  dropFreshDatabases,
  freshDatabase,
  hangupEvent,
  median,
  pct,
  round,
} from './common.mjs';

const { values } = parseArgs({
  options: {
    against: { type: 'string' },
    rounds: { type: 'string', default: '7' },
    batches: { type: 'string', default: '100' },
    size: { type: 'string', default: '100' },
    'in-flight': { type: 'string', default: '2' },
    store: { type: 'string', default: 'sqlite' },
    // A directory: the servers write a CPU profile there (node --cpu-prof) as they exit.
    prof: { type: 'string' },
  },
});
const ROUNDS = Number(values.rounds);
const BATCHES = Number(values.batches);
const SIZE = Number(values.size);
const IN_FLIGHT = Number(values['in-flight']);
if (!['sqlite', 'postgres'].includes(values.store)) throw new Error('--store is sqlite or postgres');

const dirs = [];
async function server(dist) {
  const dataDir = mkdtempSync(join(tmpdir(), 'callhook-bench-intake-'));
  dirs.push(dataDir);
  const env = { ...process.env };
  if (dist) env.CALLHOOK_BENCH_DIST = dist;
  else delete env.CALLHOOK_BENCH_DIST;
  const config = { dispatcher: false, demoClientId: 'bench', demoClientSecret: 'bench-secret' };
  const execArgv = values.prof
    ? [...process.execArgv, '--cpu-prof', `--cpu-prof-dir=${values.prof}`]
    : process.execArgv;
  const databaseUrl = values.store === 'postgres' ? await freshDatabase('intake') : '';
  const p = child('./server-child.mjs', [JSON.stringify({ dataDir, databaseUrl, config })], {
    env,
    execArgv,
  });
  const info = await p.ask(null, 'url');
  const token = await clientToken(info.url, 'bench', 'bench-secret');
  const sub = await fetch(`${info.apiUrl}/extension/175/event/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: 'http://127.0.0.2:9/hook', method: 'POST', event_type: 'hangup' }),
  });
  if (!sub.ok) throw new Error(`subscribe: ${sub.status} ${await sub.text()}`);
  return { p, info, pool: new Pool(info.url, { connections: IN_FLIGHT }), rates: [], p50s: [], p99s: [] };
}

let seq = 0;
async function post(s) {
  const events = [];
  for (let k = 0; k < SIZE; k++) events.push(hangupEvent(1, seq++));
  const started = performance.now();
  const res = await s.pool.request({
    path: '/api/ver1.0/pbx/event/batch/',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-pbx-key': s.info.pbxKey },
    body: JSON.stringify({ events }),
  });
  if (res.statusCode !== 202) throw new Error(`intake ${res.statusCode}: ${await res.body.text()}`);
  await res.body.dump();
  return performance.now() - started;
}

/** The server's CPU µs per event over BATCHES batches, IN_FLIGHT under way at any time. */
async function measure(s) {
  const before = (await s.p.ask('cpu', 'cpu')).cpu;
  let left = BATCHES;
  const times = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (left > 0) {
        left--;
        times.push(await post(s));
      }
    }),
  );
  s.rates.push((BATCHES * SIZE) / ((performance.now() - started) / 1000));
  s.p50s.push(pct(times, 50));
  s.p99s.push(pct(times, 99));
  const after = (await s.p.ask('cpu', 'cpu')).cpu;
  return (after.user + after.system - before.user - before.system) / (BATCHES * SIZE);
}

const servers = [await server(undefined)];
if (values.against) servers.push(await server(values.against));
console.log(
  `intake alone (${values.store}): server CPU µs per event (batches of ${SIZE}, ${IN_FLIGHT} in flight, one subscription, nothing sent), median of ${ROUNDS} rounds of ${BATCHES} batches`,
);
const { mine, other, ratio } = await cpuInTurns(servers, measure, {
  rounds: ROUNDS,
  unit: 'event',
  digits: 1,
});
// The first measure of each server (cpuInTurns's warm-up) is left out.
const speed = (s) => ({
  per_s: Math.round(median(s.rates.slice(1))),
  batch_p50_ms: round(median(s.p50s.slice(1)), 2),
  batch_p99_ms: round(median(s.p99s.slice(1)), 2),
});
for (const [i, s] of servers.entries()) {
  const { per_s, batch_p50_ms, batch_p99_ms } = speed(s);
  console.log(
    `  ${i === 0 ? 'this build' : '--against '}   ${per_s} events/s, a batch ${batch_p50_ms} ms to its 202 (p99 ${batch_p99_ms} ms)`,
  );
}
const result = {
  bench: 'intake',
  store: values.store,
  rounds: ROUNDS,
  batch: SIZE,
  in_flight: IN_FLIGHT,
  us_per_event: round(mine, 1),
  ...speed(servers[0]),
};
if (other !== undefined) {
  Object.assign(result, { against_us_per_event: round(other, 1), ratio, against: speed(servers[1]) });
}
console.log(JSON.stringify(result));
for (const s of servers) {
  await s.pool.close();
  await s.p.ask('exit', 'never').catch(() => {});
}
for (const d of dirs) rmSync(d, { recursive: true, force: true });
await dropFreshDatabases();
