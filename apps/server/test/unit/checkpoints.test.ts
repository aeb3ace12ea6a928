import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ConnectionGate, checkpointInBackground } from '../../src/store/checkpoints.js';
import { type Connection, type ConnectOptions, connect } from '../../src/store/db.js';
import { skipOrFail } from '../prereq.js';

/** The other process of one test below is Python's sqlite3: .ci/run installs python3, the README's Node and npm do not. */
const withoutPython = skipOrFail(
  'the test of another process opening the database',
  (() => {
    try {
      execFileSync('python3', ['-c', 'import sqlite3'], { stdio: 'ignore' });
      return undefined;
    } catch {
      return 'needs python3 with its sqlite3 module (apt-get install python3)';
    }
  })(),
);

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
    // Started over all along: 17-34 times in the second half here. Before, a few times at most
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

  test('the last copy waits for the transaction under way, holds the next write, and the WAL starts over', async () => {
    // A long checkpoint interval: the thread stays out of it, the test asks for the hold itself.
    const holds: number[] = [];
    conn = await open({ checkpointMs: 60_000, onWalHold: (ms) => holds.push(ms) });
    const c = conn;
    const file = c.location;
    const worker = c.checkpoints!.worker;
    const post = worker.postMessage.bind(worker);
    const copies: Array<{ log: number; checkpointed: number }> = [];
    worker.postMessage = (message: unknown) => {
      if (typeof message === 'object' && message !== null && 'copied' in message)
        copies.push((message as { copied: { log: number; checkpointed: number } }).copied);
      post(message);
    };
    await writeWithoutPause(c, 50);
    const before = restarts(file);
    const order: string[] = [];
    let committed = false;
    // A transaction that is inside when the hold begins, and stays for 300 ms between two writes.
    const inside = c.transact(async (tx) => {
      await tx.run(
        'insert into events (extension_id, event_type, call_id, data, received_at) values (?, ?, ?, ?, ?)',
        [175, 'hangup', 'inside-1', 'x', 1],
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      await tx.run(
        'insert into events (extension_id, event_type, call_id, data, received_at) values (?, ?, ?, ?, ?)',
        [175, 'hangup', 'inside-2', 'x', 2],
      );
      committed = true;
      order.push('commit');
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    // What the thread sends once the WAL is past walRestartPages.
    worker.emit('message', 'long');
    await new Promise((resolve) => setImmediate(resolve));
    // A write that comes during the hold goes once the copy is made.
    const held = writeWithoutPause(c, 1, 1000).then(() => order.push('held write'));
    await inside;
    await held;
    expect(order).toEqual(['commit', 'held write']);
    expect(committed).toBe(true);
    // One hold, told: from the ask to the copy after the commit, most of the transaction's 300 ms.
    expect(holds).toHaveLength(1);
    expect(holds[0]).toBeGreaterThan(200);
    // One copy, made between the transactions: all of the WAL, the open transaction's frames too.
    expect(copies).toHaveLength(1);
    expect(copies[0]!.log).toBeGreaterThan(0);
    expect(copies[0]!.checkpointed).toBe(copies[0]!.log);
    // The held write began with every frame copied: it started the WAL over.
    expect(restarts(file)).toBe(before + 1);
    const [row] = (
      await sql<{ n: number }>`select count(*) as n from events where call_id like 'inside-%'`.execute(c.db)
    ).rows;
    expect(row?.n).toBe(2);
  });

  test.skipIf(withoutPython)(
    'another process that opens and closes the database meanwhile leaves the WAL and every commit',
    async () => {
      // The thread flushes the database file before each hold. Closing a descriptor of the file in
      // this process would drop the shared lock SQLite holds on it here, and the other process's
      // close would take itself for the last user: checkpoint, and delete the WAL under these
      // commits. Python's sqlite3 is that other process (an operator's shell would do the same).
      // Checkpoints far apart: the other process's own checkpoint, at its close, must not meet one
      // of the thread's (it would give up, busy, and leave the WAL whatever the locks).
      conn = await open({ checkpointMs: 300, walRestartPages: 64 });
      const c = conn;
      const file = c.location;
      let asks = 0;
      c.checkpoints!.worker.on('message', (message) => {
        if (message === 'long') asks++;
      });
      let written = await writeWithoutPause(c, 200);
      // Flushed (and held) at least once.
      await expect.poll(() => asks, { timeout: 5000 }).toBeGreaterThan(0);
      const count = () =>
        Number(
          execFileSync('python3', [
            '-c',
            'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); print(c.execute("select count(*) from events").fetchone()[0]); c.close()',
            file,
          ]).toString(),
        );
      expect(count()).toBe(written);
      expect(existsSync(`${file}-wal`)).toBe(true);
      written += await writeWithoutPause(c, 100, 200);
      expect(count()).toBe(written);
      await c.close();
      conn = undefined;
      // Every commit is in the file, read afresh as after a restart.
      expect(count()).toBe(written);
    },
  );

  test('a last copy that fails hands checkpoints back to the commits, ends the thread and lets the users go', async () => {
    const file = join(dir, 'failing.db');
    const sqlite = new SQLite(file);
    sqlite.pragma('journal_mode = WAL');
    const gate = new ConnectionGate();
    const failures: unknown[] = [];
    let checkpoints: ReturnType<typeof checkpointInBackground> | undefined;
    try {
      const started = checkpointInBackground(sqlite, file, 60_000, (err) => failures.push(err), gate);
      checkpoints = started;
      // The connection's own checkpoint fails (an I/O error, say); its other pragmas work.
      const pragma = sqlite.pragma.bind(sqlite);
      sqlite.pragma = ((source: string, options?: SQLite.PragmaOptions) => {
        if (source.startsWith('wal_checkpoint')) throw new Error('disk I/O error');
        return pragma(source, options);
      }) as typeof sqlite.pragma;
      const exited = new Promise((resolve) => started.worker.once('exit', resolve));
      started.worker.emit('message', 'long');
      await expect.poll(() => failures.length).toBe(1);
      expect((failures[0] as Error).message).toBe('disk I/O error');
      expect(pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
      await exited;
      // Open again: a user enters at once.
      expect(gate.enter()).toBeUndefined();
      gate.leave();
    } finally {
      await checkpoints?.worker.terminate();
      sqlite.close();
    }
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
