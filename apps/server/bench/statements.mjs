#!/usr/bin/env node
// node bench/statements.mjs (after a build): the memory SQLite's prepared statements hold when
// intake batches come in every size from 1 to 500 rows (18 columns), each in a fresh process with
// the server's statement cache (one prepared statement per SQL text, store/db.ts):
//   per size   one multi-row insert text per batch size (the outbox before statement shapes)
//   shaped     the outbox's shapedChunks: a multiple of 16 rows (up to 256), then the remainder
// Prints the RSS growth of each and one JSON line.
import { execFileSync } from 'node:child_process';

if (process.argv[2] === 'child') {
  const { default: SQLite } = await import('better-sqlite3');
  const { shapedChunks } = await import('../dist/store/outbox-sql.js');
  const db = new SQLite(':memory:');
  db.exec(`create table t (${Array.from({ length: 18 }, (_, i) => `c${i} text`).join(', ')})`);
  const statements = new Map();
  const prepare = (text) => statements.get(text) ?? statements.set(text, db.prepare(text)).get(text);
  const insert = (rows) =>
    `insert into t values ${Array.from({ length: rows }, () => `(${Array(18).fill('?').join(', ')})`).join(', ')}`;
  const before = process.memoryUsage().rss;
  for (let batch = 1; batch <= 500; batch++) {
    const rows = Array.from({ length: batch }, () => Array(18).fill('x'));
    const chunks = process.argv[3] === 'shaped' ? shapedChunks(rows, 256) : [rows];
    for (const chunk of chunks) prepare(insert(chunk.length)).run(...chunk.flat());
  }
  globalThis.gc?.();
  console.log(
    JSON.stringify({ mb: (process.memoryUsage().rss - before) / 2 ** 20, statements: statements.size }),
  );
} else {
  const run = (mode) =>
    JSON.parse(
      execFileSync(process.execPath, [
        '--expose-gc',
        new URL(import.meta.url).pathname,
        'child',
        mode,
      ]).toString(),
    );
  const perSize = run('per-size');
  const shaped = run('shaped');
  console.log('SQLite prepared statements for intake batches of every size 1..500, 18 columns:');
  console.log(
    `  one insert text per batch size   ${perSize.statements} statements  RSS +${perSize.mb.toFixed(0)} MB`,
  );
  console.log(
    `  shaped (16k rows + remainder)     ${shaped.statements} statements  RSS +${shaped.mb.toFixed(0)} MB`,
  );
  console.log(
    JSON.stringify({
      bench: 'statements',
      per_size_mb: Math.round(perSize.mb),
      per_size_statements: perSize.statements,
      shaped_mb: Math.round(shaped.mb),
      shaped_statements: shaped.statements,
    }),
  );
}
