import type { Kysely } from 'kysely';
import { connect } from '../src/store/db.js';
import type { Database } from '../src/store/schema.js';

/**
 * Opens a second connection to a running server's store (the same SQLite file or PostgreSQL
 * database) to change rows behind the API's back, as an operator's SQL or a bug would.
 */
export async function withStore<T>(
  server: { config: { dataDir: string; databaseUrl: string } },
  fn: (db: Kysely<Database>) => Promise<T>,
): Promise<T> {
  const conn = await connect({
    dataDir: server.config.dataDir,
    databaseUrl: server.config.databaseUrl,
    poolSize: 2,
  });
  try {
    return await fn(conn.db);
  } finally {
    await conn.close();
  }
}

/** Polls `what` until `ok` holds (or fails after `ms`, showing the last value). */
export async function until<T>(what: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting; last value ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
