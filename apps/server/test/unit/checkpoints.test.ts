import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { type Connection, connect } from '../../src/store/db.js';

// SQLite checkpoints its WAL inside the commit that fills it; the server has a background thread
// do it instead (CALLHOOK_SQLITE_CHECKPOINT_MS), so no commit on the event loop copies pages into
// the database file and syncs it.
describe('SQLite WAL checkpoints in the background', () => {
  let dir: string;
  let conn: Connection | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'callhook-checkpoints-'));
  });
  afterEach(async () => {
    await conn?.close();
    conn = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const autocheckpoint = async (c: Connection) =>
    (await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(c.db)).rows[0]
      ?.wal_autocheckpoint;
  // About 6 MB committed in many transactions, as an intake does.
  const write = async (c: Connection) => {
    const blob = 'x'.repeat(2000);
    for (let i = 0; i < 60; i++) {
      const rows = Array.from({ length: 50 }, (_, k) => ({
        extension_id: 175,
        event_type: 'hangup' as const,
        call_id: `C${i}.${k}`,
        data: blob,
        received_at: i,
      }));
      await c.db.insertInto('events').values(rows).execute();
    }
  };
  const size = (file: string) => statSync(file).size;

  test('the commits never checkpoint, and the thread copies the WAL into the file', async () => {
    conn = await connect({ dataDir: dir, databaseUrl: '', poolSize: 1, checkpointMs: 50 });
    expect(await autocheckpoint(conn)).toBe(0);
    const file = conn.location;
    const before = size(file);
    await write(conn);
    // The pages are in the WAL; the thread's next checkpoints copy them into the database file.
    await expect.poll(() => size(file) - before, { timeout: 5000 }).toBeGreaterThan(5_000_000);
    expect(size(`${file}-wal`)).toBeGreaterThan(0);
  });

  test('without the thread the WAL is checkpointed by the commits, as SQLite does', async () => {
    conn = await connect({ dataDir: dir, databaseUrl: '', poolSize: 1 });
    expect(await autocheckpoint(conn)).toBe(1000);
    expect(conn.checkpoints).toBeUndefined();
  });

  test('should the thread die, the commits checkpoint again and the failure is told', async () => {
    const failures: unknown[] = [];
    conn = await connect({
      dataDir: dir,
      databaseUrl: '',
      poolSize: 1,
      checkpointMs: 50,
      onCheckpointFailure: (err) => failures.push(err),
    });
    await conn.checkpoints!.worker.terminate();
    await expect.poll(() => failures.length).toBe(1);
    expect(await autocheckpoint(conn)).toBe(1000);
    const file = conn.location;
    const before = size(file);
    await write(conn);
    expect(size(file) - before).toBeGreaterThan(1_000_000);
  });
});
