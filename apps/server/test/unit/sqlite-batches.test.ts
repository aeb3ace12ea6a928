import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Connection, connect } from '../../src/store/db.js';
import { OutboxSql, run } from '../../src/store/outbox-sql.js';
import { deliveryValues } from './delivery-rows.js';

// The batched writes run as `insert or rollback` / `update or rollback` on SQLite (outbox-sql.ts):
// a conflict ends the whole transaction inside SQLite. These hold the store to what it did before:
// the error that says what went wrong reaches the caller, nothing of the transaction stays, and the
// connection goes on working.
describe('SQLite batched writes that hit a constraint', () => {
  let dir: string;
  let conn: Connection;
  const q = new OutboxSql('sqlite');
  const delivery = (id: string) => deliveryValues({ id });
  const count = async () =>
    Number((await sql<{ n: number }>`select count(*) as n from deliveries`.execute(conn.db)).rows[0]!.n);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'callhook-batches-'));
    conn = await connect({ dataDir: dir, databaseUrl: '', poolSize: 1 });
  });
  afterAll(async () => {
    await conn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the statements say so, on SQLite only', () => {
    expect(q.insertDeliveries(16)).toMatch(/^insert or rollback into deliveries/);
    expect(q.recordResults(1)).toMatch(/^update or rollback deliveries/);
    expect(new OutboxSql('postgres').insertDeliveries(16)).toMatch(/^insert into deliveries/);
  });

  test("a duplicate id: the constraint's error, nothing stored, the connection still works", async () => {
    const transaction = conn.db.transaction().execute(async (trx) => {
      await run(trx, q.insertDeliveries(1), delivery('msg_first'));
      await run(trx, q.insertDeliveries(2), [...delivery('msg_twice'), ...delivery('msg_twice')]);
    });
    await expect(transaction).rejects.toThrow(/UNIQUE constraint failed: deliveries\.id/);
    expect(await count()).toBe(0);
    await conn.db.transaction().execute(async (trx) => {
      await run(trx, q.insertDeliveries(1), delivery('msg_after'));
    });
    expect(await count()).toBe(1);
  });

  test('an error of our own inside a transaction still rolls it back', async () => {
    const before = await count();
    const transaction = conn.db.transaction().execute(async (trx) => {
      await run(trx, q.insertDeliveries(1), delivery('msg_kept_out'));
      throw new Error('changed our mind');
    });
    await expect(transaction).rejects.toThrow('changed our mind');
    expect(await count()).toBe(before);
  });
});
