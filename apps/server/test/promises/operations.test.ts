import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeliveryDetail, DeliveryPage } from '@callhook/contract';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { demoServerEnv, demoToken, freePort, killAll, startServerProcess } from '../children.js';
import { until, withStore } from '../direct.js';
import { callEvents, pageCall } from '../events.js';
import { startTestServer, type TestServer } from '../harness.js';
import { freshDatabase, pgAdminUrl } from '../pg.js';
import { startReceiver } from '../receivers.js';

// Servers and processes start slowly on a loaded 2-core machine: generous limits, same checks.
vi.setConfig({ hookTimeout: 90_000, testTimeout: 90_000 });

afterAll(killAll);

/** The value of one sample in Prometheus text (`name{labels} value`); undefined when absent. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
const metrics = async (s: TestServer) => (await fetch(`${s.url}/metrics`)).text();

describe('delivery metrics have the values of what happened', () => {
  test('attempts by outcome, attempt and end-to-end histograms, queue depth and in-flight', {
    timeout: 90_000,
  }, async () => {
    let calls = 0;
    let hold: (() => void) | undefined;
    const rx = await startReceiver((req, res) => {
      if (req.url === '/hold') {
        hold = () => res.end('late');
        return;
      }
      calls++;
      res.statusCode = calls === 1 ? 500 : 204;
      res.end();
    });
    const s = await startTestServer({
      config: { retrySchedule: [0.05], retryJitter: 0, deliveryPollMs: 20, deliveryTimeoutSeconds: 30 },
    });
    try {
      const before = await metrics(s);
      expect(sample(before, 'callhook_delivery_queue_depth')).toBe(0);
      expect(sample(before, 'callhook_delivery_in_flight')).toBe(0);
      expect(sample(before, 'callhook_delivery_attempts_total', 'outcome="success"')).toBeUndefined();

      const sub = await s.subscribe(`${rx.url}/flaky`, 'hangup');
      await s.ingest([{ event_type: 'hangup', extension_id: 175, data: pageCall.hangup }]);
      await until(
        async () =>
          ((await (await s.api(`/extension/175/event/${sub.id}/delivery/`)).json()) as DeliveryPage).items,
        (l) => l[0]?.status === 'succeeded',
      );
      const after = await metrics(s);
      expect(sample(after, 'callhook_delivery_attempts_total', 'outcome="http_error"')).toBe(1);
      expect(sample(after, 'callhook_delivery_attempts_total', 'outcome="success"')).toBe(1);
      expect(sample(after, 'callhook_delivery_attempt_duration_seconds_count')).toBe(2);
      expect(sample(after, 'callhook_delivery_end_to_end_seconds_count')).toBe(1);
      const e2e = sample(after, 'callhook_delivery_end_to_end_seconds_sum')!;
      expect(e2e).toBeGreaterThanOrEqual(0.05); // it waited for its retry
      expect(e2e).toBeLessThan(10);
      expect(sample(after, 'callhook_delivery_queue_depth')).toBe(0);
      // The intake leased the delivery with its commit; its retry came due and a claim found it.
      expect(sample(after, 'callhook_delivery_taken_total', 'by="intake"')).toBe(1);
      expect(sample(after, 'callhook_delivery_taken_total', 'by="claim"')).toBe(1);
      expect(sample(after, 'callhook_delivery_claims_total', 'found="some"')).toBe(1);
      expect(sample(after, 'callhook_delivery_claims_total', 'found="none"')).toBeGreaterThan(0);
      await s.api(`/extension/175/event/${sub.id}`, { method: 'DELETE' });

      // A receiver that holds the request: one delivery waiting, one attempt in flight.
      await s.subscribe(`${rx.url}/hold`, 'hangup');
      await s.ingest([{ event_type: 'hangup', extension_id: 175, data: pageCall.hangup }]);
      await until(
        async () => hold,
        (h) => h !== undefined,
      );
      await new Promise((r) => setTimeout(r, 150));
      const during = await metrics(s);
      expect(sample(during, 'callhook_delivery_queue_depth')).toBe(1);
      expect(sample(during, 'callhook_delivery_in_flight')).toBe(1);
      hold!();
      const done = await until(
        () => metrics(s),
        // Counted as the answer comes; out of the queue once the result is written.
        (t) =>
          sample(t, 'callhook_delivery_attempts_total', 'outcome="success"') === 2 &&
          sample(t, 'callhook_delivery_queue_depth') === 0,
      );
      expect(sample(done, 'callhook_delivery_attempt_duration_seconds_count')).toBe(3);
      // The held attempt took about as long as it was held.
      expect(sample(done, 'callhook_delivery_attempt_duration_seconds_sum')).toBeGreaterThan(0.1);
      expect(sample(done, 'callhook_delivery_in_flight')).toBe(0);
      expect(sample(done, 'callhook_delivery_taken_total', 'by="intake"')).toBe(2);
    } finally {
      await s.stop();
      await rx.close();
    }
  });
});

describe('retention: payloads of finished deliveries are kept CALLHOOK_RETENTION_DAYS', () => {
  test('the sweeper empties old finished deliveries and drops old events; open and recent ones stay', {
    timeout: 90_000,
  }, async () => {
    const rx = await startReceiver((req, res) => {
      res.statusCode = req.url === '/down' ? 500 : 200;
      res.end();
    });
    const first = await startTestServer({ config: { retentionDays: 2, retrySchedule: [3600] } });
    let second: TestServer | undefined;
    try {
      const ok = await first.subscribe(`${rx.url}/up`, 'hangup');
      const down = await first.subscribe(`${rx.url}/down`, 'hangup');
      const [oldCall, recentCall] = [callEvents(175, 1), callEvents(175, 1)];
      await first.ingest(oldCall);
      await first.ingest(recentCall);
      const list = async (sub: number) =>
        ((await (await first.api(`/extension/175/event/${sub}/delivery/`)).json()) as DeliveryPage).items;
      await until(
        async () => [...(await list(ok.id)), ...(await list(down.id))],
        (l) =>
          l.filter((d) => d.status === 'succeeded').length === 2 &&
          l.filter((d) => d.status === 'retrying').length === 2,
      );
      const callOf = (e: (typeof oldCall)[0]) => (e.data as { CallID: string }).CallID;
      // The old call happened three days ago (past 2 days); the recent one a day ago.
      const day = 86_400_000;
      await withStore(first, async (db) => {
        for (const [call, age] of [
          [callOf(oldCall[0]!), 3 * day],
          [callOf(recentCall[0]!), 1 * day],
        ] as const) {
          const at = Date.now() - age;
          await db.updateTable('deliveries').set({ created_at: at }).where('call_id', '=', call).execute();
          await db.updateTable('events').set({ received_at: at }).where('call_id', '=', call).execute();
        }
      });
      await first.close();

      // The sweeper runs at start (and hourly): a restart on the same store runs it.
      second = await startTestServer({
        dataDir: first.config.dataDir,
        ...(first.store.dialect === 'postgres' ? { databaseUrl: first.config.databaseUrl } : {}),
        config: { retentionDays: 2, retrySchedule: [3600], dispatcher: false },
      });
      const payloads = () =>
        withStore(first, (db) =>
          db.selectFrom('deliveries').select(['call_id', 'status', 'payload']).orderBy('seq').execute(),
        );
      const rows = await until(payloads, (r) => r.some((x) => x.payload === null));
      const byCall = (call: string, status: string) =>
        rows.find((r) => r.call_id === call && r.status === status)!;
      expect(byCall(callOf(oldCall[0]!), 'succeeded').payload).toBeNull();
      // Still open: kept whatever its age, so it can still be sent.
      expect(byCall(callOf(oldCall[0]!), 'retrying').payload).toContain('EventType=hangup');
      expect(byCall(callOf(recentCall[0]!), 'succeeded').payload).toContain('EventType=hangup');
      expect(byCall(callOf(recentCall[0]!), 'retrying').payload).toContain('EventType=hangup');
      // The API shows the swept payload as null.
      const oldOk = (await (
        await second.api(`/extension/175/event/${ok.id}/delivery/`)
      ).json()) as DeliveryPage;
      const swept = oldOk.items.find((d) => d.call_id === callOf(oldCall[0]!))!;
      const detail = (await (
        await second.api(`/extension/175/event/${ok.id}/delivery/${swept.id}`)
      ).json()) as DeliveryDetail;
      expect(detail.payload ?? null).toBeNull();
      expect(detail.attempt_log).toHaveLength(1);
      // Events stay while a delivery of theirs is open; the recent ones stay anyway.
      const events = await withStore(first, (db) => db.selectFrom('events').select('call_id').execute());
      expect(events.map((e) => e.call_id).sort()).toEqual(
        [callOf(oldCall[0]!), callOf(recentCall[0]!)].sort(),
      );
    } finally {
      await second?.stop();
      await first.stop();
      await rx.close();
    }
  });

  test('an old event whose deliveries are all finished is dropped', { timeout: 90_000 }, async () => {
    const s = await startTestServer({ config: { retentionDays: 1 } });
    let again: TestServer | undefined;
    try {
      const rx = await startReceiver();
      await s.subscribe(`${rx.url}/x`, 'hangup');
      const call = callEvents(175, 1);
      await s.ingest(call);
      await rx.waitFor(1);
      const callId = (call[0]!.data as { CallID: string }).CallID;
      await until(
        () => withStore(s, (db) => db.selectFrom('deliveries').select('status').execute()),
        (r) => r[0]?.status === 'succeeded',
      );
      await withStore(s, async (db) => {
        await db
          .updateTable('deliveries')
          .set({ created_at: Date.now() - 2 * 86_400_000 })
          .execute();
        await db
          .updateTable('events')
          .set({ received_at: Date.now() - 2 * 86_400_000 })
          .execute();
      });
      await s.close();
      await rx.close();
      again = await startTestServer({
        dataDir: s.config.dataDir,
        ...(s.store.dialect === 'postgres' ? { databaseUrl: s.config.databaseUrl } : {}),
        config: { retentionDays: 1, dispatcher: false },
      });
      await until(
        () =>
          withStore(s, (db) =>
            db.selectFrom('events').select('call_id').where('call_id', '=', callId).execute(),
          ),
        (r) => r.length === 0,
      );
    } finally {
      await again?.stop();
      await s.stop();
    }
  });
});

describe('SIGTERM', () => {
  test('a server process stops accepting, finishes the deliveries under way, and loses nothing', {
    timeout: 90_000,
  }, async () => {
    const N = 8;
    const HOLD_MS = 1500;
    const arrived: string[] = [];
    const answered: string[] = [];
    // The first WARM deliveries are answered at once: a host gets its cap once it answers (one
    // request until it does, twice as many with each answer: HostRamp), and the N below must all
    // be under way together.
    const WARM = 4;
    let warm = 0;
    const rx = await startReceiver((req, res) => {
      if (warm < WARM) {
        warm++;
        res.end('ok');
        return;
      }
      arrived.push(req.headers['webhook-id'] as string);
      setTimeout(() => {
        res.end('ok');
        answered.push(req.headers['webhook-id'] as string);
      }, HOLD_MS);
    });
    const dir = mkdtempSync(join(tmpdir(), 'callhook-sigterm-'));
    const database = pgAdminUrl ? await freshDatabase() : undefined;
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const pbxKey = 'sigterm-test-pbx-key-0123456789';
    const env = demoServerEnv({
      port,
      dir,
      secret: 'sigterm-test-secret',
      pbxKey,
      ...(database ? { databaseUrl: database.url } : {}),
    });
    const server = await startServerProcess(env, url);
    try {
      const access_token = await demoToken(url, 'sigterm-test-secret');
      const sub = await fetch(`${url}/api/ver1.0/extension/175/event/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${rx.url}/slow`, method: 'POST', event_type: 'hangup' }),
      });
      expect(sub.status).toBe(200);
      const post = async (n: number) => {
        // n calls (so n deliveries in parallel), each a hangup.
        const events = Array.from({ length: n }, () => callEvents(175, 1)[0]!);
        const intake = await fetch(`${url}/api/ver1.0/pbx/event/batch/`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-pbx-key': pbxKey },
          body: JSON.stringify({ events }),
        });
        expect(intake.status).toBe(202);
      };
      for (let i = 0; i < WARM; i++) {
        await post(1);
        await rx.waitFor(i + 1);
      }
      await post(N);
      await rx.waitFor(WARM + N);
      expect(answered).toHaveLength(0);

      const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
      server.kill('SIGTERM');
      // Stops accepting at once, while the deliveries are still being answered.
      await new Promise((r) => setTimeout(r, 300));
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
      expect(answered).toHaveLength(0);
      expect(await exited).toBe(0);

      // Every delivery under way was finished and recorded before the process exited.
      expect(answered.length).toBe(N);
      expect(new Set(arrived).size).toBe(N);
      const rows = await withStore({ config: { dataDir: dir, databaseUrl: database?.url ?? '' } }, (db) =>
        db.selectFrom('deliveries').select(['id', 'status', 'attempts', 'lease_owner']).execute(),
      );
      expect(rows).toHaveLength(WARM + N);
      for (const r of rows) expect(r).toMatchObject({ status: 'succeeded', attempts: 1, lease_owner: null });
      const held = new Set(arrived);
      expect(rows.filter((r) => held.has(r.id))).toHaveLength(N);
    } finally {
      if (server.exitCode === null) server.kill('SIGKILL');
      await rx.close();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
