import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';

/**
 * The background checkpointer: its own connection to the file, a PASSIVE checkpoint every
 * `everyMs` (it copies what was committed to the WAL into the database file, never waits for
 * the writer, never blocks it). Plain CommonJS run with `eval`, so it needs no built file of its
 * own and runs the same from the sources (tests) and from `dist`.
 */
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const SQLite = require(workerData.driver);
const db = new SQLite(workerData.file);
db.pragma('busy_timeout = 5000');
// A checkpoint reads the WAL's pages and writes them; it needs no page cache of its own.
db.pragma('cache_size = -256');
const timer = setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

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
 * Should the thread fail, the connection checkpoints by itself again, as before.
 */
export function checkpointInBackground(
  sqlite: SQLite.Database,
  file: string,
  everyMs: number,
  onFailure: (err: unknown) => void,
): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  sqlite.pragma('wal_autocheckpoint = 0');
  // A thread that allocates next to nothing: a small heap keeps its memory small.
  const worker = new Worker(CHECKPOINTER, {
    eval: true,
    workerData: { driver, file, everyMs },
    resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8 },
  });
  worker.unref();
  let stopping = false;
  const fallBack = (err: unknown) => {
    if (stopping || !sqlite.open) return;
    stopping = true;
    sqlite.pragma('wal_autocheckpoint = 1000');
    onFailure(err);
  };
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
