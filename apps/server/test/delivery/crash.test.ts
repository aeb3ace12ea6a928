import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IntakeEvent } from '@callhook/contract';
import { afterAll, expect, test } from 'vitest';
import { demoServerEnv, demoToken, freePort, killAll, startServerProcess } from '../children.js';
import { callEvents } from '../events.js';
import { freshDatabase, pgAdminUrl } from '../pg.js';
import { startReceiver } from '../receivers.js';

afterAll(killAll);

test('kill -9 mid-way: every accepted event arrives, duplicates keep their webhook-id', {
  timeout: 180_000,
}, async () => {
  const N = 5_000;
  const dir = mkdtempSync(join(tmpdir(), 'callhook-crash-'));
  // Which webhook-ids each event (by its Tag) arrived with.
  const arrivals = new Map<string, Set<string>>();
  let requests = 0;
  const rx = await startReceiver((req, res) => {
    requests++;
    const tag = new URLSearchParams(req.body).get('Tag')!;
    let ids = arrivals.get(tag);
    if (!ids) {
      ids = new Set();
      arrivals.set(tag, ids);
    }
    ids.add(req.headers['webhook-id'] as string);
    res.end('ok');
  });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // CALLHOOK_TEST_DATABASE_URL: the same test on a fresh PostgreSQL database.
  const database = pgAdminUrl ? await freshDatabase() : undefined;
  const pbxKey = 'crash-test-pbx-key-0123456789';
  const env = demoServerEnv({
    port,
    dir,
    secret: 'crash-test-secret',
    pbxKey,
    ...(database ? { databaseUrl: database.url } : {}),
    // Several instances may share PostgreSQL, so a restart waits out the dead one's leases: keep them short.
    extra: database ? { CALLHOOK_DELIVERY_LEASE: '5' } : {},
  });
  let server = await startServerProcess(env, url);
  try {
    const access_token = await demoToken(url, 'crash-test-secret');
    for (const type of ['dial-out', 'answer', 'hangup']) {
      const res = await fetch(`${url}/api/ver1.0/extension/175/event/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${rx.url}/hook`, method: 'POST', event_type: type }),
      });
      expect(res.status).toBe(200);
    }

    // N events: calls of three events each, every event tagged with its number.
    const events: IntakeEvent[] = [];
    while (events.length < N) {
      for (const e of callEvents(175, 3)) {
        if (events.length < N)
          events.push({ ...e, data: { ...e.data, Tag: String(events.length) } } as IntakeEvent);
      }
    }
    const batches: IntakeEvent[][] = [];
    for (let i = 0; i < N; i += 100) batches.push(events.slice(i, i + 100));

    const send = (batch: IntakeEvent[]) =>
      fetch(`${url}/api/ver1.0/pbx/event/batch/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-pbx-key': pbxKey },
        body: JSON.stringify({ events: batch }),
      }).then(
        (r) => r.status === 202,
        () => false,
      );

    // Send half, then kill the server without warning while deliveries are in flight.
    const accepted = new Set<number>();
    let i = 0;
    for (; i < batches.length / 2; i++) if (await send(batches[i]!)) accepted.add(i);
    await new Promise((r) => setTimeout(r, 150));
    const deliveredBeforeKill = arrivals.size;
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));

    // A PBX retries what was not acknowledged; the restarted server takes the rest.
    server = await startServerProcess(env, url);
    for (let j = 0; j < batches.length; j++) {
      if (!accepted.has(j) && (await send(batches[j]!))) accepted.add(j);
    }
    expect(accepted.size).toBe(batches.length);

    const deadline = Date.now() + 120_000;
    while (arrivals.size < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const missing = events.map((_, k) => String(k)).filter((tag) => !arrivals.has(tag));
    const duplicates = requests - arrivals.size;
    console.log(
      `crash test: ${N} events, ${deliveredBeforeKill} delivered before kill -9, ${missing.length} missing, ${duplicates} duplicate requests`,
    );
    expect(deliveredBeforeKill).toBeGreaterThan(0);
    expect(deliveredBeforeKill).toBeLessThan(N);
    expect(missing).toEqual([]);
    // A duplicate is the same delivery sent again: one webhook-id per event.
    for (const ids of arrivals.values()) expect(ids.size).toBe(1);
  } finally {
    server.kill('SIGTERM');
    if (server.exitCode === null) await new Promise((r) => server.once('exit', r));
    await rx.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
});
