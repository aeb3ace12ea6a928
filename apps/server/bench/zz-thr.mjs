// exploratory, not committed: two builds' ThreadedSender in turns
import { child, hangupEvent, median, serverBuild } from './common.mjs';
const N = 10000, C = 16, ROUNDS = Number(process.env.ROUNDS ?? 7);
const rx = child('./receiver-child.mjs');
const { port } = await rx.ask(null, 'port');
const settings = { allow: ['127.0.0.0/8'], connectTimeoutMs: 5000, timeoutMs: 15000, perHostConnections: C, concurrency: C, breakerFailures: 5, breakerMaxSeconds: 30 };
const A = new (await serverBuild('delivery/send-threads.js')).ThreadedSender(1, settings);
const B = new (await serverBuild('delivery/send-threads.js', process.env.B)).ThreadedSender(1, settings);
const payload = new URLSearchParams(Object.entries(hangupEvent(0, 1).data).map(([k, v]) => [k, String(v)])).toString();
const delivery = (i) => ({ id: `msg_bench_${i}`, seq: i, subscriptionId: 1, eventId: i, clientId: 1, extensionId: 175, eventType: 'hangup', callId: 'x', status: 'pending', attempts: 0, nextAttemptAt: 0, createdAt: 0, lastAttemptAt: null, lastStatusCode: null, lastOutcome: null,
  url: `http://127.0.0.1:${port}/hook?myid=175`, method: 'POST', payload, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', previousSecret: null, previousSecretExpiresAt: null, migratedSecret: null, migratedSecretExpiresAt: null });
async function measure(s) {
  let next = 0;
  const cpu0 = process.cpuUsage(); const t0 = performance.now();
  await Promise.all(Array.from({ length: C * 8 }, async () => { while (next < N) { const r = await s.send(delivery(next++)); if (r.attempt.outcome !== 'success') throw new Error(r.attempt.error); } }));
  const cpu = process.cpuUsage(cpu0); const sec = (performance.now() - t0) / 1000;
  return { us: (cpu.user + cpu.system) / N, rate: N / sec };
}
await measure(A); await measure(B);
const ra = [], rb = [];
for (let r = 0; r < ROUNDS; r++) { if (r % 2) { rb.push(await measure(B)); ra.push(await measure(A)); } else { ra.push(await measure(A)); rb.push(await measure(B)); } }
const m = (xs, k) => median(xs.map((x) => x[k]));
console.log(`A (this dist): ${m(ra, 'us').toFixed(1)} µs/attempt ${m(ra, 'rate').toFixed(0)}/s   B (${process.env.B}): ${m(rb, 'us').toFixed(1)} µs/attempt ${m(rb, 'rate').toFixed(0)}/s   CPU B/A per round median ${median(ra.map((a, i) => rb[i].us / a.us)).toFixed(2)}`);
await A.close(); await B.close(); rx.proc.kill(); process.exit(0);
