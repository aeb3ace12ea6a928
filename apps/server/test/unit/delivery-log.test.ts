import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery, type KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Connection, connect } from '../../src/store/db.js';
import { OutboxStore } from '../../src/store/outbox.js';
import { OutboxSql, run } from '../../src/store/outbox-sql.js';
import { freshDatabase, pgAdminUrl } from '../pg.js';
import { deliveryValues } from './delivery-rows.js';

// A subscription's delivery log (GET .../event/{id}/deliveries): newest first, paged by position,
// read off the index deliveries_log. Sorted by seq alone, SQLite sorted the subscription's whole
// log for every page (1.2 s for the first of a million, bench/log-pages.mjs); on PostgreSQL, before
// the index ended with seq, each page's rows were sorted again (deep pages 0.7x the speed).
// SQLite, or PostgreSQL in the suite's PostgreSQL pass.
const dialect = pgAdminUrl ? 'postgres' : 'sqlite';
describe(`a subscription's delivery log on ${dialect}`, () => {
  let dir: string;
  let conn: Connection;
  let database: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  const q = new OutboxSql(dialect);
  const row = (id: string, subscription: number, createdAt: number) =>
    deliveryValues({
      id,
      subscription_id: subscription,
      call_id: id,
      status: 'succeeded',
      attempts: 1,
      created_at: createdAt,
    });
  /** Subscription 1's deliveries as stored: [id, created_at], in seq order. */
  const stored: Array<[string, number]> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'callhook-log-'));
    database = pgAdminUrl ? await freshDatabase() : undefined;
    conn = await connect({ dataDir: dir, databaseUrl: database?.url ?? '', poolSize: 1 });
    // Three a millisecond, as a busy intake stores them, and another subscription's between.
    for (let i = 0; i < 250; i++) {
      const createdAt = 1_700_000_000_000 + Math.floor(i / 3);
      await run(conn.db, q.insertDeliveries(1), row(`msg_${i}`, 1, createdAt));
      stored.push([`msg_${i}`, createdAt]);
      if (i % 5 === 0) await run(conn.db, q.insertDeliveries(1), row(`other_${i}`, 2, createdAt));
    }
  });
  afterAll(async () => {
    await conn.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('pages follow each other newest first, each delivery once, with the total', async () => {
    const outbox = new OutboxStore(conn.db, dialect);
    const seen: string[] = [];
    for (let page = 1; page <= 4; page++) {
      const { items, total } = await outbox.list(1, { page, perPage: 70 });
      expect(total).toBe(250);
      expect(items.length).toBe(page < 4 ? 70 : 40);
      seen.push(...items.map((d) => d.id));
    }
    expect(seen).toEqual(stored.map(([id]) => id).reverse());
    const since = stored[200]![1];
    const recent = await outbox.list(1, { page: 1, perPage: 100, since });
    expect(recent.items.map((d) => d.id)).toEqual(
      stored
        .filter(([, at]) => at >= since)
        .map(([id]) => id)
        .reverse(),
    );
  });

  test('a page is read off the index, not sorted', async () => {
    const compiled: CompiledQuery[] = [];
    const capture: KyselyPlugin = {
      transformQuery(args) {
        compiled.push(conn.db.getExecutor().compileQuery(args.node, args.queryId));
        return args.node;
      },
      transformResult: async (args) => args.result,
    };
    await new OutboxStore(conn.db.withPlugin(capture), dialect).list(1, { page: 2, perPage: 50 });
    const page = compiled.find((c) => /order by/i.test(c.sql));
    expect(page).toBeDefined();
    if (dialect === 'sqlite') {
      const plan = await conn.db.executeQuery<{ detail: string }>(
        CompiledQuery.raw(`explain query plan ${page!.sql}`, [...page!.parameters]),
      );
      const details = plan.rows.map((r) => r.detail).join(' | ');
      expect(details).toMatch(/USING INDEX deliveries_log/);
      expect(details).not.toMatch(/TEMP B-TREE/);
      return;
    }
    // PostgreSQL would scan a table this small and sort it: told to avoid both, it reads the index
    // in its order when the index has it, and must still sort (a disabled plan) when it has not.
    const plan = await conn.db.connection().execute(async (c) => {
      await c.executeQuery(
        CompiledQuery.raw(
          "select set_config('enable_seqscan', 'off', false), set_config('enable_sort', 'off', false), set_config('enable_incremental_sort', 'off', false), set_config('enable_bitmapscan', 'off', false)",
        ),
      );
      try {
        return await c.executeQuery<{ 'QUERY PLAN': string }>(
          CompiledQuery.raw(`explain ${page!.sql}`, [...page!.parameters]),
        );
      } finally {
        await c.executeQuery(CompiledQuery.raw('reset all'));
      }
    });
    const details = plan.rows.map((r) => r['QUERY PLAN']).join(' | ');
    expect(details).toMatch(/Index Scan Backward using deliveries_log/);
    expect(details).not.toMatch(/Sort/);
  });
});
