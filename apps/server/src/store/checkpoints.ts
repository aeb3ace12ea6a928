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
 * meanwhile, and asks the connection to hold its writes (`long`) for a last copy (`copy`), which
 * is short: the next write then starts the WAL over.
 */
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const SQLite = require(workerData.driver);
const db = new SQLite(workerData.file);
db.pragma('busy_timeout = 5000');
// A checkpoint reads the WAL's pages and writes them; it needs no page cache of its own.
db.pragma('cache_size = -256');
// The WAL's frames (pages), all copied or not.
const checkpoint = () => db.pragma('wal_checkpoint(PASSIVE)')[0].log;
const timer = setInterval(() => {
  if (checkpoint() >= workerData.restartPages && checkpoint() >= workerData.restartPages)
    parentPort.postMessage('long');
}, workerData.everyMs);
parentPort.on('message', (message) => {
  if (message === 'copy') {
    checkpoint();
    parentPort.postMessage('copied');
    return;
  }
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * The connection's users pass through here (db.ts takes Kysely's connection through it). Open, a
 * user goes on at once; closed, new ones wait for it to open, and `close` resolves once those
 * already through have left: then nothing writes, and the checkpoint thread's last copy leaves
 * the WAL wholly copied for the next write to start it over.
 */
export class WriteGate {
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

  open(): void {
    const release = this.release;
    this.opened = null;
    this.release = null;
    release?.();
  }
}

/** How long the writes are held for the last copy at most, should the thread not answer. */
const COPY_WAIT_MS = 2000;

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
  gate: WriteGate,
  restartPages: number,
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
  /** Ends the wait for the last copy (answered, or the thread gone). */
  let copied: (() => void) | null = null;
  const fallBack = (err: unknown) => {
    copied?.();
    if (stopping || !sqlite.open) return;
    stopping = true;
    sqlite.pragma('wal_autocheckpoint = 1000');
    onFailure(err);
  };
  /** Holds the writes for the thread's last copy, then lets them go (the next one starts the WAL over). */
  let restarting = false;
  const restart = async () => {
    if (restarting || stopping) return;
    restarting = true;
    try {
      await gate.close();
      if (stopping) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, COPY_WAIT_MS);
        copied = () => {
          clearTimeout(timer);
          resolve();
        };
        worker.postMessage('copy');
      });
    } finally {
      copied = null;
      gate.open();
      restarting = false;
    }
  };
  worker.on('message', (message) => {
    if (message === 'long') void restart();
    else if (message === 'copied') copied?.();
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
