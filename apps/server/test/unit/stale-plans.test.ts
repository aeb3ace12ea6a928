import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Connection, connect } from '../../src/store/db.js';
import { OutboxStore } from '../../src/store/index.js';
import { freshDatabase, pgAdminUrl } from '../pg.js';
import { claimedDelivery } from './delivery-rows.js';

// PostgreSQL keeps a generic plan for a prepared statement after its first five runs on a
// connection, until the table's statistics change (never, with autovacuum off). Recording results
// joins them to `deliveries`: a plan made while the table was nearly empty scanned it whole, and
// the connection kept it as the table grew (OutboxSql.indexedResults). PostgreSQL 15 or later
// (pg_stat_force_next_flush), in the suite's PostgreSQL pass.
// Also with every statement unnamed (CALLHOOK_DB_PREPARED=false, behind a pooler): planned on each
// run, without the settings' statement.
describe.runIf(pgAdminUrl).each([
  { prepared: true, how: 'prepared' },
  { prepared: false, how: 'unnamed' },
])('recording results on PostgreSQL once the table has grown, statements $how', ({ prepared }) => {
  let dir: string;
  let conn: Connection;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let store: OutboxStore;
  const owner = 'dispatcher-test';
  let made = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'callhook-plans-'));
    database = await freshDatabase();
    // One connection: every completion runs on the connection that made the plans.
    conn = await connect({ dataDir: dir, databaseUrl: database.url, poolSize: 1, prepared });
    store = new OutboxStore(conn.db, conn.dialect, conn.transact);
  });
  afterAll(async () => {
    await conn.close();
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `n` pending deliveries leased to `owner`, as the intake stores them; their seqs. */
  async function leased(n: number): Promise<number[]> {
    const rows = Array.from({ length: n }, () => {
      made++;
      return {
        id: `msg_${made}`,
        subscription_id: 1,
        event_id: made,
        client_id: 1,
        extension_id: 175,
        event_type: 'hangup' as const,
        call_id: `c${made}`,
        order_key: null,
        status: 'pending' as const,
        attempts: 0,
        next_attempt_at: 0,
        lease_until: 0,
        lease_owner: owner,
        created_at: 0,
        payload: 'EventType=hangup',
      };
    });
    const stored = await conn.db.insertInto('deliveries').values(rows).returning('seq').execute();
    return stored.map((r) => Number(r.seq));
  }

  function complete(seqs: readonly number[], statusCode: number | null = 200): Promise<void> {
    return store.complete(
      owner,
      seqs.map((seq) => ({
        delivery: claimedDelivery('http://receiver.test/hook', 'whsec_x', { seq, id: `msg_${seq}` }),
        result: {
          kind: statusCode === 200 ? ('succeeded' as const) : ('retry' as const),
          nextAttemptAt: 5000,
          attempt: {
            attemptedAt: 1000 + seq,
            outcome: statusCode === 200 ? ('success' as const) : ('connection_error' as const),
            statusCode,
            latencyMs: 1,
            error: statusCode === 200 ? null : 'connection refused',
            responseBody: statusCode === 200 ? 'ok' : null,
          },
        },
      })),
    );
  }

  /**
   * How many times `deliveries` was scanned whole, and how many of its rows were read by scans and
   * through indexes, this connection's counted.
   */
  async function reads(): Promise<{ wholeScans: number; rows: number }> {
    // This backend's counts reach the statistics once it is idle after this statement.
    await sql`select pg_stat_force_next_flush()`.execute(conn.db);
    const r = await sql<{
      scans: string | number;
      rows: string | number;
    }>`select seq_scan as scans, seq_tup_read + coalesce(idx_tup_fetch, 0) as rows
      from pg_stat_user_tables where relname = 'deliveries'`.execute(conn.db);
    return { wholeScans: Number(r.rows[0]!.scans), rows: Number(r.rows[0]!.rows) };
  }

  test('completions after the table grew read it by its primary key, with the plans made while it was nearly empty', async () => {
    // PostgreSQL 15 counts a backend's reads when told to (pg_stat_force_next_flush).
    const version = await sql<{ v: string }>`select current_setting('server_version_num') as v`.execute(
      conn.db,
    );
    expect(Number(version.rows[0]!.v), 'this test needs PostgreSQL 15 or later').toBeGreaterThanOrEqual(
      150000,
    );
    // No ANALYZE while the test runs (autovacuum's would make the plans again, on the grown table).
    await sql`alter table deliveries set (autovacuum_enabled = off)`.execute(conn.db);
    // A new install: its first completions, each one's first five plans and the one kept.
    for (let i = 0; i < 8; i++) await complete(await leased(16));
    // The table grows: months of deliveries, or a backlog queued while a receiver was down.
    await sql`insert into deliveries (id, subscription_id, event_id, client_id, extension_id, event_type, status, attempts,
        next_attempt_at, created_at, payload)
      select 'msg_grown_' || g, 1, g, 1, 175, 'hangup', 'succeeded', 1, 0, 0, 'EventType=hangup'
      from generate_series(1, 20000) as g`.execute(conn.db);
    const before = await reads();
    const done: number[] = [];
    const retried: number[] = [];
    for (let i = 0; i < 5; i++) {
      const seqs = await leased(16);
      // One batch in five as retries, with no status code: nulls in the arrays' columns.
      if (i === 2) retried.push(...seqs);
      else done.push(...seqs);
      await complete(seqs, i === 2 ? null : 200);
    }
    const after = await reads();
    expect(after.wholeScans).toBe(before.wholeScans);
    // Nor the whole table through an index: the 80 rows recorded, and little more.
    expect(after.rows - before.rows).toBeLessThan(1000);

    // And each result was recorded on its own delivery, the lease given back.
    const rows = await conn.db
      .selectFrom('deliveries')
      .select([
        'seq',
        'status',
        'attempts',
        'lease_owner',
        'next_attempt_at',
        'last_attempt_at',
        'last_status_code',
      ])
      .where('seq', 'in', [...done, ...retried])
      .orderBy('seq')
      .execute();
    expect(rows).toHaveLength(80);
    for (const r of rows) {
      const retry = retried.includes(Number(r.seq));
      expect(r).toMatchObject({
        status: retry ? 'retrying' : 'succeeded',
        attempts: 1,
        lease_owner: null,
        next_attempt_at: retry ? 5000 : 0,
        last_attempt_at: 1000 + Number(r.seq),
        last_status_code: retry ? null : 200,
      });
    }
  });

  test('a result whose lease went to another owner is not recorded', async () => {
    const [mine, theirs] = await leased(2);
    await conn.db
      .updateTable('deliveries')
      .set({ lease_owner: 'another' })
      .where('seq', '=', theirs!)
      .execute();
    await complete([mine!, theirs!]);
    const rows = await conn.db
      .selectFrom('deliveries')
      .select(['seq', 'status', 'lease_owner'])
      .where('seq', 'in', [mine!, theirs!])
      .orderBy('seq')
      .execute();
    expect(rows).toEqual([
      { seq: mine, status: 'succeeded', lease_owner: null },
      { seq: theirs, status: 'pending', lease_owner: 'another' },
    ]);
  });
});
