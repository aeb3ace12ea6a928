#!/usr/bin/env node
// node apps/server/bench/pg-prepared.mjs (after a build; needs PostgreSQL: CALLHOOK_BENCH_DATABASE_URL,
// an admin URL, default postgres://postgres@127.0.0.1:5432/postgres): the memory one PostgreSQL
// connection holds for the outbox's prepared statements (store/transact.ts). The outbox prepares
// its three batched inserts (events, deliveries, attempts) in their row-count shapes (shapedChunks:
// 31 per kind, events up to 128 rows), and the results' update from arrays once, with the
// statement that sets its planner settings. This prepares each of them on one connection,
// inside a transaction rolled back, and prints the backend's memory (pg_backend_memory_contexts)
// before and after: the most a connection can hold for them. Prints one JSON line.
import pg from 'pg';
import { connect } from '../dist/store/db.js';
import { OutboxSql, shapedChunks } from '../dist/store/outbox-sql.js';
import { dropFreshDatabases, freshDatabase } from './common.mjs';

const url = await freshDatabase('prepared');
try {
  // The schema, as the server makes it.
  await (await connect({ dataDir: '.', databaseUrl: url, poolSize: 1 })).close();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const q = new OutboxSql('postgres');
  const memory = async () =>
    Number((await c.query('select sum(total_bytes) as b from pg_backend_memory_contexts')).rows[0].b) /
    2 ** 20;
  const before = await memory();
  const sizes = (most) => [
    ...new Set(
      Array.from({ length: most }, (_, i) => shapedChunks(Array(i + 1).fill(0), most))
        .flat()
        .map((x) => x.length),
    ),
  ];
  const rows = (n, row) => Array.from({ length: n }, (_, r) => row(r)).flat();
  let statements = 0;
  await c.query('begin');
  for (const n of sizes(256)) {
    const prepare = (kind, text, values) =>
      c.query({ name: `${kind}${n}`, text, values }).then(() => statements++);
    await prepare(
      'd',
      q.insertDeliveries(n),
      rows(n, (r) => [
        `msg_${n}_${r}`,
        1,
        1,
        1,
        175,
        'hangup',
        'c',
        null,
        'succeeded',
        1,
        0,
        null,
        null,
        0,
        'p',
      ]),
    );
    await prepare(
      'a',
      q.insertAttempts(n),
      rows(n, () => [1, 0, 'success', 200, 1.5, null, null, '{}', '{}']),
    );
  }
  // The results: one statement for any count, from arrays, and its planner settings.
  await c.query({ name: 'i', text: q.indexedResults(), values: [] });
  await c.query({
    name: 'r',
    text: q.recordResultArrays(),
    values: [[1, 2], ['succeeded', 'retrying'], [0, 5], [0, 0], [200, null], ['success', 'timeout'], 'owner'],
  });
  statements += 2;
  for (const n of sizes(128)) {
    await c.query({
      name: `e${n}`,
      text: q.insertEvents(n),
      values: rows(n, () => [175, 'hangup', 'c', '{}', 0, null]),
    });
    statements++;
  }
  const after = await memory();
  await c.query('rollback');
  await c.end();
  console.log(
    `one connection: ${before.toFixed(1)} MB before, ${after.toFixed(1)} MB with the outbox's ${statements} prepared statements (every shape of the three batched inserts, and the results' update): ${(after - before).toFixed(1)} MB for them`,
  );
  console.log(
    JSON.stringify({
      bench: 'pg-prepared',
      statements,
      before_mb: +before.toFixed(1),
      after_mb: +after.toFixed(1),
    }),
  );
} finally {
  await dropFreshDatabases();
}
