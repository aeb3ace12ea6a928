#!/usr/bin/env node
// node bench/log-pages.mjs [--store sqlite|postgres] [--deliveries 1000000] [--rounds 3]
// A subscription's delivery log (GET .../event/{id}/deliveries), page by page, on a log of a
// million deliveries: what one page costs at the top, in the middle and at the end, in the order
// the store reads it now (newest first by creation time, then seq: the index deliveries_log on
// (subscription_id, created_at), which ends with seq on both stores since migration 0010) beside
// the order it read before (by seq alone, which that index does not give: SQLite sorted the
// subscription's whole log for every page). Both on the same database, in turns. The schema is
// the server build's own (migrated by openStore; CALLHOOK_BENCH_DIST names an older build's); the
// rows are written by SQL.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { median, round, serverBuild } from './common.mjs';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    deliveries: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '3' },
  },
});
const N = Number(values.deliveries);
const ROUNDS = Number(values.rounds);
const PER_PAGE = 100;
const { openStore } = await serverBuild('store/index.js');

const orders = {
  'seq (before)': 'order by seq desc',
  'created_at, seq (now)': 'order by created_at desc, seq desc',
};
// The store's query (OutboxStore.list), without its count.
const page = (order) => `select * from deliveries where subscription_id = $1 ${order} limit $2 offset $3`;

/** One subscription's log of N deliveries, with another subscription's beside it (one in ten). */
const fill = (numbers) => `
  with n(i) as (${numbers})
  insert into deliveries (id, subscription_id, event_id, client_id, extension_id, event_type, call_id,
    order_key, status, attempts, next_attempt_at, created_at, last_attempt_at, last_status_code,
    last_outcome, payload)
  select 'msg_' || i, case when i % 11 = 0 then 2 else 1 end, i, 1, 175, 'hangup', 'call' || (i / 3),
    null, 'succeeded', 1, 0, 1700000000000 + i, 1700000000000 + i, 200, 'success',
    'EventType=hangup&CallID=' || i
  from n`;

let run;
let close;
const dir = mkdtempSync(join(tmpdir(), 'callhook-log-pages-'));
if (values.store === 'sqlite') {
  const store = await openStore({ dataDir: dir, databaseUrl: '' });
  await store.close();
  const SQLite = createRequire(import.meta.url)('better-sqlite3');
  const db = new SQLite(join(dir, 'callhook.db'));
  db.pragma('journal_mode = WAL');
  db.exec(
    fill(
      `with recursive m(i) as (select 1 union all select i + 1 from m where i < ${Math.round(N * 1.1)}) select i from m`,
    ),
  );
  db.exec('analyze');
  const statements = new Map();
  run = (sqlText, params) => {
    const text = sqlText.replace(/\$\d/g, '?');
    if (!statements.has(text)) statements.set(text, db.prepare(text));
    return statements.get(text).all(...params).length;
  };
  close = async () => db.close();
} else {
  const admin = process.env.CALLHOOK_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `callhook_log_pages_${process.pid}`;
  const a = new pg.Client({ connectionString: admin });
  await a.connect();
  await a.query(`create database ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const store = await openStore({ dataDir: dir, databaseUrl: url.toString() });
  await store.close();
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  await c.query(fill(`select generate_series(1, ${Math.round(N * 1.1)})`));
  await c.query('analyze deliveries');
  run = async (sqlText, params) => (await c.query(sqlText, params)).rowCount;
  close = async () => {
    await c.end();
    await a.query(`drop database ${name} with (force)`);
    await a.end();
  };
}

const pages = [1, Math.round(N / PER_PAGE / 2), Math.floor(N / PER_PAGE)];
const times = new Map();
for (let r = 0; r < ROUNDS; r++) {
  const names = r % 2 === 0 ? Object.keys(orders) : Object.keys(orders).reverse();
  for (const name of names) {
    for (const p of pages) {
      const t0 = performance.now();
      const rows = await run(page(orders[name]), [1, PER_PAGE, (p - 1) * PER_PAGE]);
      const ms = performance.now() - t0;
      if (rows !== PER_PAGE) throw new Error(`${name}, page ${p}: ${rows} rows`);
      const key = `${name}|${p}`;
      times.set(key, [...(times.get(key) ?? []), ms]);
    }
  }
}
await close();
rmSync(dir, { recursive: true, force: true });

console.log(
  `a subscription's delivery log, ${N} deliveries (${values.store}), ${PER_PAGE} a page; ms per page, median of ${ROUNDS} rounds in turns`,
);
console.log(`  ${'order'.padEnd(24)} ${pages.map((p) => `page ${p}`.padStart(12)).join('')}`);
const result = {};
for (const name of Object.keys(orders)) {
  const ms = pages.map((p) => median(times.get(`${name}|${p}`)));
  result[name] = ms;
  console.log(`  ${name.padEnd(24)} ${ms.map((m) => String(round(m, 1)).padStart(12)).join('')}`);
}
const [before, now] = Object.values(result);
console.log(
  `  before / now: ${pages.map((p, i) => `page ${p} ${round(before[i] / now[i], 1)}x`).join(', ')}`,
);
console.log(
  JSON.stringify({
    bench: 'log-pages',
    store: values.store,
    deliveries: N,
    per_page: PER_PAGE,
    pages,
    before_ms: before.map((m) => round(m, 2)),
    now_ms: now.map((m) => round(m, 2)),
  }),
);
