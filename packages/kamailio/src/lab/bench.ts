#!/usr/bin/env node
// `npm run bench:sip`: calls per second through Kamailio → NATS JetStream → callhook → receiver,
// sipp placing the page's call at a fixed rate. Latency is from the switch's EventTime (its clock
// when the SIP message came) to the webhook's arrival at the receiver (same machine, same clock).
// The baseline, measured in the same run: a plain NATS subscriber's view of the same messages,
// i.e. the switch → broker part that callhook cannot make shorter.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { callIds } from '../ids.js';
import { startCallhook } from './callhook.js';
import { dropStream, jetStreamUnavailable } from './nats.js';
import { placeCalls, startCallee } from './sipp.js';
import { startSwitch } from './switch.js';
import { findTools, sleep } from './tools.js';

const HELP = `npm run bench:sip [-- options]

  --rate N        calls per second sipp places (default 100)
  --duration S    seconds of calls (default 20)
  --ring MS       the gateway rings this long before it answers (default 100)
  --talk MS       the phone hangs up this long after the answer (default 1000)
  --children N    Kamailio's SIP worker processes (default 4)
  --database URL  a postgres:// URL for callhook's store (default: SQLite in a temporary directory)
  --nats URL      NATS with JetStream (default nats://127.0.0.1:4222)

Each call is the page's (000*099 calls 00010005, answered, hung up): three webhooks (dial-out,
answer, hangup) to one receiver. Prints figures, then one line of JSON.
`;

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '100' },
    duration: { type: 'string', default: '20' },
    ring: { type: 'string', default: '100' },
    talk: { type: 'string', default: '1000' },
    children: { type: 'string', default: '4' },
    database: { type: 'string', default: '' },
    nats: { type: 'string', default: process.env.CALLHOOK_KAMAILIO_NATS_URL || 'nats://127.0.0.1:4222' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const rate = Number(values.rate);
const duration = Number(values.duration);
const ringMs = Number(values.ring);
const talkMs = Number(values.talk);
const children = Number(values.children);

const { tools, missing } = findTools();
const natsProblem = await jetStreamUnavailable(values.nats);
if (!tools || natsProblem) {
  console.error(`bench:sip needs: ${[...missing, ...(natsProblem ? [natsProblem] : [])].join('; ')}`);
  process.exit(1);
}

const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const quantile = (sorted: number[], q: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const ms = (us: number) => Math.round(us / 10) / 100;

const run = randomBytes(4).toString('hex');
const stream = `CALLHOOK_BENCH_${run.toUpperCase()}`;
const subject = `callhook.bench.${run}.events`;
const load = [loadavg()[0]!];
const cleanups: Array<() => Promise<unknown>> = [];

try {
  const callhook = await startCallhook({
    natsUrl: values.nats,
    stream,
    subject,
    ...(values.database ? { databaseUrl: values.database } : {}),
  });
  cleanups.push(
    () => callhook.stop(),
    () => dropStream(values.nats, stream),
  );

  // The receiver: when each webhook came, and which event of which call it was.
  const arrivals: Array<{ key: string; latencyUs: number; at: number }> = [];
  const receiver = createServer((req, res) => {
    const at = nowUs();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const f = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      arrivals.push({
        key: `${f.get('CallID')} ${f.get('EventType')}`,
        latencyUs: at - Number(f.get('EventTime')),
        at,
      });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => receiver.close(r)));
  const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  for (const type of ['dial-out', 'answer', 'hangup']) await callhook.subscribe(175, type, target);

  // The baseline: the switch's messages as a plain NATS subscriber sees them, and what they promise.
  const nc = await connect({ servers: values.nats });
  cleanups.push(() => nc.close());
  const broker: number[] = [];
  const promised = new Map<string, number>();
  const dialTimes: number[] = [];
  // When the broker had the snapshot that first carried each event: where callhook's part starts.
  const reached = new Map<string, number>();
  const firstCarried = { dial: 'dial-out', answered: 'answer', ended: 'hangup' } as Record<string, string>;
  nc.subscribe(subject, {
    callback: (_err, m) => {
      const at = nowUs();
      const s = m.json<{ event: string; time: string; call_id: string }>();
      broker.push(at - Number(s.time.replace('.', '')));
      if (s.event === 'dial') dialTimes.push(Number(s.time.replace('.', '')));
      const type = firstCarried[s.event];
      if (type) reached.set(`${callIds(s.call_id).callId} ${type}`, at);
      if (s.event === 'ended') promised.set(s.call_id, 3);
      else if (s.event === 'failed') promised.set(s.call_id, 2);
    },
  });

  const gateway = await startCallee({ tools, ringMs });
  cleanups.push(() => gateway.stop());
  const sw = await startSwitch({ tools, natsUrl: values.nats, subject, gateway: gateway.address, children });
  cleanups.push(() => sw.stop());

  const total = Math.round(rate * duration);
  const started = Date.now();
  const placed = await placeCalls({
    tools,
    switchAddress: sw.address,
    calls: Array.from({ length: total }, () => ({
      from: '000*099',
      name: 'Iggy Pop',
      to: '00010005',
      action: 'hangup' as const,
      ms: talkMs,
    })),
    rate,
    // Room for every call of a few seconds at once, and then some: the rate is what sipp keeps.
    limit: Math.ceil(rate * ((ringMs + talkMs) / 1000 + 2)) + 50,
    timeoutS: duration + 120,
  });
  const placing = (Date.now() - started) / 1000;
  load.push(loadavg()[0]!);

  // Everything the switch promised, or nothing more for 10 s.
  const expected = () => [...promised.values()].reduce((a, b) => a + b, 0);
  let last = arrivals.length;
  let quietSince = Date.now();
  while (arrivals.length < expected() || arrivals.length === 0) {
    await sleep(200);
    if (arrivals.length !== last) {
      last = arrivals.length;
      quietSince = Date.now();
    } else if (Date.now() - quietSince > 10_000) break;
  }
  await sleep(500);

  const keys = new Set(arrivals.map((a) => a.key));
  const events = expected();
  const lost = Math.max(0, events - keys.size);
  const latencies = arrivals.map((a) => a.latencyUs).sort((a, b) => a - b);
  const brokerSorted = broker.sort((a, b) => a - b);
  const own = arrivals
    .map((a) => a.at - (reached.get(a.key) ?? Number.NaN))
    .filter((x) => Number.isFinite(x))
    .sort((a, b) => a - b);
  const answeredCalls = [...promised.values()].filter((n) => n === 3).length;
  const result = {
    rate,
    duration_s: duration,
    kamailio_children: children,
    store: values.database ? 'postgres' : 'sqlite',
    calls_offered: total,
    calls_switched: promised.size,
    calls_answered: answeredCalls,
    sipp_exit: placed.code,
    // Calls the switch took per second, first INVITE to last: the rate sustained through it.
    calls_per_s:
      Math.round(((dialTimes.length - 1) / ((Math.max(...dialTimes) - Math.min(...dialTimes)) / 1e6)) * 10) /
      10,
    events,
    delivered: keys.size,
    lost,
    duplicates: arrivals.length - keys.size,
    p50_ms: ms(quantile(latencies, 0.5)),
    p99_ms: ms(quantile(latencies, 0.99)),
    max_ms: ms(latencies.at(-1) ?? Number.NaN),
    broker_p50_ms: ms(quantile(brokerSorted, 0.5)),
    broker_p99_ms: ms(quantile(brokerSorted, 0.99)),
    callhook_p50_ms: ms(quantile(own, 0.5)),
    callhook_p99_ms: ms(quantile(own, 0.99)),
    p99_ratio_to_broker: Math.round((quantile(latencies, 0.99) / quantile(brokerSorted, 0.99)) * 10) / 10,
    load_1m: load.map((l) => Math.round(l * 100) / 100),
  };
  console.log(
    `SIP benchmark: sipp at ${rate} calls/s for ${duration} s (ring ${ringMs} ms, talk ${talkMs} ms), Kamailio ${children} workers, ${result.store}`,
  );
  console.log(
    `  calls: ${total} offered, ${promised.size} through the switch (${answeredCalls} answered) at ${result.calls_per_s} calls/s; sipp done in ${Math.round(placing)} s, exit ${placed.code}`,
  );
  console.log(
    `  webhooks: ${keys.size} of ${events} events delivered, ${lost} lost, ${result.duplicates} duplicates`,
  );
  console.log(
    `  switch → receiver:  p50 ${result.p50_ms} ms  p99 ${result.p99_ms} ms  max ${result.max_ms} ms   (target p99 ≤ 50 ms)`,
  );
  console.log(
    `  switch → broker:    p50 ${result.broker_p50_ms} ms  p99 ${result.broker_p99_ms} ms   (baseline, same run: the part before callhook)`,
  );
  console.log(
    `  broker → receiver:  p50 ${result.callhook_p50_ms} ms  p99 ${result.callhook_p99_ms} ms   (callhook's part: consume, intake, deliver)`,
  );
  console.log(`  load average (1 min) at start and end: ${result.load_1m.join(', ')} on this machine`);
  console.log(JSON.stringify(result));
  for (const c of cleanups.reverse()) await c().catch(() => {});
  process.exit(lost === 0 && placed.code === 0 ? 0 : 1);
} catch (err) {
  console.error(`bench:sip failed: ${(err as Error).message}`);
  for (const c of cleanups.reverse()) await c().catch(() => {});
  process.exit(1);
}
