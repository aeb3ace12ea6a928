#!/usr/bin/env node
// node bench/intake.mjs [--against <copy of dist>] [--rounds 7] [--batches 100] [--size 100]
//                        [--in-flight 2] [--prof <dir>]
// The intake alone: the server's own CPU µs per event for batches posted to the PBX batch intake
// (HTTP, JSON, validation against the spec, encoding, the store's transaction), one subscription
// so each event stores a delivery, no dispatcher (nothing is sent). The server runs in its own
// process as in bench:delivery. With --against, a second server of another build, in turns, each
// on its own SQLite file; the median of the rounds' ratios. --in-flight: how many requests the PBX
// side keeps under way at once (a fleet of PBXs each posting its events one at a time is
// --size 1 --in-flight 16).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { child, clientToken, cpuInTurns, hangupEvent, round } from './common.mjs';

const { values } = parseArgs({
  options: {
    against: { type: 'string' },
    rounds: { type: 'string', default: '7' },
    batches: { type: 'string', default: '100' },
    size: { type: 'string', default: '100' },
    'in-flight': { type: 'string', default: '2' },
    // A directory: the servers write a CPU profile there (node --cpu-prof) as they exit.
    prof: { type: 'string' },
  },
});
const ROUNDS = Number(values.rounds);
const BATCHES = Number(values.batches);
const SIZE = Number(values.size);
const IN_FLIGHT = Number(values['in-flight']);

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
  const p = child('./server-child.mjs', [JSON.stringify({ dataDir, config })], { env, execArgv });
  const info = await p.ask(null, 'url');
  const token = await clientToken(info.url, 'bench', 'bench-secret');
  const sub = await fetch(`${info.apiUrl}/extension/175/event/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: 'http://127.0.0.2:9/hook', method: 'POST', event_type: 'hangup' }),
  });
  if (!sub.ok) throw new Error(`subscribe: ${sub.status} ${await sub.text()}`);
  return { p, info, pool: new Pool(info.url, { connections: IN_FLIGHT }) };
}

let seq = 0;
async function post(s) {
  const events = [];
  for (let k = 0; k < SIZE; k++) events.push(hangupEvent(1, seq++));
  const res = await s.pool.request({
    path: '/api/ver1.0/pbx/event/batch/',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-pbx-key': s.info.pbxKey },
    body: JSON.stringify({ events }),
  });
  if (res.statusCode !== 202) throw new Error(`intake ${res.statusCode}: ${await res.body.text()}`);
  await res.body.dump();
}

/** The server's CPU µs per event over BATCHES batches, IN_FLIGHT under way at any time. */
async function measure(s) {
  const before = (await s.p.ask('cpu', 'cpu')).cpu;
  let left = BATCHES;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (left > 0) {
        left--;
        await post(s);
      }
    }),
  );
  const after = (await s.p.ask('cpu', 'cpu')).cpu;
  return (after.user + after.system - before.user - before.system) / (BATCHES * SIZE);
}

const servers = [await server(undefined)];
if (values.against) servers.push(await server(values.against));
console.log(
  `intake alone: server CPU µs per event (batches of ${SIZE}, ${IN_FLIGHT} in flight, one subscription, nothing sent), median of ${ROUNDS} rounds of ${BATCHES} batches`,
);
const { mine, other, ratio } = await cpuInTurns(servers, measure, {
  rounds: ROUNDS,
  unit: 'event',
  digits: 1,
});
const result = {
  bench: 'intake',
  rounds: ROUNDS,
  batch: SIZE,
  in_flight: IN_FLIGHT,
  us_per_event: round(mine, 1),
};
if (other !== undefined) Object.assign(result, { against_us_per_event: round(other, 1), ratio });
console.log(JSON.stringify(result));
for (const s of servers) {
  await s.pool.close();
  await s.p.ask('exit', 'never').catch(() => {});
}
for (const d of dirs) rmSync(d, { recursive: true, force: true });
