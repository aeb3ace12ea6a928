#!/usr/bin/env node
// pnpm bench:isolation [--endpoints 10] [--events 2000] [--runs 3] [--bad 0.1]
// Noisy neighbours. One extension's hangup events go to --endpoints endpoints, each its own host
// (receivers in their own process, bench/isolation-receivers.mjs). Three scenarios, in turns, each
// on a fresh server (its own process and SQLite file, the server's default delivery settings: 64
// requests in flight, 16 per host, 5 s connect / 15 s total timeouts, the default retry schedule):
//   healthy  every endpoint answers 200 at once
//   hang     --bad of the endpoints never answer (each request held until the server's timeout)
//   fail     --bad of the endpoints answer 500 at once (so their deliveries are retried)
//   stall    --bad of the endpoints answer 200 to their first 20 requests, then never (so they are
//            at their cap of requests when they stop); not one of issue 16's targets, ours
// Per scenario, over the endpoints that are healthy in every scenario: deliveries/s at max rate
// (--events events in intake batches of 100, 2 in flight; from the first ingest to their last
// delivery), then the p99 ingest → 2xx at a fixed rate (half the healthy run's max rate, batches
// of 10). Targets (issue 16): hang and fail ≥ 0.9× the healthy run's throughput, p99 within 2×.
// Median of --runs rounds; ends with one JSON line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import {
  child,
  clientToken,
  clockMs,
  hangupEvent,
  machine,
  machineLine,
  median,
  pct,
  round,
} from './common.mjs';

const { values } = parseArgs({
  options: {
    endpoints: { type: 'string', default: '10' },
    events: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '3' },
    bad: { type: 'string', default: '0.1' },
  },
});
const E = Number(values.endpoints);
const N = Number(values.events);
const RUNS = Number(values.runs);
const BAD = Math.max(1, Math.round(E * Number(values.bad)));
const HEALTHY = Array.from({ length: E }, (_, i) => i).filter((i) => i >= BAD);
const LATENCY_EVENTS = Math.max(200, Math.round(N / 2));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const rx = child('./isolation-receivers.mjs');
const { ports } = await rx.ask({ setup: E }, 'ports');
const dir = mkdtempSync(join(tmpdir(), 'callhook-isolation-'));

const event = (i, tag) => hangupEvent(tag, i);

/** Healthy endpoints' deliveries so far, and the time of the last one. */
async function healthyStats(withLatencies = false) {
  const { endpoints } = await rx.ask({ stats: withLatencies }, 'endpoints');
  const mine = HEALTHY.map((i) => endpoints[i]);
  return {
    count: mine.reduce((n, e) => n + e.count, 0),
    last: Math.max(...mine.map((e) => e.last)),
    latencies: mine.flatMap((e) => e.latencies),
  };
}

async function waitForHealthy(expected, what) {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const s = await healthyStats();
    if (s.count >= expected) return s;
    if (Date.now() > deadline)
      throw new Error(`${what}: ${s.count} of ${expected} healthy deliveries arrived`);
    await sleep(100);
  }
}

/** One scenario on a fresh server: max-rate throughput, then p99 at `latencyRate` events/s (if given). */
async function run(scenario, latencyRate) {
  const dataDir = mkdtempSync(join(dir, 'server-'));
  const server = child('./server-child.mjs', [
    JSON.stringify({
      dataDir,
      config: {
        simulator: false,
        // Every endpoint is a subscription of one extension of one client: room for --endpoints.
        extensionSubscriptionLimit: Math.max(1000, E),
        clientSubscriptionLimit: Math.max(1000, E),
        demoClientId: 'bench',
        demoClientSecret: 'bench-secret',
      },
    }),
  ]);
  try {
    const info = await server.ask(null, 'url');
    const access_token = await clientToken(info.url, 'bench', 'bench-secret');
    for (const [i, port] of ports.entries()) {
      const res = await fetch(`${info.apiUrl}/extension/175/event/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `http://127.0.0.1:${port}/e${i}`, method: 'POST', event_type: 'hangup' }),
      });
      if (!res.ok) throw new Error(`subscribe: ${res.status} ${await res.text()}`);
    }
    const badMode = scenario === 'healthy' ? 'ok' : scenario;
    await rx.ask({ modes: ports.map((_, i) => (i < BAD ? badMode : 'ok')) }, 'modesSet');

    const intake = new Pool(info.url, { connections: 4 });
    let nextEvent = 0;
    const post = async (events) => {
      const res = await intake.request({
        path: '/api/ver1.0/pbx/event/batch/',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-pbx-key': info.pbxKey },
        body: JSON.stringify({ events }),
      });
      if (res.statusCode !== 202) throw new Error(`intake ${res.statusCode}: ${await res.body.text()}`);
      await res.body.dump();
    };

    // Max rate: batches of 100, 2 in flight.
    const start = clockMs();
    let sent = 0;
    await Promise.all(
      Array.from({ length: 2 }, async () => {
        while (sent < N) {
          const k = Math.min(100, N - sent);
          sent += k;
          await post(Array.from({ length: k }, () => event(nextEvent++, clockMs())));
        }
      }),
    );
    const max = await waitForHealthy(N * HEALTHY.length, `${scenario}, max rate`);
    const perS = max.count / ((max.last - start) / 1000);

    let p99 = Number.NaN;
    if (latencyRate !== undefined) {
      await rx.ask({ clear: true }, 'cleared');
      const batch = 10;
      const interval = (batch / latencyRate) * 1000;
      const t0 = performance.now();
      for (let b = 0; b * batch < LATENCY_EVENTS; b++) {
        const wait = t0 + b * interval - performance.now();
        if (wait > 0) await sleep(wait);
        void post(Array.from({ length: batch }, () => event(nextEvent++, clockMs())));
      }
      await waitForHealthy(LATENCY_EVENTS * HEALTHY.length, `${scenario}, fixed rate`);
      p99 = pct((await healthyStats(true)).latencies, 99);
    }
    await intake.close();
    return { perS, p99 };
  } finally {
    // Held requests would keep a graceful stop waiting for the server's timeout: kill it.
    server.proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const results = { healthy: [], hang: [], fail: [], stall: [] };
let latencyRate;
try {
  for (let r = 0; r < RUNS; r++) {
    for (const scenario of Object.keys(results)) {
      if (latencyRate === undefined) {
        // The first healthy run sets the fixed rate of every latency phase: half its max rate.
        const probe = await run('healthy');
        latencyRate = probe.perS / HEALTHY.length / 2;
      }
      const result = await run(scenario, latencyRate);
      results[scenario].push(result);
      console.log(
        `  round ${r + 1} ${scenario.padEnd(7)} ${Math.round(result.perS)} healthy deliveries/s, p99 ${round(result.p99, 2)} ms`,
      );
    }
  }
} finally {
  rx.proc.kill();
  rmSync(dir, { recursive: true, force: true });
}

const summary = Object.fromEntries(
  Object.entries(results).map(([k, rs]) => [
    k,
    { per_s: Math.round(median(rs.map((x) => x.perS))), p99_ms: round(median(rs.map((x) => x.p99)), 2) },
  ]),
);
const h = summary.healthy;
console.log(
  `isolation benchmark (sqlite, 1 server process, default delivery settings; ${E} endpoints on ${E} hosts, ${BAD} of them bad; ${N} events at max rate, ${LATENCY_EVENTS} at ${Math.round(latencyRate)} events/s for latency; median of ${RUNS} rounds)`,
);
console.log(machineLine());
console.log(
  `  ${''.padEnd(34)} ${'healthy endpoints'.padStart(18)}  ${'ratio'.padStart(6)}  ${'p99 at fixed rate'.padStart(18)}  ${'ratio'.padStart(6)}`,
);
const line = (label, s) =>
  console.log(
    `  ${label.padEnd(34)} ${`${s.per_s} deliveries/s`.padStart(18)}  ${`${round(s.per_s / h.per_s, 2)}x`.padStart(6)}  ${`${s.p99_ms} ms`.padStart(18)}  ${`${round(s.p99_ms / h.p99_ms, 2)}x`.padStart(6)}`,
  );
line('all healthy', h);
line(`${BAD} of ${E} never answer`, summary.hang);
line(`${BAD} of ${E} answer 500`, summary.fail);
line(`${BAD} of ${E} answer, then hang`, summary.stall);
const ok = (s) => s.per_s / h.per_s >= 0.9 && s.p99_ms / h.p99_ms <= 2;
console.log(
  `  targets (throughput ≥ 0.9x, p99 ≤ 2x the healthy run's): never answer ${ok(summary.hang) ? 'met' : 'NOT met'}, answer 500 ${ok(summary.fail) ? 'met' : 'NOT met'}; answer, then hang (ours, held to the same) ${ok(summary.stall) ? 'met' : 'NOT met'}`,
);
const vsHealthy = (s) => ({
  ...s,
  throughput_ratio: round(s.per_s / h.per_s, 2),
  p99_ratio: round(s.p99_ms / h.p99_ms, 2),
});
console.log(
  JSON.stringify({
    bench: 'isolation',
    machine: machine(),
    endpoints: E,
    bad: BAD,
    events: N,
    runs: RUNS,
    latency_rate_per_s: Math.round(latencyRate),
    healthy: summary.healthy,
    hang: vsHealthy(summary.hang),
    fail: vsHealthy(summary.fail),
    stall: vsHealthy(summary.stall),
  }),
);
process.exit(0);
