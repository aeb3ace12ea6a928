import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropConsumer, streamMessages } from '@callhook/kamailio/lab';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { demoServerEnv, demoToken, freePort, killAll, startServerProcess } from '../children.js';
import { freshDatabase, pgAdminUrl } from '../pg.js';
import { type Receiver, startReceiver } from '../receivers.js';
import { describeSip, fieldsOf, natsUrl, type SipWorld, startSipWorld, until } from './world.js';

/**
 * callhook killed (SIGKILL, no goodbye) while a switch keeps placing calls, then started again:
 * the switch's messages waited in the stream, those the dead process took but had not
 * acknowledged come again, and the keys keep what it had already stored from becoming a second
 * webhook. Every call's events arrive, a repeat only with its first webhook-id, none invented.
 * Runs on SQLite, and on PostgreSQL in the suite's PostgreSQL pass.
 */
const CALLS = 30;
const TALK_MS = 800;

afterAll(killAll);

describeSip('callhook restarted while calls are placed', () => {
  let world: SipWorld;
  let rx: Receiver;
  let dir: string;
  let database: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  let env: NodeJS.ProcessEnv;
  let url: string;
  let server: ChildProcess;
  beforeAll(async () => {
    world = await startSipWorld({ ringMs: 200, server: false });
    rx = await startReceiver();
    dir = mkdtempSync(join(tmpdir(), 'callhook-sip-restart-'));
    database = pgAdminUrl ? await freshDatabase() : undefined;
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    env = demoServerEnv({
      port,
      dir,
      secret: 'sip-restart-secret',
      ...(database ? { databaseUrl: database.url } : {}),
      extra: {
        // A restarted PostgreSQL instance waits out the dead one's delivery leases: keep them short.
        CALLHOOK_DELIVERY_LEASE: '3',
        CALLHOOK_KAMAILIO_NATS_URL: natsUrl,
        CALLHOOK_KAMAILIO_STREAM: world.stream,
        CALLHOOK_KAMAILIO_SUBJECT: world.subject,
        // What the killed process held unacknowledged comes again after this many seconds.
        CALLHOOK_KAMAILIO_ACK_WAIT: '2',
      },
    });
    server = await startServerProcess(env, url);
    const access_token = await demoToken(url, 'sip-restart-secret');
    for (const type of ['dial-out', 'answer', 'hangup']) {
      const res = await fetch(`${url}/api/ver1.0/extension/175/event/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${rx.url}/hook`, method: 'POST', event_type: type }),
      });
      expect(res.status).toBe(200);
    }
  });
  afterAll(async () => {
    server?.kill('SIGTERM');
    if (server && server.exitCode === null) await new Promise((r) => server.once('exit', r));
    await world?.stop();
    await rx?.close();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('every call placed across a kill -9 and a restart: all its events, once each by webhook-id', async () => {
    // Answered calls and busy ones, three a second for ten seconds.
    const calls = Array.from({ length: CALLS }, (_, i) => ({
      from: '000*099',
      name: 'Iggy Pop',
      to: i % 3 === 2 ? '00010486' : '00010005',
      action: 'hangup' as const,
      ms: TALK_MS,
    }));
    let killedAt = 0;
    let before = 0;
    const placing = world.call(calls, { rate: 3, limit: CALLS });
    // Kill it once events are flowing, keep it down while calls go on, then start it again.
    await until('events flowing before the kill', () => rx.received.length >= 6, 20_000);
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    killedAt = Date.now();
    before = rx.received.length;
    await new Promise((r) => setTimeout(r, 2500));
    server = await startServerProcess(env, url);
    const placed = await placing;
    expect(placed.code, placed.errors).toBe(0);
    expect(killedAt).toBeGreaterThan(0);

    const expected = new Map<string, string[]>();
    for (const [i, c] of calls.entries()) {
      const callId = world.callIdOf(placed.sipCallIds[i]!);
      expected.set(callId, c.to === '00010005' ? ['dial-out', 'answer', 'hangup'] : ['dial-out', 'hangup']);
    }
    const total = [...expected.values()].reduce((n, e) => n + e.length, 0);
    // Which webhook-ids each event (call, type) came with.
    const arrivals = () => {
      const seen = new Map<string, Set<string>>();
      for (const r of rx.received) {
        const f = fieldsOf(r);
        const k = `${f.CallID} ${f.EventType}`;
        const ids = seen.get(k) ?? new Set<string>();
        ids.add(r.headers['webhook-id'] as string);
        seen.set(k, ids);
      }
      return seen;
    };
    await until(`all ${total} events (have ${arrivals().size})`, () => arrivals().size >= total, 30_000);
    await new Promise((r) => setTimeout(r, 500));

    const seen = arrivals();
    console.log(
      `SIP restart: ${CALLS} calls, ${total} events, ${before} requests before the kill, ` +
        `${rx.received.length} requests in all (${rx.received.length - seen.size} repeats)`,
    );
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(total);
    // None invented: only the placed calls' events.
    expect([...seen.keys()].sort()).toEqual(
      [...expected].flatMap(([callId, types]) => types.map((t) => `${callId} ${t}`)).sort(),
    );
    // A repeat (a delivery retried after the kill) keeps its webhook-id: one id per event.
    for (const [k, ids] of seen) expect(ids.size, k).toBe(1);
    // Each call's events in its order, whatever came twice.
    for (const [callId, types] of expected) {
      const order = rx.received
        .map(fieldsOf)
        .filter((f) => f.CallID === callId)
        .map((f) => f.EventType);
      expect(order.filter((t, i) => order.indexOf(t) === i)).toEqual(types);
    }

    // The broker hands out everything again (its consumer lost): no webhook comes of it.
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    await dropConsumer(natsUrl, world.stream, 'callhook');
    const requests = rx.received.length;
    const messages = await streamMessages(natsUrl, world.stream);
    server = await startServerProcess(env, url);
    const counted = async (what: string) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return Number(new RegExp(`callhook_kamailio_total\\{what="${what}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
    };
    const deadline = Date.now() + 15_000;
    while ((await counted('messages')) < messages && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    // Every message again (some maybe more than once: this machine may stall a process past the
    // 2 s it has to acknowledge), every event a repeat, nothing stored, nothing sent.
    expect(await counted('messages')).toBeGreaterThanOrEqual(messages);
    expect(await counted('repeats')).toBeGreaterThanOrEqual(total);
    expect(await counted('events')).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    expect(rx.received.length).toBe(requests);
  });
});
