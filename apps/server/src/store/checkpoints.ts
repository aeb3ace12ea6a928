import { fstatSync, openSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';
import { THREAD_NAMES } from '../thread-name.js';

/**
 * The background checkpointer: its own connection to the file, a PASSIVE checkpoint every
 * `everyMs` (it copies what was committed to the WAL into the database file, never waits for
 * the writer, never blocks it). Plain CommonJS run with `eval`, so it needs no built file of its
 * own and runs the same from the sources (tests) and from `dist`.
 *
 * A checkpoint copies what was committed when it began, and the WAL starts over from its
 * beginning only when a write begins with every frame copied. Writes that follow each other
 * closer than a checkpoint takes never leave that moment: the WAL grew by every commit for as
 * long as the writes went on (344 MB in one bench:delivery run of 35 s; each commit then extended
 * the file). So once the WAL holds `restartPages` frames, the thread copies again what came
 * meanwhile, flushes both files to disk, and asks the connection (`long`) to hold its users for a
 * last copy, which the connection makes itself (see `checkpointInBackground`). It is told what
 * that copy left (`copied`).
 *
 * The flush is what keeps the hold short. A checkpoint that copies up to the WAL's end syncs the
 * database file, and none of the copies made while the writes go on does: the last copy's sync
 * wrote every page the thread had copied since the WAL last started over, 5-7 ms at half the
 * bench's max rate (median of 38 holds), with every intake waiting. Flushed beforehand, it writes
 * what came since the flush. The flush is no sync SQLite relies on: its own syncs, in the last
 * copy, stay where they were.
 *
 * It does not ask again while the WAL has not changed since its last copy (no write since: the
 * next one starts it over). A last copy that could not copy everything (another process reading
 * the file, which also keeps the WAL from starting over) makes it wait twice as many turns before
 * it asks again, up to 64.
 */
const CHECKPOINTER = `
const { fdatasyncSync, openSync, closeSync, writeFileSync } = require('node:fs');
// Its name for top -H and ps -L (thread-name.ts; Linux only, a label).
try {
  writeFileSync('/proc/thread-self/comm', ${JSON.stringify(THREAD_NAMES.checkpoint)});
} catch {}
const { parentPort, workerData } = require('node:worker_threads');
const SQLite = require(workerData.driver);
const db = new SQLite(workerData.file);
db.pragma('busy_timeout = 5000');
// A checkpoint reads the WAL's pages and writes them; it needs no page cache of its own.
db.pragma('cache_size = -256');
// { log: the WAL's frames, checkpointed: how many of them are copied }
const checkpoint = () => db.pragma('wal_checkpoint(PASSIVE)')[0];
/**
 * Writes to disk what the files hold in the page cache, so that the last copy's syncs find little.
 * The database file through the descriptor the connection's side keeps open (\`dbFd\`, see
 * \`flushDescriptor\`); the WAL file through one of its own, closed after: SQLite locks the WAL
 * through the -shm file, never the WAL file itself. Only a speed-up: a file it cannot flush (the
 * WAL gone with the last connection at shutdown) leaves the copy's own syncs to do the work, as
 * before, and the thread goes on.
 */
const flush = () => {
  try {
    if (workerData.dbFd !== undefined) fdatasyncSync(workerData.dbFd);
  } catch {}
  let fd;
  try {
    fd = openSync(workerData.file + '-wal', 'r');
    fdatasyncSync(fd);
  } catch {
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
};
let copiedAt = -1;
let backOff = 0;
let skip = 0;
/** When it asked for the last copy, until the connection answers (0: not waiting). */
let askedAt = 0;
const timer = setInterval(() => {
  // No copy of its own while the connection makes the last one: two at once, the connection's
  // finds this one at work and gives up (busy), and the WAL does not start over (with turns of
  // 5 ms, most holds did). An answer that never comes stops them for 5 s at most.
  if (askedAt !== 0 && Date.now() - askedAt < 5000) return;
  askedAt = 0;
  const { log } = checkpoint();
  if (skip > 0) {
    skip--;
    return;
  }
  if (log >= workerData.restartPages && log !== copiedAt && checkpoint().log >= workerData.restartPages) {
    flush();
    askedAt = Date.now();
    parentPort.postMessage('long');
  }
}, workerData.everyMs);
parentPort.on('message', (message) => {
  if (typeof message === 'object' && message.copied !== undefined) {
    askedAt = 0;
    const { log, checkpointed } = message.copied;
    // No copy made (the connection stopping or busy: -1 frames): nothing to learn; the next turn
    // asks again.
    if (log < 0) return;
    copiedAt = log;
    if (checkpointed < log) {
      backOff = Math.min(64, Math.max(1, backOff * 2));
      skip = backOff;
    } else backOff = 0;
    return;
  }
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * The connection's users pass through here (db.ts takes Kysely's connection through it): its
 * reads and writes alike. Open, a user goes on at once; closed, new ones wait for it to open, and
 * `close` resolves once those already through have left: then nothing writes, and the checkpoint
 * thread's last copy leaves the WAL wholly copied for the next write to start it over.
 */
export class ConnectionGate {
  private inside = 0;
  private opened: Promise<void> | null = null;
  private release: (() => void) | null = null;
  private emptied: (() => void) | null = null;

  /** Undefined when the user may go on now; else a promise that settles once it has entered. */
  enter(): Promise<void> | undefined {
    if (this.opened === null) {
      this.inside++;
      return undefined;
    }
    // Closed again by the time it opens: wait again.
    return this.opened.then(() => this.enter());
  }

  leave(): void {
    this.inside--;
    if (this.inside === 0 && this.emptied) {
      const emptied = this.emptied;
      this.emptied = null;
      emptied();
    }
  }

  /** Holds new users back; resolves once none is left inside. */
  close(): Promise<void> {
    this.opened ??= new Promise((resolve) => {
      this.release = resolve;
    });
    if (this.inside === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.emptied = resolve;
    });
  }

  /** Lets the held users go; a `close` still waiting for those inside resolves too. */
  open(): void {
    const { release, emptied } = this;
    this.opened = null;
    this.release = null;
    this.emptied = null;
    release?.();
    emptied?.();
  }
}

/** Per database file, the descriptor `flushDescriptor` opened for it. */
const flushDescriptors = new Map<string, number>();

/**
 * A descriptor of the database file for the checkpoint thread's flush, opened once per file and
 * never closed. Closing any descriptor of a file drops every POSIX lock this process holds on it,
 * SQLite's among them (SQLite keeps its own descriptors open for that reason): with its shared
 * lock gone, another process that opened and closed the database would take itself for the last
 * user and delete the WAL under this one's commits. A file replaced at the same path (a new
 * database where one was deleted) gets a descriptor of its own; the old one stays open, as it may
 * not be closed either. Undefined if the file cannot be opened: the flush then leaves it out.
 */
function flushDescriptor(file: string): number | undefined {
  try {
    const { dev, ino } = statSync(file);
    const kept = flushDescriptors.get(file);
    if (kept !== undefined) {
      const opened = fstatSync(kept);
      if (opened.dev === dev && opened.ino === ino) return kept;
    }
    const fd = openSync(file, 'r');
    flushDescriptors.set(file, fd);
    return fd;
  } catch {
    return undefined;
  }
}

/** Past this many pages (16 MiB of 4 KiB pages) the WAL is started over. */
const RESTART_PAGES = 4096;

export interface Checkpointer {
  /** Stops the thread (the main connection's close makes the last checkpoint). */
  stop(): Promise<void>;
  /** The thread, for tests that make it fail. */
  readonly worker: Worker;
}

/**
 * Moves SQLite's WAL checkpoints off the event loop. By default the connection that commits
 * checkpoints once the WAL passes 1000 pages, inside that commit: copying the pages and syncing
 * both files (synchronous=NORMAL syncs at checkpoints) took the event loop for milliseconds at a
 * time. `bench:delivery --against` the build before, three runs: 1.03–1.09× the events/s; the
 * longest commit on the loop 15.1 → 3.7 ms (docs/benchmarks-history.md, "SQLite checkpoints off
 * the event loop"). Durability is the same: a commit is in the WAL either way.
 *
 * Past `restartPages` pages in the WAL the connection's users (`gate`) are held for a last copy,
 * which the connection makes itself once the last of them has left, so that the next write
 * starts the WAL over (see CHECKPOINTER): the WAL then stays near that size however long the
 * writes go on. bench:backlog's million deliveries took the WAL file to 7.1 GB before, 68 MB now.
 * The thread flushed the files just before it asked, so the copy is short and mostly what came
 * since (its syncs included); it used to be the thread's too, and the hold then lasted as long as
 * the two messages took to cross with both threads busy besides the copy itself. The hold waits
 * for the users inside however long they take: they are in line for the one connection, and
 * those held behind them would wait for them anyway.
 *
 * Should the thread fail, the connection checkpoints by itself again, as before.
 */
export function checkpointInBackground(
  sqlite: SQLite.Database,
  file: string,
  everyMs: number,
  onFailure: (err: unknown) => void,
  gate: ConnectionGate,
  restartPages = RESTART_PAGES,
  /** Told how long each hold for a last copy lasted (ms): from the gate's closing to its opening. */
  onHold: (ms: number) => void = () => {},
): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  sqlite.pragma('wal_autocheckpoint = 0');
  // A thread that allocates next to nothing: a small heap keeps its memory small.
  const worker = new Worker(CHECKPOINTER, {
    eval: true,
    workerData: { driver, file, everyMs, restartPages, dbFd: flushDescriptor(file) },
    resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8 },
  });
  worker.unref();
  let stopping = false;
  const fallBack = (err: unknown) => {
    if (stopping || !sqlite.open) return;
    stopping = true;
    sqlite.pragma('wal_autocheckpoint = 1000');
    // A last copy that failed leaves the thread running: its copies would go on beside the commits'.
    void worker.terminate();
    onFailure(err);
  };
  /** Holds the connection's users, makes the last copy, lets them go: the next write starts the WAL over. */
  let restarting = false;
  const restart = async () => {
    if (restarting || stopping) return;
    restarting = true;
    const started = performance.now();
    // Always answered, so that the thread takes up its own copies again: -1 frames when none was made.
    let copied = { log: -1, checkpointed: -1 };
    try {
      await gate.close();
      // Nobody is inside and nobody gets in: no transaction of the connection's is open.
      if (stopping || !sqlite.open || sqlite.inTransaction) return;
      // What it left uncopied (another process reading the file) makes the thread ask less often.
      const [{ log, checkpointed }] = sqlite.pragma('wal_checkpoint(PASSIVE)') as [
        { log: number; checkpointed: number },
      ];
      copied = { log, checkpointed };
    } finally {
      gate.open();
      restarting = false;
      worker.postMessage({ copied });
      onHold(performance.now() - started);
    }
  };
  worker.on('message', (message: unknown) => {
    if (message === 'long') void restart().catch(fallBack);
  });
  worker.on('error', fallBack);
  worker.on('exit', (code) => fallBack(new Error(`the checkpoint thread exited (code ${code})`)));
  return {
    worker,
    async stop() {
      if (stopping) return;
      stopping = true;
      const exited = new Promise((r) => worker.once('exit', r));
      // Held while it stops: with nothing else left, an unreferenced thread would let the
      // process end right here, before the caller's next step (an exit code, say).
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}
