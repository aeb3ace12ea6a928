import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeliveryDetail, DeliveryPage, IntakeEvent, SubscriptionCreated } from '@callhook/contract';
import { Webhook } from 'standardwebhooks';
import { afterAll, expect, test } from 'vitest';
import { threadFor, threadShare } from '../../dist/delivery/send-threads.js';
import { THREAD_NAMES } from '../../dist/thread-name.js';
import { demoServerEnv, demoToken, freePort, killAll, startServerProcess } from '../children.js';
import { until } from '../direct.js';
import { callEvents } from '../events.js';
import { holdingReplies, type Receiver, type Reply, startReceiver } from '../receivers.js';

afterAll(killAll);

type BuiltServer = Awaited<ReturnType<typeof builtServer>>;

/** The built server as a process with `extra` settings; `subscribe` and `ingest` as the demo client and its PBX. */
async function builtServer(name: string, extra: NodeJS.ProcessEnv) {
  const dir = mkdtempSync(join(tmpdir(), `callhook-${name}-`));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const pbxKey = `${name}-pbx-key-0123456789`;
  const secret = `${name}-secret`;
  const server = await startServerProcess(demoServerEnv({ port, dir, secret, pbxKey, extra }), url);
  const access_token = await demoToken(url, secret);
  return {
    url,
    async subscribe(target: string, event_type: string, method = 'POST'): Promise<SubscriptionCreated> {
      const res = await fetch(`${url}/api/ver1.0/extension/175/event/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: target, method, event_type }),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as SubscriptionCreated;
    },
    async ingest(events: IntakeEvent[]): Promise<void> {
      for (let i = 0; i < events.length; i += 100) {
        const res = await fetch(`${url}/api/ver1.0/pbx/event/batch/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-pbx-key': pbxKey },
          body: JSON.stringify({ events: events.slice(i, i + 100) }),
        });
        expect(res.status).toBe(202);
      }
    },
    /** GET of the API (as the demo client), its JSON. */
    async api<T>(path: string): Promise<T> {
      const res = await fetch(`${url}/api/ver1.0${path}`, {
        headers: { authorization: `Bearer ${access_token}` },
      });
      expect(res.status).toBe(200);
      return (await res.json()) as T;
    },
    /** A sample of the server's /metrics (0 when absent). */
    async metric(name: string, labels = ''): Promise<number> {
      const text = await (await fetch(`${url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
      return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
    },
    async stop(): Promise<void> {
      server.kill('SIGTERM');
      if (server.exitCode === null) await new Promise((r) => server.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// CALLHOOK_SEND_THREADS=2: the built server sends from two worker threads (dist: a worker runs
// JavaScript files). Every delivery arrives once, signed with its endpoint's secret, each call in
// order, GET and POST; if the threads could not send, nothing would arrive.
test('deliveries sent from worker threads arrive once, signed, in order', { timeout: 120_000 }, async () => {
  const rx = await startReceiver();
  const server = await builtServer('threads-test', { CALLHOOK_SEND_THREADS: '2' });
  try {
    const secrets = new Map<string, string>();
    const subs = new Map<string, number>();
    for (const [type, method, path] of [
      ['dial-out', 'POST', '/post'],
      ['answer', 'POST', '/post'],
      ['hangup', 'POST', '/post'],
      ['hangup', 'GET', '/get?site=1'],
    ] as const) {
      const sub = await server.subscribe(`${rx.url}${path}`, type, method);
      if (sub.secret) secrets.set(path.split('?')[0]!, sub.secret);
      subs.set(`${type} ${method}`, sub.id);
    }

    const CALLS = 300;
    const events: IntakeEvent[] = [];
    for (let i = 0; i < CALLS; i++) events.push(...callEvents(175, 3, 't'));
    await server.ingest(events);
    const expected = events.length + CALLS; // every event by POST, every hangup by GET too
    await rx.waitFor(expected, 60_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.received).toHaveLength(expected);
    expect(new Set(rx.received.map((r) => r.headers['webhook-id'])).size).toBe(expected);

    const order = new Map<string, string[]>();
    for (const r of rx.received) {
      const get = r.method === 'GET';
      const payload = get ? r.url.slice(r.url.indexOf('?') + 1) : r.body;
      const secret = secrets.get(get ? '/get' : '/post')!;
      const id = r.headers['webhook-id'] as string;
      const at = new Date(Number(r.headers['webhook-timestamp']) * 1000);
      expect((r.headers['webhook-signature'] as string).split(' ')).toContain(
        new Webhook(secret).sign(id, at, payload),
      );
      const data = new URLSearchParams(payload);
      if (get) {
        expect(data.get('site')).toBe('1');
        expect(data.get('EventType')).toBe('hangup');
        continue;
      }
      const call = data.get('CallID')!;
      order.set(call, [...(order.get(call) ?? []), data.get('Tag')!]);
    }
    expect(order.size).toBe(CALLS);
    for (const tags of order.values()) expect(tags).toEqual(['t0', 't1', 't2']);

    // The delivery log shows each attempt's request as it was sent (the main thread rebuilds it
    // from what crosses back) and the response as it came, GET and POST.
    for (const [key, method] of [
      ['hangup GET', 'GET'],
      ['hangup POST', 'POST'],
    ] as const) {
      const subId = subs.get(key)!;
      const list = await server.api<DeliveryPage>(`/extension/175/event/${subId}/delivery/?per_page=3`);
      expect(list.items.length).toBe(3);
      for (const { id } of list.items) {
        const detail = await server.api<DeliveryDetail>(`/extension/175/event/${subId}/delivery/${id}`);
        const sent = rx.received.find((r) => r.headers['webhook-id'] === id)!;
        expect(sent.method).toBe(method);
        const attempt = detail.attempt_log[0]!;
        expect(attempt).toMatchObject({ outcome: 'success', status_code: 200 });
        const headers: Record<string, string> = {
          'user-agent': String(sent.headers['user-agent']),
          'webhook-id': id,
          'webhook-timestamp': String(sent.headers['webhook-timestamp']),
          'webhook-signature': 'v1,…',
        };
        if (method === 'POST') headers['content-type'] = String(sent.headers['content-type']);
        expect(attempt.request).toEqual({
          method,
          url: `${rx.url}${sent.url}`,
          headers,
          body: method === 'POST' ? sent.body : null,
        });
        expect(attempt.response).toMatchObject({ status: 200, body: 'ok', body_truncated: false });
        expect(attempt.response!.headers['content-length']).toBe('2');
      }
    }
  } finally {
    await server.stop();
    await rx.close();
  }
});

// A sending thread is handed 8 times the caps (so that no slot waits for the main thread to
// refill it) and keeps the caps itself: no receiving host ever has more requests at once than
// CALLHOOK_DELIVERY_PER_HOST, nor all hosts together more than CALLHOOK_DELIVERY_CONCURRENCY.
// Two slow receivers, 120 deliveries each; per host 3, in all 5. Returns the most each receiver,
// and both together, had at once.
async function capsRun(threads: number, apart = false) {
  let now = 0;
  let most = 0;
  const slow = () => {
    const host = { now: 0, most: 0 };
    const reply: Reply = async (_r, res) => {
      host.most = Math.max(host.most, ++host.now);
      most = Math.max(most, ++now);
      await new Promise((r) => setTimeout(r, 20));
      host.now--;
      now--;
      res.end('ok');
    };
    return { host, reply };
  };
  const a = slow();
  const b = slow();
  const rxA = await startReceiver(a.reply);
  let rxB = await startReceiver(b.reply);
  // apart: the second receiver's host is sent to by the other thread than the first's.
  const hostOf = (url: string) => new URL(url).host;
  for (let tries = 0; apart && threadFor(hostOf(rxA.url), 2) === threadFor(hostOf(rxB.url), 2); tries++) {
    if (tries === 50) throw new Error('no two receivers on different threads in 50 ports');
    await rxB.close();
    rxB = await startReceiver(b.reply);
  }
  const threadOfA = threadFor(hostOf(rxA.url), threads);
  const server = await builtServer(`threads-caps-${threads}`, {
    CALLHOOK_SEND_THREADS: String(threads),
    CALLHOOK_DELIVERY_PER_HOST: '3',
    CALLHOOK_DELIVERY_CONCURRENCY: '5',
  });
  try {
    await server.subscribe(`${rxA.url}/a`, 'hangup');
    await server.subscribe(`${rxB.url}/b`, 'hangup');
    const events: IntakeEvent[] = [];
    for (let i = 0; i < 120; i++) events.push(...callEvents(175, 1));
    await server.ingest(events);
    await rxA.waitFor(120, 30_000);
    await rxB.waitFor(120, 30_000);
    expect(new Set([...rxA.received, ...rxB.received].map((r) => r.headers['webhook-id'])).size).toBe(240);
    return { a: a.host.most, b: b.host.most, most, threadOfA };
  } finally {
    await server.stop();
    await rxA.close();
    await rxB.close();
  }
}

test('a sending thread keeps the caps on requests at once, per host and in all', {
  timeout: 60_000,
}, async () => {
  const { a, b, most } = await capsRun(1);
  expect(a).toBeLessThanOrEqual(3);
  expect(b).toBeLessThanOrEqual(3);
  // The caps are reached, not only respected: the thread does use the slots it has.
  expect(most).toBe(5);
});

// Two threads share the cap in all: 3 and 2 of 5 (each thread's share rounded up kept 3 and 3,
// 6 at once). The receivers are chosen so that each is sent to by its own thread: the first
// thread's (share 3) and the second's (share 2), which its host's cap of 3 cannot exceed.
test('two sending threads share the cap in all exactly, not rounded up', { timeout: 60_000 }, async () => {
  expect([threadShare(5, 2, 0), threadShare(5, 2, 1)]).toEqual([3, 2]);
  const { a, b, most, threadOfA } = await capsRun(2, true);
  expect(threadOfA === 0 ? [a, b] : [b, a]).toEqual([3, 2]);
  expect(most).toBe(5);
});

// A host that refuses connections is held after CALLHOOK_BREAKER_FAILURES attempts in a row. The
// thread holds a queue for it 8 times its cap; that queue must wait from the thread's own count of
// failures, and come back to the dispatcher once the host is held, not be spent on the dead host
// (it was: 32 attempts where the main thread makes 5 to 9). Nothing it gave back is lost: once
// the host listens, every delivery arrives, once.
test('a sending thread spends no more attempts on a dead host than the main thread, and loses none', {
  timeout: 60_000,
}, async () => {
  const deadPort = await freePort();
  const server = await builtServer('threads-dead', {
    CALLHOOK_SEND_THREADS: '1',
    CALLHOOK_DELIVERY_PER_HOST: '4',
    CALLHOOK_BREAKER_FAILURES: '5',
    CALLHOOK_RETRY_SCHEDULE: '1,1,1,1,1,1,1,1,1,1',
    CALLHOOK_RETRY_JITTER: '0',
  });
  let rx: Awaited<ReturnType<typeof startReceiver>> | undefined;
  try {
    await server.subscribe(`http://127.0.0.1:${deadPort}/hook`, 'hangup');
    const events: IntakeEvent[] = [];
    for (let i = 0; i < 200; i++) events.push(...callEvents(175, 1));
    await server.ingest(events);
    // Held once the failures are counted: within a moment alone, later on a machine busy with
    // other tests (a fixed wait of 600 ms found it not held in one CI run, and in one of five runs
    // of this test alone). The first probe comes a second after the hold, so what was refused by
    // then came before it; and a dead host stays held through its probes.
    await until(
      () => server.metric('callhook_delivery_hosts_held'),
      (held) => held === 1,
      10_000,
    );
    const refused = await server.metric('callhook_delivery_attempts_total', 'outcome="connection_error"');
    expect(refused).toBeGreaterThanOrEqual(5);
    expect(refused).toBeLessThanOrEqual(5 + 4);
    await new Promise((r) => setTimeout(r, 300));
    expect(await server.metric('callhook_delivery_hosts_held')).toBe(1);
    rx = await startReceiver(undefined, deadPort);
    await rx.waitFor(200, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(new Set(rx.received.map((r) => r.headers['webhook-id'])).size).toBe(200);
    expect(rx.received).toHaveLength(200);
  } finally {
    await server.stop();
    await rx?.close();
  }
});

/**
 * On a server with a sending thread, 4 requests at once in all and per host and a 30 s timeout:
 * `bad` receivers that answer their first `answerFirst` requests and hold the rest, beside a
 * healthy one, 30 one-event calls to each. The healthy one has all of its own within 10 s, well
 * inside the first timeout; `check` looks further while the bad ones still hold what they hold
 * (`release` lets them answer).
 */
async function besideHealthy(
  name: string,
  bad: number,
  answerFirst: number,
  check: (server: BuiltServer, bad: Receiver[], release: () => void) => Promise<void>,
  waitMs = 15_000,
): Promise<void> {
  const holding = holdingReplies(answerFirst);
  const others = await Promise.all(Array.from({ length: bad }, () => startReceiver(holding.reply())));
  const healthy = await startReceiver();
  const server = await builtServer(name, {
    CALLHOOK_SEND_THREADS: '1',
    CALLHOOK_DELIVERY_CONCURRENCY: '4',
    CALLHOOK_DELIVERY_PER_HOST: '4',
    CALLHOOK_DELIVERY_TIMEOUT: '30',
  });
  try {
    for (const [i, rx] of others.entries()) await server.subscribe(`${rx.url}/bad${i}`, 'hangup');
    await server.subscribe(`${healthy.url}/alive`, 'hangup');
    const events: IntakeEvent[] = [];
    for (let i = 0; i < 30; i++) events.push(...callEvents(175, 1));
    const started = Date.now();
    await server.ingest(events);
    await healthy.waitFor(30, waitMs);
    expect(Date.now() - started).toBeLessThan(10_000);
    await check(server, others, holding.release);
  } finally {
    holding.release();
    await server.stop();
    for (const rx of [...others, healthy]) await rx.close();
  }
}

// Receivers that accept and never answer, more of them than the sending thread has slots: on the
// thread as on the main thread (retries.test.ts), a host that has not answered gets one request,
// such hosts share half the slots, and a request unanswered after a second stops counting (and
// so do its host's next ones, up to its cap). The thread's own queue took them in the map's order:
// every slot a healthy host freed went to the first hosts, which held all four to their timeout.
test('on a sending thread, receivers that never answer do not hold back a healthy one', {
  timeout: 60_000,
}, async () => {
  await besideHealthy('threads-hang', 6, 0, async (_server, dead) => {
    for (const rx of dead) expect(rx.received.length).toBeLessThanOrEqual(4);
  });
});

// Receivers that answer at first (proven, at their cap) and then hold every request: on the
// thread, as on the main thread, a proven host with requests under way and no answer for a second
// is unproven again and they stop counting; before, two such hosts held all four slots to the
// timeout (30 s here).
test('on a sending thread, receivers that answered and then stop answering do not hold back a healthy one', {
  timeout: 60_000,
}, async () => {
  await besideHealthy(
    'threads-turned',
    2,
    3,
    async (server, turned, release) => {
      for (const rx of turned) {
        expect(rx.received.length).toBeGreaterThanOrEqual(4);
        expect(rx.received.length).toBeLessThanOrEqual(3 + 4);
      }
      // What they hold is counted apart: at least the 4 requests each holds, until they answer.
      expect(await server.metric('callhook_delivery_in_flight_unanswered')).toBeGreaterThanOrEqual(8);
      release();
      await until(
        () => server.metric('callhook_delivery_in_flight_unanswered'),
        (n) => n === 0,
        10_000,
      );
      for (const rx of turned) await rx.waitFor(30, 10_000);
    },
    20_000,
  );
});

// A receiver whose TLS handshake is never answered: the attempt gives up at its deadline (1 s)
// while the connection is still being made, whose own timeout is 20 s here. The server's
// shutdown must not wait for that connection, on the main thread or on a sending thread (whose
// thread it kept alive until the connect timeout).
for (const threads of ['0', '1']) {
  test(`a shutdown does not wait for a connection still being made (CALLHOOK_SEND_THREADS=${threads})`, {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'callhook-threads-stop-'));
    const sockets: Socket[] = [];
    const mute = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const mutePort = (mute.address() as { port: number }).port;
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const pbxKey = 'threads-stop-pbx-key-0123456789';
    const env = demoServerEnv({
      port,
      dir,
      secret: 'threads-stop-secret',
      pbxKey,
      extra: {
        CALLHOOK_SEND_THREADS: threads,
        CALLHOOK_CONNECT_TIMEOUT: '20',
        CALLHOOK_DELIVERY_TIMEOUT: '1',
      },
    });
    const server = await startServerProcess(env, url);
    let exited = false;
    server.once('exit', () => {
      exited = true;
    });
    try {
      const access_token = await demoToken(url, 'threads-stop-secret');
      const res = await fetch(`${url}/api/ver1.0/extension/175/event/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          url: `https://127.0.0.1:${mutePort}/hook`,
          method: 'POST',
          event_type: 'hangup',
        }),
      });
      expect(res.status).toBe(200);
      // A call of one step is its hangup.
      const sent = await fetch(`${url}/api/ver1.0/pbx/event/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-pbx-key': pbxKey },
        body: JSON.stringify(callEvents(175, 1)[0]),
      });
      expect(sent.status).toBe(202);
      // The connection is taken, and the attempt's deadline passes.
      for (let i = 0; i < 100 && sockets.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(sockets.length).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 1500));
      const stopping = performance.now();
      server.kill('SIGTERM');
      await new Promise((r) => (exited ? r(undefined) : server.once('exit', r)));
      expect(performance.now() - stopping).toBeLessThan(8000);
    } finally {
      if (!exited) server.kill('SIGKILL');
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => mute.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.skipIf(process.platform !== 'linux')(
  "the server's threads carry names for top -H and ps -L: two sending threads, SQLite's checkpoint thread",
  { timeout: 30_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'callhook-names-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    try {
      const extra = { CALLHOOK_SEND_THREADS: '2', CALLHOOK_SQLITE_CHECKPOINT_MS: '500' };
      const server = await startServerProcess(demoServerEnv({ port, dir, secret: 'names', extra }), url);
      const names = () =>
        readdirSync(`/proc/${server.pid}/task`).map((tid) =>
          readFileSync(`/proc/${server.pid}/task/${tid}/comm`, 'utf8').trim(),
        );
      // A thread names itself as its code starts, soon after the server answers.
      const named = await until(
        async () => names().filter((n) => n.startsWith('callhook-')),
        (n) => n.length >= 3,
        20_000,
      );
      expect(named.sort()).toEqual([THREAD_NAMES.checkpoint, THREAD_NAMES.send, THREAD_NAMES.send]);
      // The main thread keeps the process's name.
      expect(readFileSync(`/proc/${server.pid}/task/${server.pid}/comm`, 'utf8').trim()).toBe('node');
      server.kill();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
