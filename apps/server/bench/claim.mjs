#!/usr/bin/env node
// pnpm --filter @callhook/server bench:claim [--backlog 300000] [--neighbour 20000] [--queues 1] [--database-url postgres://…]
// (CALLHOOK_BENCH_DIST=<copy of dist> measures another build)
// What one claim costs when the dispatcher must leave out a host that is full (it holds as many
// of the host's deliveries as it may) while that host's backlog fills the store: the case of a
// receiver that comes back to a million queued deliveries. Three claims of 200, timed on the
// same store in turns (median of --runs each):
//   open        nothing left out: the scan takes the first due rows (the baseline);
//   neighbour   the backlog's subscription left out, neighbours with due deliveries (--queues
//               subscriptions, each receiving every one of the --neighbour events);
//   all full    every subscription with due deliveries left out: the claim finds nothing.
// Before per-subscription queues the last two stepped over every due row of the backlog.
import { parseArgs } from 'node:util';
import { median, quietServer, round } from './common.mjs';

const { values } = parseArgs({
  options: {
    backlog: { type: 'string', default: '300000' },
    neighbour: { type: 'string', default: '20000' },
    queues: { type: 'string', default: '1' },
    'database-url': { type: 'string' },
    runs: { type: 'string', default: '21' },
  },
});
const BACKLOG = Number(values.backlog);
const NEIGHBOUR = Number(values.neighbour);
const RUNS = Number(values.runs);
const QUEUES = Number(values.queues);
// The dispatcher's claim size (CALLHOOK_DELIVERY_BATCH's default).
const LIMIT = 200;
// Nothing is sent: no dispatcher, and the hosts only tell the endpoints apart.
const { server, token, close } = await quietServer('claim', {
  databaseUrl: values['database-url'],
  // One client holds them all: the backlog's subscription and --queues neighbours.
  config: {
    extensionSubscriptionLimit: Math.max(20, QUEUES),
    clientSubscriptionLimit: Math.max(100, QUEUES + 1),
  },
});
try {
  const { outbox, dialect } = server.store;
  const subscribe = async (extension, url) => {
    const res = await fetch(`${server.apiUrl}/extension/${extension}/event/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url, method: 'POST', event_type: 'hangup' }),
    });
    if (!res.ok) throw new Error(`subscribe: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const backlog = await subscribe(175, 'http://127.0.0.2:9/backlog');
  const neighbours = [];
  for (let i = 0; i < QUEUES; i++) neighbours.push(await subscribe(200, `http://127.0.0.3:9/neighbour/${i}`));
  const neighbourIds = new Set(neighbours.map((n) => n.id));

  // The backlog first, then the neighbour's newer deliveries: a scan in due order meets every
  // one of the backlog's before the first of the neighbour's.
  const store = async (extension, n, tag) => {
    for (let i = 0; i < n; i += 1000) {
      const batch = [];
      for (let k = i; k < Math.min(n, i + 1000); k++) {
        const callId = `${tag}${k.toString(16).padStart(31, '0')}`;
        batch.push({
          extensionId: extension,
          eventType: 'hangup',
          callId,
          data: { EventType: 'hangup', CallID: callId, EventTime: 1_700_000_000_000_000 + k },
          payload: `EventType=hangup&CallID=${callId}`,
        });
      }
      await outbox.ingest(batch, Date.now() - 60_000);
    }
  };
  const t0 = performance.now();
  await store(175, BACKLOG, 'a');
  await store(200, NEIGHBOUR, 'b');
  console.log(
    `claim benchmark (${dialect}; ${BACKLOG} due deliveries of one subscription, ${NEIGHBOUR} of each of ${QUEUES} neighbour(s) ` +
      `stored after them, stored in ${round((performance.now() - t0) / 1000)} s; claims of ${LIMIT}, median of ${RUNS})`,
  );

  const cases = [
    ['open (nothing left out)', []],
    ['neighbour (backlog left out)', [backlog.id]],
    ['all full (all left out)', [backlog.id, ...neighbourIds]],
  ];
  const times = new Map(cases.map(([name]) => [name, []]));
  const found = new Map(cases.map(([name]) => [name, 0]));
  // In turns, so that a busy moment of the machine falls on every case alike. The claims lease
  // what they take (a minute), as the dispatcher's do; the backlog and neighbour are far larger
  // than what the runs take.
  for (let r = 0; r < RUNS; r++) {
    for (const [name, excluded] of cases) {
      const now = Date.now();
      const t = performance.now();
      const got = await outbox.claim('bench', now, now + 60_000, LIMIT, excluded);
      times.get(name).push(performance.now() - t);
      found.set(name, found.get(name) + got.length);
      if (name.startsWith('neighbour') && got.some((d) => !neighbourIds.has(d.subscriptionId)))
        throw new Error('a claim that left the backlog out took one of its deliveries');
    }
  }
  const open = median(times.get(cases[0][0]));
  const w = Math.max(...cases.map(([name]) => name.length));
  console.log(`  ${'claim'.padEnd(w)}  median ms  found/claim  ratio to open`);
  const result = {};
  for (const [name] of cases) {
    const ms = median(times.get(name));
    const per = found.get(name) / RUNS;
    console.log(
      `  ${name.padEnd(w)}  ${ms.toFixed(2).padStart(9)}  ${String(round(per)).padStart(11)}  ${round(ms / open, 2)}x`,
    );
    result[name.split(' ')[0]] = { median_ms: round(ms, 2), found_per_claim: round(per) };
  }
  if (found.get(cases[1][0]) === 0) throw new Error('the neighbour claim found nothing');
  console.log(
    JSON.stringify({
      bench: 'claim',
      store: dialect,
      backlog: BACKLOG,
      neighbour_events: NEIGHBOUR,
      queues: QUEUES,
      limit: LIMIT,
      ...result,
    }),
  );
} finally {
  await close();
}
