// The benchmark's callhook server, in its own process as users run it. Started with its settings
// as JSON in argv[2]; reports { url, apiUrl, pbxKey, sendThreads } over IPC, and answers 'cpu' with its
// process.cpuUsage() (µs) and RSS so the benchmark can charge the server's own CPU to the events.
// --store none (mode 'none'): the outbox is replaced by a pass-through (see delivery.mjs).
import { readdirSync, writeFileSync } from 'node:fs';
import { THREAD_NAMES } from '../dist/thread-name.js';
import { procStat, serverBuild } from './common.mjs';

// CALLHOOK_BENCH_DIST: another build of the server to measure (a copy of dist/ from before a change).
const { startServer } = await serverBuild();

// CALLHOOK_BENCH_CGROUP (bench:delivery --server-cpus): join that cgroup (all of this process's
// threads) before the server starts, so that it sees its CPU quota as a container's server would.
if (process.env.CALLHOOK_BENCH_CGROUP) writeFileSync(process.env.CALLHOOK_BENCH_CGROUP, String(process.pid));

const opts = JSON.parse(process.argv[2]);
const server = await startServer({
  port: 0,
  dataDir: opts.dataDir,
  databaseUrl: opts.databaseUrl,
  demo: true,
  logLevel: 'silent',
  env: {},
  config: opts.config,
});

/** The pass-through outbox of --store none: every event becomes a delivery already leased. */
async function passThrough() {
  const { outbox, subscriptions } = server.store;
  const [listed] = await subscriptions.list(175);
  const sub = await subscriptions.get(175, listed.id);
  let seqs = 1;
  outbox.ingest = async (events, now) => ({
    eventIds: events.map(() => seqs),
    deliveries: events.length,
    repeats: 0,
    byEvent: events.map(() => ({ deliveries: 1, repeat: false })),
    leased: events.map((e) => {
      const seq = seqs++;
      return {
        seq,
        id: `msg_${seq}`,
        subscriptionId: sub.id,
        eventId: seq,
        clientId: sub.clientId,
        extensionId: e.extensionId,
        eventType: e.eventType,
        callId: e.callId,
        status: 'pending',
        attempts: 0,
        nextAttemptAt: now,
        createdAt: now,
        lastAttemptAt: null,
        lastStatusCode: null,
        lastOutcome: null,
        payload: e.payload,
        url: sub.url,
        method: sub.method,
        secret: sub.secret,
        previousSecret: null,
        previousSecretExpiresAt: null,
        failingSince: null,
      };
    }),
  });
  outbox.complete = async () => {};
  outbox.claim = async () => [];
}

/** The main thread's own CPU in µs (Linux: its task's utime + stime, clock ticks of 10 ms). */
function mainThreadCpu() {
  try {
    return procStat(`/proc/self/task/${process.pid}/stat`).cpuUs;
  } catch {
    return null;
  }
}

/** THREAD_NAMES' keys by the name each stands for: `callhook-send` → `send`. */
const NAMED = new Map(Object.entries(THREAD_NAMES).map(([key, name]) => [name, key]));

/**
 * The CPU in µs of the threads the server names (src/thread-name.ts: its sending threads, SQLite's
 * checkpoint thread), by THREAD_NAMES' key (Linux); null where there is no /proc. A thread that
 * ended (one replaced) takes its CPU with it; a build that names none gives {}.
 */
function namedThreadsCpu() {
  const byKey = {};
  let tids;
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return null;
  }
  for (const tid of tids) {
    try {
      const { name, cpuUs } = procStat(`/proc/self/task/${tid}/stat`);
      const key = NAMED.get(name);
      if (key !== undefined) byKey[key] = (byKey[key] ?? 0) + cpuUs;
    } catch {} // it ended meanwhile
  }
  return byKey;
}

process.on('message', async (msg) => {
  if (msg === 'cpu') {
    const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
    process.send({
      cpu: process.cpuUsage(),
      mainCpu: mainThreadCpu(),
      threadsCpu: namedThreadsCpu(),
      rss,
      heapUsed,
      external: external + arrayBuffers,
    });
  } else if (msg === 'pass-through') {
    await passThrough();
    process.send({ passThrough: true });
  } else if (msg === 'exit') {
    await server.close();
    process.exit(0);
  }
});
// sendThreads: what CALLHOOK_SEND_THREADS started (an older build's --against: undefined, none).
process.send({
  url: server.url,
  apiUrl: server.apiUrl,
  pbxKey: server.pbxKey,
  sendThreads: server.sendThreads ?? 0,
});
// The benchmark went away (finished or killed): so does its server.
process.on('disconnect', () => process.exit(0));
