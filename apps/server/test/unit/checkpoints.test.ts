import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { type Connection, type ConnectOptions, connect } from '../../src/store/db.js';

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

  /** A connection to a fresh SQLite file in `dir`, with these options. */
  const open = (options: Partial<ConnectOptions>) =>
    connect({ dataDir: dir, databaseUrl: '', poolSize: 1, ...options });
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
    conn = await open({ checkpointMs: 50 });
    expect(await autocheckpoint(conn)).toBe(0);
    const file = conn.location;
    const before = size(file);
    await write(conn);
    // The pages are in the WAL; the thread's next checkpoints copy them into the database file.
    await expect.poll(() => size(file) - before, { timeout: 5000 }).toBeGreaterThan(5_000_000);
    expect(size(`${file}-wal`)).toBeGreaterThan(0);
  });

  /** The WAL header's checkpoint sequence number: SQLite adds one each time the WAL starts over. */
  const restarts = (file: string) => {
    const header = Buffer.alloc(16);
    const fd = openSync(`${file}-wal`, 'r');
    try {
      return readSync(fd, header, 0, 16, 0) === 16 ? header.readUInt32BE(12) : 0;
    } finally {
      closeSync(fd);
    }
  };
  /** Transactions of 12 KB, one after the other with no pause (each in a turn of its own). */
  const writeWithoutPause = async (c: Connection, transactions: number, from = 0) => {
    const blob = 'x'.repeat(1000);
    for (let i = from; i < from + transactions; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      await c.transact(async (tx) => {
        const params: unknown[] = [];
        for (let k = 0; k < 12; k++) params.push(175, 'hangup', `C${i}.${k}`, blob, i, null);
        await tx.run(
          `insert into events (extension_id, event_type, call_id, data, received_at, key) values ${Array.from({ length: 12 }, () => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
          params,
        );
      });
    }
    return 12 * transactions;
  };

  test('writes that never pause still let the WAL start over, so it stays small', async () => {
    // A checkpoint copies what was committed when it began; a WAL starts over only when a write
    // begins with every frame copied. Commits that follow each other closer than a checkpoint
    // takes (every few ms at full rate) never leave that moment, and the WAL grew without end:
    // 344 MB in the 35 s of one bench:delivery run. The thread now asks the connection to hold
    // its users for the last, short checkpoint once the WAL passes walRestartPages.
    conn = await open({
      checkpointMs: 5,
      walRestartPages: 256,
    });
    const c = conn;
    const file = c.location;
    await writeWithoutPause(c, 1);
    // About 96 MB, as the hot path's transactions come at full rate.
    let written = 12 + (await writeWithoutPause(c, 4000, 1));
    const middle = restarts(file);
    written += await writeWithoutPause(c, 4000, 4001);
    const [row] = (await sql<{ n: number }>`select count(*) as n from events`.execute(c.db)).rows;
    expect(row?.n).toBe(written);
    // Started over all along: about 60 times in the second half here. Before, a few times at most
    // while the WAL was still short, then never again (0 or 1 in the second half).
    expect(restarts(file) - middle).toBeGreaterThanOrEqual(3);
    // The file is as long as the WAL got between two restarts: 256 pages of 4 KiB and what was
    // written while the checkpoints ran (6.5 MB here, writing faster than any intake). It took
    // 250-310 MB before.
    expect(size(`${file}-wal`)).toBeLessThan(100_000_000);
  });

  test('a WAL that no write made longer since its last copy is not held for again', async () => {
    conn = await open({
      checkpointMs: 5,
      walRestartPages: 64,
    });
    const c = conn;
    let asks = 0;
    c.checkpoints!.worker.on('message', (message) => {
      if (message === 'long') asks++;
    });
    // A burst past the mark, then nothing: the last copy leaves the WAL long until the next
    // write starts it over. Before, the thread asked for a hold at every turn (every 5 ms here).
    await writeWithoutPause(c, 200);
    await expect.poll(() => asks, { timeout: 5000 }).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const settled = asks;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(asks - settled).toBe(0);
  });

  test('a last checkpoint that never answers holds the writes no longer than walHoldMs', async () => {
    conn = await open({
      checkpointMs: 1,
      walRestartPages: 16,
      walHoldMs: 200,
    });
    const c = conn;
    // The ask for the last checkpoint is lost (a stalled disk would look the same): no answer.
    const worker = c.checkpoints!.worker;
    const post = worker.postMessage.bind(worker);
    let lost = 0;
    worker.postMessage = (message: unknown) => {
      if (typeof message === 'object' && message !== null && 'copy' in message) lost++;
      else post(message);
    };
    let longest = 0;
    let i = 0;
    for (; lost === 0 && i < 20_000; i++) {
      const started = performance.now();
      await writeWithoutPause(c, 1, i);
      longest = Math.max(longest, performance.now() - started);
    }
    // Then on: the asks back off (5 s), so the writes go on unheld.
    for (const end = i + 100; i < end; i++) {
      const started = performance.now();
      await writeWithoutPause(c, 1, i);
      longest = Math.max(longest, performance.now() - started);
    }
    expect(lost).toBe(1);
    const [row] = (await sql<{ n: number }>`select count(*) as n from events`.execute(c.db)).rows;
    expect(row?.n).toBe(12 * i);
    // The one hold ended at 200 ms; with nothing to end it, the writes waited forever.
    expect(longest).toBeGreaterThanOrEqual(150);
    expect(longest).toBeLessThan(1000);
  });

  test('writes held for a last checkpoint go on should the thread die meanwhile', async () => {
    const failures: unknown[] = [];
    conn = await open({
      checkpointMs: 1,
      walRestartPages: 16,
      // Holds that would wait 5 s for an answer, were the thread's end not to let them go.
      walHoldMs: 5000,
      onCheckpointFailure: (err) => failures.push(err),
    });
    const c = conn;
    // The thread ends instead of getting the ask for its last checkpoint, with the writes held.
    const worker = c.checkpoints!.worker;
    const post = worker.postMessage.bind(worker);
    let ended = false;
    worker.postMessage = (message: unknown) => {
      if (typeof message !== 'object' || message === null || !('copy' in message)) post(message);
      else {
        ended = true;
        void worker.terminate();
      }
    };
    const blob = 'x'.repeat(1000);
    let longest = 0;
    // Until 100 writes after the thread's end (the thread takes a while to start).
    let i = 0;
    for (let after = 0; after < 100 && i < 20_000; i++) {
      if (ended) after++;
      await new Promise((resolve) => setImmediate(resolve));
      const started = performance.now();
      await c.transact((tx) =>
        tx.run(
          'insert into events (extension_id, event_type, call_id, data, received_at) values (?, ?, ?, ?, ?)',
          [175, 'hangup', `C${i}`, blob, i],
        ),
      );
      longest = Math.max(longest, performance.now() - started);
    }
    await expect.poll(() => failures.length).toBe(1);
    expect(ended).toBe(true);
    const [row] = (await sql<{ n: number }>`select count(*) as n from events`.execute(c.db)).rows;
    expect(row?.n).toBe(i);
    // Not the 5 s a hold could wait for an answer: the thread's end let the writes go.
    expect(longest).toBeLessThan(1000);
  });

  test('without the thread the WAL is checkpointed by the commits, as SQLite does', async () => {
    conn = await open({});
    expect(await autocheckpoint(conn)).toBe(1000);
    expect(conn.checkpoints).toBeUndefined();
  });

  test('should the thread die, the commits checkpoint again and the failure is told', async () => {
    const failures: unknown[] = [];
    conn = await open({
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
