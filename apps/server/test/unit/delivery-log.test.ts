import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery, type KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Connection, connect } from '../../src/store/db.js';
import { OutboxStore } from '../../src/store/outbox.js';
import { OutboxSql, run } from '../../src/store/outbox-sql.js';
import { deliveryValues } from './delivery-rows.js';

// A subscription's delivery log (GET .../event/{id}/deliveries): newest first, paged by position.
// On SQLite a page is read off the index deliveries_log as it stands; sorted by seq alone, SQLite
// sorted the subscription's whole log for every page (1.2 s for the first of a million,
// bench/log-pages.mjs).
describe("a subscription's delivery log on SQLite", () => {
  let dir: string;
  let conn: Connection;
  const q = new OutboxSql('sqlite');
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
    conn = await connect({ dataDir: dir, databaseUrl: '', poolSize: 1 });
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
    rmSync(dir, { recursive: true, force: true });
  });

  test('pages follow each other newest first, each delivery once, with the total', async () => {
    const outbox = new OutboxStore(conn.db, 'sqlite');
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
    await new OutboxStore(conn.db.withPlugin(capture), 'sqlite').list(1, { page: 2, perPage: 50 });
    const page = compiled.find((c) => /order by/i.test(c.sql));
    expect(page).toBeDefined();
    const plan = await conn.db.executeQuery<{ detail: string }>(
      CompiledQuery.raw(`explain query plan ${page!.sql}`, [...page!.parameters]),
    );
    const details = plan.rows.map((r) => r.detail).join(' | ');
    expect(details).toMatch(/USING INDEX deliveries_log/);
    expect(details).not.toMatch(/TEMP B-TREE/);
  });
});
