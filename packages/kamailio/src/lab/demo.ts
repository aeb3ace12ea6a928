#!/usr/bin/env node
// `npm run demo:sip`: the page's call placed for real. Kamailio (deploy/kamailio) as the switch,
// publishing to NATS JetStream; callhook consuming it (its Kamailio source); a receiver that logs
// like the page's show.php, subscribed as the page does; sipp as the phone 000*099 and as the PSTN
// gateway. The phone calls 00010005, the gateway answers, the phone hangs up: three webhooks.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { WebhookParser } from '@callhook/receiver';
import { startCallhook } from './callhook.js';
import { dropStream, jetStreamUnavailable } from './nats.js';
import { placeCalls, startCallee } from './sipp.js';
import { startSwitch } from './switch.js';
import { findTools } from './tools.js';

const HELP = `npm run demo:sip [-- --nats nats://host:4222] [--fast]

Starts Kamailio with deploy/kamailio/kamailio.cfg on a free UDP port on loopback, a callhook
server (SQLite in a temporary directory) consuming the switch's events from NATS JetStream, and a
receiver that logs each request like the page's show.php; subscribes the receiver to dial-out,
answer and hangup of extension 175 as the page does; then sipp, as the phone 000*099 ("Iggy Pop"),
calls 00010005 through the switch, the gateway (sipp too) rings ~1.8 s and answers, and the phone
hangs up ~4.2 s later, as in the page's log. Needs kamailio, kamailio-extra-modules,
kamailio-nats-modules and sip-tester (Debian), and NATS with JetStream.
`;

const { values } = parseArgs({
  options: {
    nats: { type: 'string', default: process.env.CALLHOOK_KAMAILIO_NATS_URL || 'nats://127.0.0.1:4222' },
    fast: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const out = (line = '') => process.stdout.write(`${line}\n`);
const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[22m` : s);
const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[22m` : s);

const { tools, missing } = findTools();
const natsProblem = await jetStreamUnavailable(values.nats);
if (!tools || natsProblem) {
  out('demo:sip needs a real switch and a broker on this machine, and is missing:');
  for (const m of [...missing, ...(natsProblem ? [`${natsProblem} (nats-server -js, or --nats URL)`] : [])]) {
    out(`  - ${m}`);
  }
  out(
    'On Debian: sudo apt-get install kamailio kamailio-extra-modules kamailio-nats-modules sip-tester nats-server',
  );
  process.exit(1);
}

// The page's timing: the answer 1.84 s after the dial, the hangup 4.24 s after the answer.
const ringMs = values.fast ? 300 : 1841;
const talkMs = values.fast ? 500 : 4240;
const run = randomBytes(4).toString('hex');
const stream = `CALLHOOK_DEMO_${run.toUpperCase()}`;
const subject = `callhook.demo.${run}.events`;
const cleanups: Array<() => Promise<unknown>> = [];
const cleanup = async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
};

try {
  const callhook = await startCallhook({ natsUrl: values.nats, stream, subject });
  cleanups.push(
    () => callhook.stop(),
    () => dropStream(values.nats, stream),
  );

  // The page's show.php: one line per field, as PHP's error_log shows $_GET.
  const parser: { current?: WebhookParser } = {};
  let arrived = 0;
  let verified = 0;
  let wake = () => {};
  const receiver = createServer((req: IncomingMessage, res) => {
    const stamp = `[${new Date().toString().slice(0, 24)}]`;
    out(`${dim(stamp)}  ------`);
    const query = (req.url ?? '').split('?')[1] ?? '';
    for (const [k, v] of new URLSearchParams(query)) out(`${dim(stamp)}  ${k} => ${v}`);
    try {
      parser.current?.parse({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
      verified++;
    } catch (err) {
      out(`  (refused by @callhook/receiver: ${(err as Error).message})`);
    }
    arrived++;
    wake();
    res.end('ok');
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => receiver.close(r)));
  const show = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/fordel/show.php?myid=175`;

  const gateway = await startCallee({ tools, ringMs });
  cleanups.push(() => gateway.stop());
  const sw = await startSwitch({ tools, natsUrl: values.nats, subject, gateway: gateway.address });
  cleanups.push(() => sw.stop());

  out(bold("callhook demo:sip — the page's call through a real SIP switch"));
  out(`  switch:   Kamailio, deploy/kamailio/kamailio.cfg, on udp:${sw.address}`);
  out(`  broker:   NATS JetStream at ${values.nats}, stream ${stream}, subject ${subject}`);
  out(`  callhook: ${callhook.url}, consuming the stream (CALLHOOK_KAMAILIO_NATS_URL)`);
  out(`  gateway:  sipp on udp:${gateway.address}, rings ${ringMs} ms, then answers`);
  out();
  const secrets: string[] = [];
  for (const type of ['dial-out', 'answer', 'hangup']) {
    const body = { url: show, method: 'GET', event_type: type };
    const created = await callhook.subscribe(175, type, show, 'GET');
    if (created.secret !== undefined) secrets.push(created.secret);
    out(`POST /extension/175/event/ ${JSON.stringify(body)}  → id ${created.id}`);
  }
  parser.current = new WebhookParser({ secret: secrets });
  out();
  out(`sipp: 000*099 "Iggy Pop" calls 00010005, talks ${talkMs} ms, hangs up`);
  out();
  const placed = await placeCalls({
    tools,
    switchAddress: sw.address,
    calls: [{ from: '000*099', name: 'Iggy Pop', to: '00010005', action: 'hangup', ms: talkMs }],
  });
  if (placed.code !== 0) throw new Error(`the call failed (sipp exit ${placed.code}):\n${placed.errors}`);
  const deadline = Date.now() + 15_000;
  while (arrived < 3 && Date.now() < deadline) {
    await new Promise<void>((r) => {
      wake = r;
      setTimeout(r, 200);
    });
  }
  out();
  out(
    arrived === 3
      ? `${bold('3 requests')}, ${verified} with good signatures. SIP Call-ID ${placed.sipCallIds[0]}.`
      : `only ${arrived} of 3 requests arrived`,
  );
  await cleanup();
  process.exit(arrived === 3 && verified === 3 ? 0 : 1);
} catch (err) {
  out(`demo:sip failed: ${(err as Error).message}`);
  await cleanup();
  process.exit(1);
}
