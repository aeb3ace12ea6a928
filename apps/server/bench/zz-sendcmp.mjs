// exploratory, not committed
import { Pool } from 'undici';
import { child, hangupEvent, median, serverBuild } from './common.mjs';
const N = 10000, C = 16;
const rx = child('./receiver-child.mjs');
const { port } = await rx.ask(null, 'port');
const { Sender } = await serverBuild('delivery/sender.js');
const { TargetPolicy } = await serverBuild('delivery/target.js');
const { ThreadedSender } = await serverBuild('delivery/send-threads.js');
const opts = { targets: new TargetPolicy(['127.0.0.0/8']), connectTimeoutMs: 5000, timeoutMs: 15000, perHostConnections: C };
const sender = new Sender(opts);
const threaded = new ThreadedSender(1, { allow: ['127.0.0.0/8'], connectTimeoutMs: 5000, timeoutMs: 15000, perHostConnections: C, concurrency: C, breakerFailures: 5, breakerMaxSeconds: 30 });
const payload = new URLSearchParams(Object.entries(hangupEvent(0, 1).data).map(([k, v]) => [k, String(v)])).toString();
const delivery = (i) => ({ id: `msg_bench_${i}`, seq: i, subscriptionId: 1, eventId: i, clientId: 1, extensionId: 175, eventType: 'hangup', callId: 'x', status: 'pending', attempts: 0, nextAttemptAt: 0, createdAt: 0, lastAttemptAt: null, lastStatusCode: null, lastOutcome: null,
  url: `http://127.0.0.1:${port}/hook?myid=175`, method: 'POST', payload, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', previousSecret: null, previousSecretExpiresAt: null, migratedSecret: null, migratedSecretExpiresAt: null });
const pool = new Pool(`http://127.0.0.1:${port}`, { connections: C });
const subjects = {
  raw: async (i) => { const res = await pool.request({ path: '/hook?myid=175', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: payload }); await res.body.dump(); },
  sender: (i) => sender.send(delivery(i)),
  threaded: (i) => threaded.send(delivery(i)),
};
const depth = { raw: C, sender: C, threaded: C * 8 };
async function measure(name) {
  let next = 0;
  const cpu0 = process.cpuUsage(); const t0 = performance.now();
  await Promise.all(Array.from({ length: depth[name] }, async () => { while (next < N) await subjects[name](next++); }));
  const cpu = process.cpuUsage(cpu0); const s = (performance.now() - t0) / 1000;
  return { us: (cpu.user + cpu.system) / N, rate: N / s };
}
let posts = 0, msgs = 0, answers = 0, attemptsPosted = 0;
{ const w = threaded.threads[0].worker; const pm = w.postMessage.bind(w); w.postMessage = (m) => { posts++; if (Array.isArray(m)) attemptsPosted += m.length; return pm(m); }; w.on('message', (m) => { msgs++; answers += m.length; }); }
const runs = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
for (const k of Object.keys(subjects)) await measure(k);
for (let r = 0; r < 5; r++) for (const k of Object.keys(subjects)) runs[k].push(await measure(k));
for (const k of Object.keys(subjects)) console.log(k.padEnd(9), 'µs/attempt (all threads)', median(runs[k].map((x) => x.us)).toFixed(1), ' per s', median(runs[k].map((x) => x.rate)).toFixed(0));
console.log('posts', posts, 'attempts/post', (attemptsPosted/posts).toFixed(2), 'answer msgs', msgs, 'answers/msg', (answers/msgs).toFixed(2));
await threaded.close(); await sender.close(); await pool.close(); rx.proc.kill(); process.exit(0);
