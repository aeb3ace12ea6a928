// A diagnostic preload: counts the socket writes a process makes to PostgreSQL (port 5432, or
// PGWRITES_PORT) and prints the count on stderr as it exits. With bench:delivery (--store postgres,
// --against a copy of an older build), the server processes print theirs, each named by the build
// it runs:
//   NODE_OPTIONS="--require ./apps/server/bench/pg-writes.cjs" \
//     node apps/server/bench/delivery.mjs --store postgres --runs 1 --against $PWD/apps/server/dist-before
// Each write is a system call, and wakes PostgreSQL's backend once more.
const net = require('node:net');

const port = Number(process.env.PGWRITES_PORT ?? 5432);
let writes = 0;
const write = net.Socket.prototype._writeGeneric;
net.Socket.prototype._writeGeneric = function (...args) {
  if (this.remotePort === port) writes++;
  return write.apply(this, args);
};
process.on('exit', () => {
  if (writes === 0) return;
  const build = process.env.CALLHOOK_BENCH_DIST ?? 'this build';
  process.stderr.write(`pg-writes: ${writes} writes to PostgreSQL (${build}, pid ${process.pid})\n`);
});
