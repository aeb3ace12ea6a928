import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IntakeEvent, SubscriptionCreated } from '@callhook/contract';
import { Webhook } from 'standardwebhooks';
import { afterAll, expect, test } from 'vitest';
import { demoServerEnv, demoToken, freePort, killAll, startServerProcess } from '../children.js';
import { callEvents } from '../events.js';
import { startReceiver } from '../receivers.js';

afterAll(killAll);

// CALLHOOK_SEND_THREADS=2: the built server sends from two worker threads (dist: a worker runs
// JavaScript files). Every delivery arrives once, signed with its endpoint's secret, each call in
// order, GET and POST; if the threads could not send, nothing would arrive.
test('deliveries sent from worker threads arrive once, signed, in order', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'callhook-threads-'));
  const rx = await startReceiver();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const pbxKey = 'threads-test-pbx-key-0123456789';
  const env = demoServerEnv({
    port,
    dir,
    secret: 'threads-test-secret',
    pbxKey,
    extra: { CALLHOOK_SEND_THREADS: '2' },
  });
  const server = await startServerProcess(env, url);
  try {
    const access_token = await demoToken(url, 'threads-test-secret');
    const secrets = new Map<string, string>();
    for (const [type, method, path] of [
      ['dial-out', 'POST', '/post'],
      ['answer', 'POST', '/post'],
      ['hangup', 'POST', '/post'],
      ['hangup', 'GET', '/get?site=1'],
    ] as const) {
      const res = await fetch(`${url}/api/ver1.0/extension/175/event/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${rx.url}${path}`, method, event_type: type }),
      });
      expect(res.status).toBe(200);
      const sub = (await res.json()) as SubscriptionCreated;
      if (sub.secret) secrets.set(path.split('?')[0]!, sub.secret);
    }

    const CALLS = 300;
    const events: IntakeEvent[] = [];
    for (let i = 0; i < CALLS; i++) events.push(...callEvents(175, 3, 't'));
    for (let i = 0; i < events.length; i += 100) {
      const res = await fetch(`${url}/api/ver1.0/pbx/event/batch/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-pbx-key': pbxKey },
        body: JSON.stringify({ events: events.slice(i, i + 100) }),
      });
      expect(res.status).toBe(202);
    }
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
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await rx.close();
    rmSync(dir, { recursive: true, force: true });
  }
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
