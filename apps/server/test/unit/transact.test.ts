import { mkdtempSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { type Connection, connect } from '../../src/store/db.js';
import { freshDatabase, pgAdminUrl } from '../pg.js';

// The hot path's transactions (store/transact.ts): statements issued together go out together on
// PostgreSQL (a pipelined, corked connection), and must mean what they meant one by one: in order,
// each seeing the ones before; nothing after a failure takes effect; the failure reported is the
// statement's own. SQLite, or PostgreSQL in the suite's PostgreSQL pass.
const dialect = pgAdminUrl ? 'postgres' : 'sqlite';
describe(`the hot path's transactions on ${dialect}`, () => {
  let dir: string;
  let conn: Connection;
  let database: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  const p = (i: number) => (dialect === 'postgres' ? `$${i}` : '?');
  // As the hot path writes: on SQLite, a failure ends the transaction (outbox-sql.ts).
  const insert = `insert${dialect === 'sqlite' ? ' or rollback' : ''} into events (extension_id, event_type, call_id, data, received_at, key) values (1, 'hangup', null, '{}', 0, ${p(1)}) returning id`;
  const keys = async () =>
    (await conn.db.selectFrom('events').select('key').orderBy('id').execute()).map((r) => r.key);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'callhook-transact-'));
    database = pgAdminUrl ? await freshDatabase() : undefined;
    // One connection: a transaction that left it in a bad state would fail the next test.
    conn = await connect({ dataDir: dir, databaseUrl: database?.url ?? '', poolSize: 1 });
  });
  beforeEach(async () => {
    await conn.db.deleteFrom('events').execute();
  });
  afterAll(async () => {
    await conn.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('statements issued together run in order, each seeing the ones before, and commit', async () => {
    const seen = await conn.transact(async (tx) => {
      const a = tx.run(insert, ['a']);
      const count = tx.run<{ n: number | string }>('select count(*) as n from events', []);
      const b = tx.run(insert, ['b']);
      const [, [n]] = await Promise.all([a, count, b]);
      return Number(n!.n);
    });
    expect(seen).toBe(1);
    expect(await keys()).toEqual(['a', 'b']);
  });

  test('COMMIT sent with the last statements: resolved once committed', async () => {
    const ids = await conn.transact(async (tx) => {
      const a = tx.run<{ id: number }>(insert, ['a']);
      const b = tx.run<{ id: number }>(insert, ['b']);
      tx.commit();
      return (await Promise.all([a, b])).flat().map((r) => r.id);
    });
    expect(ids).toHaveLength(2);
    expect(await keys()).toEqual(['a', 'b']);
  });

  test('a failing statement: its own error, whichever the function awaited; nothing of the transaction kept', async () => {
    await conn.db.insertInto('events').values(eventRow('taken')).execute();
    const failure = conn.transact(async (tx) => {
      void tx.run(insert, ['a']);
      void tx.run(insert, ['taken']); // the unique key: fails
      const after = tx.run(insert, ['c']);
      tx.commit();
      // The function waits on the statement behind the failure only.
      return after;
    });
    const err = (await failure.catch((e: unknown) => e)) as { code?: string; message?: string };
    // PostgreSQL's unique violation, not 25P02 ("current transaction is aborted") of the statement
    // awaited; SQLite's constraint error, not a statement run outside the transaction.
    expect(err.code).toMatch(dialect === 'postgres' ? /^23505$/ : /^SQLITE_CONSTRAINT/);
    expect(await keys()).toEqual(['taken']);
    // The connection (the only one) is usable again.
    await conn.transact(async (tx) => tx.run(insert, ['d']));
    expect(await keys()).toEqual(['taken', 'd']);
  });

  test('a function that goes on after a failed statement is not told it committed', async () => {
    await conn.db.insertInto('events').values(eventRow('taken')).execute();
    const failure = conn.transact(async (tx) => {
      await tx.run(insert, ['a']);
      await tx.run(insert, ['taken']).catch(() => {});
      return 'done';
    });
    await expect(failure).rejects.toMatchObject({
      code: expect.stringMatching(dialect === 'postgres' ? /^23505$/ : /^SQLITE_CONSTRAINT/),
    });
    expect(await keys()).toEqual(['taken']);
  });

  test('a function that throws before COMMIT rolls back what it issued', async () => {
    const failure = conn.transact(async (tx) => {
      void tx.run(insert, ['a']);
      throw new Error('changed its mind');
    });
    await expect(failure).rejects.toThrow('changed its mind');
    expect(await keys()).toEqual([]);
  });

  test('a statement issued after the transaction failed never runs, alone or in the next transaction', async () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    let stray: unknown;
    const failure = conn.transact(async (tx) => {
      // One branch fails; the other goes on a moment later, after the transaction has ended.
      const goesOn = (async () => {
        await tx.run(insert, ['a']);
        await sleep(20);
        await tx.run(insert, ['stray']);
      })().catch((err: unknown) => {
        stray = err;
      });
      await Promise.all([tx.run(insert, ['b']), tx.run('select * from no_such_table', [])]);
      await goesOn;
    });
    await expect(failure).rejects.toThrow(/no_such_table/);
    // The next transaction on the one connection, while the stray statement would have gone out.
    await conn.transact(async (tx) => {
      await tx.run(insert, ['next']);
      await sleep(50);
    });
    await sleep(50);
    expect(stray).toBeInstanceOf(Error);
    expect(await keys()).toEqual(['next']);
  });

  test('statements still queued when the function throws never run (each count of statements, each moment)', async () => {
    let left = 0;
    for (let n = 1; n <= 6; n++) {
      for (let hops = 0; hops <= 40; hops++) {
        const issued: Array<Promise<unknown>> = [];
        await conn
          .transact(async (tx) => {
            for (let i = 0; i < n; i++) issued.push(tx.run(insert, [`k${i}`]));
            for (let i = 0; i < hops; i++) await null;
            throw new Error('changed its mind');
          })
          .catch(() => {});
        await Promise.allSettled(issued);
        left += (await keys()).length;
        await conn.db.deleteFrom('events').execute();
      }
    }
    expect(left).toBe(0);
  });

  test('a value the driver cannot send fails the transaction, COMMIT sent early or not', async () => {
    for (const early of [true, false]) {
      const failure = conn.transact(async (tx) => {
        const a = tx.run(insert, ['a']);
        const bad = tx.run(insert, [{ not: 'a value' }]);
        if (early) tx.commit();
        await Promise.all([a, bad]);
      });
      await expect(failure).rejects.toThrow();
      expect(await keys()).toEqual([]);
    }
  });

  test.runIf(dialect === 'postgres')(
    'PostgreSQL: a prepared text is parsed once per connection and named the same on each',
    async () => {
      const prepared = async () =>
        (
          await conn.db.executeQuery<{ statement: string }>(
            CompiledQuery.raw('select statement from pg_prepared_statements'),
          )
        ).rows.map((r) => r.statement);
      expect(await prepared()).not.toContain(insert);
      for (const key of ['a', 'b']) await conn.transact(async (tx) => tx.run(insert, [key], true));
      // The one connection holds it once, under its name, for both transactions.
      expect((await prepared()).filter((s) => s === insert)).toHaveLength(1);
      await conn.transact(async (tx) => tx.run('select 1', []));
      expect((await prepared()).filter((s) => s === 'select 1')).toHaveLength(0);
      expect(await keys()).toEqual(['a', 'b']);
      // CALLHOOK_DB_PREPARED=false (a pooler that does not keep them): none, on a connection of its own.
      const unprepared = await connect({
        dataDir: dir,
        databaseUrl: database!.url,
        poolSize: 1,
        prepared: false,
      });
      try {
        await unprepared.transact(async (tx) => tx.run(insert, ['c'], true));
        const held = await unprepared.db.executeQuery<{ n: string | number }>(
          CompiledQuery.raw('select count(*) as n from pg_prepared_statements'),
        );
        expect(Number(held.rows[0]!.n)).toBe(0);
      } finally {
        await unprepared.close();
      }
      expect(await keys()).toEqual(['a', 'b', 'c']);
    },
  );

  test.runIf(dialect === 'postgres')(
    'PostgreSQL: BEGIN, the statements issued together and COMMIT leave in one write',
    async () => {
      const writes = vi.spyOn(Socket.prototype, '_writev');
      const write = vi.spyOn(Socket.prototype, '_write');
      try {
        await conn.transact(async (tx) => {
          const all = [tx.run(insert, ['a']), tx.run(insert, ['b']), tx.run(insert, ['c'])];
          tx.commit();
          await Promise.all(all);
        });
        expect(writes.mock.calls.length + write.mock.calls.length).toBe(1);
        expect(await keys()).toEqual(['a', 'b', 'c']);
        writes.mockClear();
        write.mockClear();
        // Two steps, the second needing the first's rows: two writes.
        await conn.transact(async (tx) => {
          const [row] = await tx.run<{ id: number }>(insert, ['d']);
          await tx.run('delete from events where id = $1', [row!.id]);
        });
        expect(writes.mock.calls.length + write.mock.calls.length).toBe(3);
      } finally {
        writes.mockRestore();
        write.mockRestore();
      }
    },
  );
});

function eventRow(key: string) {
  return { extension_id: 1, event_type: 'hangup' as const, call_id: null, data: '{}', received_at: 0, key };
}
