// A diagnostic preload: times every better-sqlite3 statement a process runs (run, all, get, and
// exec) and prints, as it exits, the costliest statement shapes on stderr: total ms, calls, µs per
// call. A commit is one of them (Kysely commits with a prepared `commit`). With bench:delivery the
// server process prints its own, named by the build it runs (its checkpoint thread apart):
//   NODE_OPTIONS="--require ./apps/server/bench/sqlite-time.cjs" \
//     node apps/server/bench/delivery.mjs --runs 1 --against $PWD/apps/server/dist-before
// It counts wall time on the calling thread, which is what a statement holds the event loop for.
// A statement's text is shortened to its first 100 characters, with runs of `(?, ?, …)` folded,
// so that the batched inserts of every row count add up under one line.
const Database = require('better-sqlite3');
const { isMainThread, threadId } = require('node:worker_threads');

const TOP = Number(process.env.SQLITE_TIME_TOP ?? 12);
const stats = new Map();
function count(key, started) {
  const us = Number(process.hrtime.bigint() - started) / 1000;
  const s = stats.get(key);
  if (s) {
    s.n++;
    s.us += us;
  } else stats.set(key, { n: 1, us });
}
const shape = (source) =>
  source
    .replace(/\s+/g, ' ')
    .replace(/(\(\?[, ?]*\)[, ]*)+/g, '(?…) ')
    .slice(0, 100);

// Statements share one prototype, reached through a statement of a throwaway database.
const probe = new Database(':memory:');
const proto = Object.getPrototypeOf(probe.prepare('select 1'));
probe.close();
for (const method of ['run', 'all', 'get']) {
  const original = proto[method];
  proto[method] = function (...args) {
    const started = process.hrtime.bigint();
    try {
      return original.apply(this, args);
    } finally {
      count(shape(this.source), started);
    }
  };
}
const exec = Database.prototype.exec;
Database.prototype.exec = function (source) {
  const started = process.hrtime.bigint();
  try {
    return exec.call(this, source);
  } finally {
    count(`exec: ${shape(source)}`, started);
  }
};

process.on('exit', () => {
  if (stats.size === 0) return;
  const build = process.env.CALLHOOK_BENCH_DIST ?? 'this build';
  const rows = [...stats].sort((a, b) => b[1].us - a[1].us);
  const total = rows.reduce((sum, [, s]) => sum + s.us, 0);
  const lines = rows
    .slice(0, TOP)
    .map(
      ([key, s]) =>
        `  ${(s.us / 1000).toFixed(0).padStart(7)} ms ${String(s.n).padStart(8)} × ${(s.us / s.n).toFixed(1).padStart(7)} µs  ${key}`,
    );
  process.stderr.write(
    `sqlite-time: ${(total / 1000).toFixed(0)} ms in statements (${build}, pid ${process.pid}${isMainThread ? '' : `, thread ${threadId}`})\n${lines.join('\n')}\n`,
  );
});
