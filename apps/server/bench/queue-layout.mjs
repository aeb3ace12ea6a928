#!/usr/bin/env node
// node bench/queue-layout.mjs [--batches 300] [--rounds 3] [--fillfactor 85]
// A question about a layout not built: would open deliveries in a table of their own make
// PostgreSQL's work per delivery smaller? Today a completion changes `status`, which the three
// partial indexes of open deliveries name in their predicates, so the update is never a HOT update
// and writes a new entry in every other index of `deliveries`. This measures PostgreSQL's own CPU
// (its backend's, from /proc) to store deliveries in batches of 96 and complete them, two ways, on
// two fresh databases, in turns:
//   today's layout: the schema the server build migrates to; store, then update each to succeeded;
//   a queue table:  the same `deliveries` without its three partial indexes (at --fillfactor, so a
//                   completion's update can stay on its page), and a table `queue` of the open
//                   deliveries with those three indexes; store both, then delete from the queue and
//                   update the delivery. The queue's vacuum (every 20 batches) is charged to it.
// Only the statements that differ are measured: events, attempts and claims are alike either way.
// PostgreSQL only (CALLHOOK_BENCH_DATABASE_URL, an admin URL; default the local server).
import { parseArgs } from 'node:util';
import pg from 'pg';
import { dropFreshDatabases, freshDatabase, median, procStat, round, serverBuild } from './common.mjs';

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    fillfactor: { type: 'string', default: '85' },
  },
});
const BATCHES = Number(values.batches);
const ROUNDS = Number(values.rounds);
const FILL = Number(values.fillfactor);
if (!(FILL >= 10 && FILL <= 100)) throw new Error('--fillfactor is 10..100');
const B = 96;
const { openStore } = await serverBuild('store/index.js');

/** A fresh database migrated by the server build, and a connection to it with its backend's pid. */
async function database(tag) {
  const url = await freshDatabase(`queue_layout_${tag}`);
  const store = await openStore({ dataDir: '/tmp', databaseUrl: url });
  await store.close();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const { rows } = await c.query('select pg_backend_pid() as pid');
  return { c, pid: rows[0].pid };
}

/** A process's user + system CPU in ms, from /proc (Linux; clock ticks of 10 ms). */
function cpuMs(pid) {
  return procStat(`/proc/${pid}/stat`).cpuUs / 1000;
}

const columns =
  '(id, subscription_id, event_id, client_id, extension_id, event_type, call_id, order_key, status, attempts, next_attempt_at, created_at, payload)';
let n = 0;
/** A batch of B pending deliveries as the intake stores them, each of its own call. */
function batch() {
  const params = [];
  const rows = [];
  const now = Date.now();
  for (let i = 0; i < B; i++) {
    n++;
    const k = params.length;
    rows.push(`(${Array.from({ length: 13 }, (_, j) => `$${k + j + 1}`).join(', ')})`);
    const call = `${n.toString(16).padStart(8, '0')}${Math.random().toString(16).slice(2, 18).padEnd(24, '0')}`;
    const payload = `EventType=hangup&CallID=${call}&CallStatus=ANSWER&Duration=42&${'Extra=x&'.repeat(30)}`;
    params.push(
      `msg_${now.toString(36)}${String(n).padStart(10, '0')}`,
      1,
      n,
      1,
      175,
      'hangup',
      call,
      `1:${call}`,
    );
    params.push('pending', 0, now, now, payload);
  }
  return { text: rows.join(', '), params };
}
const complete = (seqs) =>
  `update deliveries set status = 'succeeded', attempts = attempts + 1, lease_until = null, lease_owner = null,
    last_attempt_at = ${Date.now()}, last_status_code = 200, last_outcome = 'success' where seq in (${seqs.join(', ')})`;

const today = await database('today');
const queue = await database('queue');
await queue.c.query(`drop index deliveries_due; drop index deliveries_order; drop index deliveries_queue;
  alter table deliveries set (fillfactor = ${FILL});
  create table queue (seq bigint primary key, subscription_id bigint not null, order_key text,
    next_attempt_at bigint not null, lease_until bigint, lease_owner text);
  create index queue_due on queue (next_attempt_at, seq);
  create index queue_order on queue (order_key, seq);
  create index queue_subscription on queue (subscription_id, next_attempt_at, seq);`);

/**
 * PostgreSQL's CPU (ms) for BATCHES batches on `db`: each stored in one transaction (`store`
 * returns the new deliveries' seqs) and completed in another (`complete`), as the intake and a
 * completion are; `after` runs once every 20 batches.
 */
async function measure({ c, pid }, { store, complete: completeAll, after }) {
  const cpu0 = cpuMs(pid);
  for (let b = 0; b < BATCHES; b++) {
    const { text, params } = batch();
    await c.query('begin');
    const seqs = await store(c, text, params);
    await c.query('commit');
    await c.query('begin');
    await completeAll(c, seqs);
    await c.query('commit');
    if (after && b % 20 === 19) await after(c);
  }
  return cpuMs(pid) - cpu0;
}

const layouts = {
  "today's layout": () =>
    measure(today, {
      store: async (c, text, params) =>
        (await c.query(`insert into deliveries ${columns} values ${text} returning seq`, params)).rows.map(
          (r) => r.seq,
        ),
      complete: (c, seqs) => c.query(complete(seqs)),
    }),
  'a queue table': () =>
    measure(queue, {
      store: async (c, text, params) => {
        const { rows } = await c.query(
          `insert into deliveries ${columns} values ${text} returning seq, subscription_id, order_key, next_attempt_at`,
          params,
        );
        const open = rows.map((_, i) => `($${4 * i + 1}, $${4 * i + 2}, $${4 * i + 3}, $${4 * i + 4})`);
        await c.query(
          `insert into queue (seq, subscription_id, order_key, next_attempt_at) values ${open.join(', ')}`,
          rows.flatMap((r) => [r.seq, r.subscription_id, r.order_key, r.next_attempt_at]),
        );
        return rows.map((r) => r.seq);
      },
      complete: async (c, seqs) => {
        await c.query(`delete from queue where seq in (${seqs.join(', ')})`);
        await c.query(complete(seqs));
      },
      after: (c) => c.query('vacuum queue'),
    }),
};

for (const run of Object.values(layouts)) await run(); // warm up: caches, the first pages
const times = new Map(Object.keys(layouts).map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) {
  const names = r % 2 === 0 ? Object.keys(layouts) : Object.keys(layouts).reverse();
  for (const name of names) times.get(name).push(await layouts[name]());
}
const hot = async ({ c }) =>
  (
    await c.query(
      `select n_tup_upd as n, n_tup_hot_upd as hot from pg_stat_user_tables where relname = 'deliveries'`,
    )
  ).rows[0];
const hotToday = await hot(today);
const hotQueue = await hot(queue);
for (const { c } of [today, queue]) await c.end();
await dropFreshDatabases();

const perDelivery = (ms) => (ms * 1000) / (BATCHES * B);
const [a, b] = [...times.values()].map((ms) => median(ms.map(perDelivery)));
console.log(
  `PostgreSQL's CPU per delivery stored and completed (its backend's), ${BATCHES} batches of ${B} a round, median of ${ROUNDS} rounds in turns`,
);
console.log(
  `  today's layout    ${round(a, 1)} µs  (rounds ${times
    .get("today's layout")
    .map((ms) => round(perDelivery(ms), 1))
    .join(', ')}; HOT updates ${hotToday.hot} of ${hotToday.n})`,
);
console.log(
  `  a queue table     ${round(b, 1)} µs  (rounds ${times
    .get('a queue table')
    .map((ms) => round(perDelivery(ms), 1))
    .join(', ')}; HOT updates ${hotQueue.hot} of ${hotQueue.n}; deliveries at fillfactor ${FILL})`,
);
console.log(`  today / a queue table: ${round(a / b, 2)}x`);
console.log(
  JSON.stringify({
    bench: 'queue-layout',
    batches: BATCHES,
    batch: B,
    rounds: ROUNDS,
    fillfactor: FILL,
    today_us: round(a, 1),
    queue_us: round(b, 1),
    ratio: round(a / b, 2),
    hot_today: Number(hotToday.hot),
    hot_queue: Number(hotQueue.hot),
  }),
);
