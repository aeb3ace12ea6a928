#!/usr/bin/env node
// npx pnpm@12.4.2 bench:stale-plans [--grow 300000] [--batch 16] [--first 10] (builds first; PostgreSQL:
// CALLHOOK_BENCH_DATABASE_URL, an admin URL, default postgres://postgres@127.0.0.1:5432/postgres;
// CALLHOOK_BENCH_DIST=<copy of dist> measures another build)
// What recording a batch of results costs once the deliveries table has grown past the size it had
// when the store's connection first ran the statement: a new install, whose first completions
// come while the table holds a few rows. PostgreSQL plans a prepared statement for each of its
// first five runs on a connection and then may keep one generic plan for it. On a fresh database
// the store completes batches of --batch results --first times (10), the table then grows by --grow
// delivered deliveries (one statement), and 21 more completions of --batch are timed. Prints the
// median and one JSON line.
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { CompiledQuery } from 'kysely';
import { dropFreshDatabases, freshDatabase, median, round, serverBuild } from './common.mjs';

const { values } = parseArgs({
  options: {
    grow: { type: 'string', default: '300000' },
    batch: { type: 'string', default: '16' },
    first: { type: 'string', default: '10' },
  },
});
const GROW = Number(values.grow);
const BATCH = Number(values.batch);
const FIRST = Number(values.first);
// The build measured, as the line names it: this one's dist, or CALLHOOK_BENCH_DIST's last part.
const build = process.env.CALLHOOK_BENCH_DIST ? basename(process.env.CALLHOOK_BENCH_DIST) : 'dist';
const { connect } = await serverBuild('store/db.js');
const { OutboxStore } = await serverBuild('store/outbox.js');

const url = await freshDatabase('plans');
// The server's default pool; completions one at a time take the same connection again.
const conn = await connect({ dataDir: '.', databaseUrl: url, poolSize: 10 });
try {
  const store = new OutboxStore(conn.db, 'postgres', conn.transact, 2);
  const owner = 'dispatcher-bench';
  const payload = 'EventType=hangup&'.padEnd(300, 'x');
  let made = 0;
  /** `n` pending deliveries leased to `owner`, as the intake stores them; their seqs. */
  const leased = async (n) => {
    const rows = Array.from({ length: n }, () => {
      made++;
      return {
        id: `msg_bench_${made}`,
        subscription_id: 1,
        event_id: made,
        client_id: 1,
        extension_id: 175,
        event_type: 'hangup',
        call_id: `c${made}`,
        status: 'pending',
        attempts: 0,
        next_attempt_at: 0,
        lease_until: 0,
        lease_owner: owner,
        created_at: 0,
        payload,
      };
    });
    const stored = await conn.db.insertInto('deliveries').values(rows).returning('seq').execute();
    return stored.map((r) => Number(r.seq));
  };
  const complete = (seqs) =>
    store.complete(
      owner,
      seqs.map((seq) => ({
        delivery: {
          seq,
          id: `msg_bench_${seq}`,
          subscriptionId: 1,
          nextAttemptAt: 0,
        },
        result: {
          kind: 'succeeded',
          attempt: {
            attemptedAt: Date.now(),
            outcome: 'success',
            statusCode: 200,
            latencyMs: 1,
            error: null,
            responseBody: 'ok',
          },
        },
      })),
    );
  for (let i = 0; i < FIRST; i++) await complete(await leased(BATCH));
  await conn.db.executeQuery(
    CompiledQuery.raw(
      `insert into deliveries (id, subscription_id, event_id, client_id, extension_id, event_type, call_id, status, attempts,
        next_attempt_at, created_at, payload) select 'msg_grown_' || g, 1, g, 1, 175, 'hangup', 'g' || g, 'succeeded', 1, 0, 0, $1
        from generate_series(1, $2::int) as g`,
      [payload, GROW],
    ),
  );
  const times = [];
  for (let i = 0; i < 21; i++) {
    const seqs = await leased(BATCH);
    const t = performance.now();
    await complete(seqs);
    times.push(performance.now() - t);
  }
  const ms = round(median(times), 2);
  console.log(
    `${build}: recording ${BATCH} results, after the first ${FIRST} completions on a fresh database and ${GROW} deliveries more: ${ms} ms (median of 21; ${round(Math.min(...times), 2)}–${round(Math.max(...times), 2)})`,
  );
  console.log(JSON.stringify({ bench: 'stale-plans', build, batch: BATCH, first: FIRST, grow: GROW, ms }));
} finally {
  await conn.close();
  await dropFreshDatabases();
}
