import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';

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
 * meanwhile, and asks the connection to hold its users (`long`) for a last copy (`copy` n), which
 * is short: the next write then starts the WAL over.
 *
 * It does not ask again while the WAL has not changed since its last copy (no write since: the
 * next one starts it over). A last copy that could not copy everything (another process reading
 * the file, which also keeps the WAL from starting over) makes it wait twice as many turns before
 * it asks again, up to 64.
 */
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const SQLite = require(workerData.driver);
const db = new SQLite(workerData.file);
db.pragma('busy_timeout = 5000');
// A checkpoint reads the WAL's pages and writes them; it needs no page cache of its own.
db.pragma('cache_size = -256');
// { log: the WAL's frames, checkpointed: how many of them are copied }
const checkpoint = () => db.pragma('wal_checkpoint(PASSIVE)')[0];
let copiedAt = -1;
let backOff = 0;
let skip = 0;
const timer = setInterval(() => {
  const { log } = checkpoint();
  if (skip > 0) {
    skip--;
    return;
  }
  if (log >= workerData.restartPages && log !== copiedAt && checkpoint().log >= workerData.restartPages)
    parentPort.postMessage('long');
}, workerData.everyMs);
parentPort.on('message', (message) => {
  if (typeof message === 'object' && message.copy !== undefined) {
    const { log, checkpointed } = checkpoint();
    copiedAt = log;
    if (checkpointed < log) {
      backOff = Math.min(64, Math.max(1, backOff * 2));
      skip = backOff;
    } else backOff = 0;
    parentPort.postMessage({ copied: message.copy });
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

/** Past this many pages (16 MiB of 4 KiB pages) the WAL is started over. */
const RESTART_PAGES = 4096;

/**
 * How long the connection's users are held at most: for those inside to leave, then for the last
 * copy (two syncs of the files). Past it they go on, and the WAL is not started over this time.
 */
const HOLD_MS = 250;

/** After a hold that ran out, the thread's asks are let pass for this long, doubling, up to a minute. */
const FIRST_BACK_OFF_MS = 5000;

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
 * longest commit on the loop 15.1 → 3.7 ms (BENCHMARKS.md). Durability is the same: a commit is in
 * the WAL either way.
 *
 * Past `restartPages` pages in the WAL the writes that pass `gate` are held for the thread's last
 * copy, a few milliseconds, so that the next write starts the WAL over (see CHECKPOINTER): the WAL
 * then stays near that size however long the writes go on. bench:backlog's million deliveries
 * took the WAL file to 7.1 GB before, 68 MB now.
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
  holdMs = HOLD_MS,
): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  sqlite.pragma('wal_autocheckpoint = 0');
  // A thread that allocates next to nothing: a small heap keeps its memory small.
  const worker = new Worker(CHECKPOINTER, {
    eval: true,
    workerData: { driver, file, everyMs, restartPages },
    resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8 },
  });
  worker.unref();
  let stopping = false;
  /** Ends the wait for last copy `n` (its answer), or any (the thread gone). */
  let copied: ((n?: number) => void) | null = null;
  const fallBack = (err: unknown) => {
    copied?.();
    if (stopping || !sqlite.open) return;
    stopping = true;
    sqlite.pragma('wal_autocheckpoint = 1000');
    onFailure(err);
  };
  /** Holds the connection's users for the thread's last copy, then lets them go (the next write starts the WAL over). */
  let restarting = false;
  let copies = 0;
  let backOff = 0;
  let quietUntil = 0;
  const restart = async () => {
    if (restarting || stopping || Date.now() < quietUntil) return;
    restarting = true;
    const copy = ++copies;
    let timer: NodeJS.Timeout | undefined;
    // True once copied (or nothing more to wait for: the thread gone, or stopping); false if the
    // hold ran out first.
    const done = await new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), holdMs);
      copied = (n) => {
        if (n === undefined || n === copy) resolve(true);
      };
      void gate.close().then(() => {
        // Not once this hold is over: its copy would come after the users went on.
        if (restarting && copies === copy && !stopping) worker.postMessage({ copy });
      });
    });
    clearTimeout(timer);
    copied = null;
    gate.open();
    restarting = false;
    if (done) backOff = 0;
    else {
      // A slow disk, or a user that does not leave: let the users go, and ask less often.
      backOff = Math.min(60_000, backOff === 0 ? FIRST_BACK_OFF_MS : backOff * 2);
      quietUntil = Date.now() + backOff;
    }
  };
  worker.on('message', (message: unknown) => {
    if (message === 'long') void restart();
    else if (typeof message === 'object' && message !== null && 'copied' in message)
      copied?.((message as { copied: number }).copied);
  });
  worker.on('error', fallBack);
  worker.on('exit', (code) => fallBack(new Error(`the checkpoint thread exited (code ${code})`)));
  return {
    worker,
    async stop() {
      if (stopping) return;
      stopping = true;
      copied?.();
      const exited = new Promise((r) => worker.once('exit', r));
      // Held while it stops: with nothing else left, an unreferenced thread would let the
      // process end right here, before the caller's next step (an exit code, say).
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}
