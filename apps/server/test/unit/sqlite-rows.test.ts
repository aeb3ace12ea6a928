import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Connection, connect } from '../../src/store/db.js';

// The store reads SQLite rows as arrays and builds each object with a literal compiled for the
// statement (db.ts, withRowsBuiltInJs). These hold it to better-sqlite3's own objects.
describe('SQLite rows built in JavaScript', () => {
  let dir: string;
  let conn: Connection;
  let plain: SQLite.Database;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'callhook-rows-'));
    conn = await connect({ dataDir: dir, databaseUrl: '', poolSize: 1 });
    plain = new SQLite(':memory:');
  });
  afterAll(async () => {
    plain.close();
    await conn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ours = async (text: string) => (await sql.raw<Record<string, unknown>>(text).execute(conn.db)).rows;
  const theirs = (text: string) => plain.prepare(text).all() as Record<string, unknown>[];

  test.each([
    ['every column type, in column order', `select 1 as n, 1.5 as r, 'é "x"' as t, x'00ff' as b, null as z`],
    ['two columns of one name: the last wins', 'select 1 as a, 2 as b, 3 as a'],
    [
      'names a literal would take otherwise',
      `select 1 as "constructor", 2 as "toString", 3 as "a""b", 4 as "\\u2028"`,
    ],
    // better-sqlite3 sets it as a plain assignment would, which drops it; the prototype stays.
    ['a column named __proto__', 'select 1 as "__proto__", 2 as b'],
    ['no rows', 'select 1 as a where 0'],
    ['several rows', 'select value as v, value * 2 as w from json_each(json_array(1, 2, 3))'],
  ])('%s', async (_name, text) => {
    const rows = await ours(text);
    expect(rows).toEqual(theirs(text));
    for (const [i, row] of rows.entries()) {
      expect(Object.keys(row)).toEqual(Object.keys(theirs(text)[i]!));
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    }
  });

  test('a statement run again reads its new rows (the cached statement stays in array mode)', async () => {
    await sql`create table if not exists t (k integer primary key, v text)`.execute(conn.db);
    await sql`insert into t (v) values ('one')`.execute(conn.db);
    const first = await sql<{ k: number; v: string }>`select k, v from t order by k`.execute(conn.db);
    await sql`insert into t (v) values ('two')`.execute(conn.db);
    const second = await sql<{ k: number; v: string }>`select k, v from t order by k`.execute(conn.db);
    expect(first.rows).toEqual([{ k: 1, v: 'one' }]);
    expect(second.rows).toEqual([
      { k: 1, v: 'one' },
      { k: 2, v: 'two' },
    ]);
    const returned = await sql<{ k: number }>`insert into t (v) values ('three') returning k`.execute(
      conn.db,
    );
    expect(returned.rows).toEqual([{ k: 3 }]);
    // Kysely streams with the statement's iterate.
    const streamed: unknown[] = [];
    const db = conn.db as unknown as Kysely<{ t: { k: number; v: string } }>;
    for await (const row of db.selectFrom('t').select(['k', 'v']).orderBy('k').stream()) streamed.push(row);
    expect(streamed).toEqual([
      { k: 1, v: 'one' },
      { k: 2, v: 'two' },
      { k: 3, v: 'three' },
    ]);
  });
});
