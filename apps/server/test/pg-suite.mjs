#!/usr/bin/env node
// The whole server suite again, on PostgreSQL: every test server gets its own fresh database on
// the server named by CALLHOOK_TEST_DATABASE_URL (an admin URL; default the local one CI starts).
// Where no PostgreSQL answers, this says so loudly and passes: SQLite has been tested already.
// In CI (CI=true) it fails instead: .ci/run starts PostgreSQL, so its absence is a broken run.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const url = process.env.CALLHOOK_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const shown = (() => {
  const u = new URL(url);
  u.password = '';
  return u.toString();
})();

let reason = '';
const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
try {
  await client.connect();
  await client.query('select 1');
} catch (err) {
  reason = err instanceof Error ? err.message : String(err);
} finally {
  await client.end().catch(() => {});
}

if (reason && process.env.CI === 'true') {
  console.error(
    `\n*** FAILED: PostgreSQL tests cannot run in CI (no server at ${shown}: ${reason}); .ci/run starts it ***\n`,
  );
  process.exit(1);
}
if (reason) {
  const line = `*** SKIPPED: PostgreSQL tests (no server at ${shown}: ${reason}) ***`;
  const bar = '*'.repeat(Math.min(line.length, 100));
  console.log(`\n${bar}\n${line}\n${bar}\n`);
  process.exit(0);
}

console.log(`\n=== The server suite on PostgreSQL (${shown}, a fresh database per test server) ===\n`);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vitest = spawn(
  process.execPath,
  [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, CALLHOOK_TEST_DATABASE_URL: url },
  },
);
vitest.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
