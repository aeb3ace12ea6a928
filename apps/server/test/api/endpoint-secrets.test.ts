import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecretRotated, Subscription, SubscriptionCreated } from '@callhook/contract';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { sign } from '../../src/delivery/signing.js';
import { activeSecrets, MIGRATED_SECRET_GRACE_MS, openStore } from '../../src/store/index.js';
import { migrate } from '../../src/store/migrations.js';
import { intake, pageCall } from '../events.js';
import { startTestServer, type TestServer } from '../harness.js';
import { freshDatabase, pgAdminUrl } from '../pg.js';
import { type ReceivedRequest, type Receiver, startReceiver } from '../receivers.js';
import { createTenant } from './helpers.js';

let s: TestServer;
let rx: Receiver;
beforeAll(async () => {
  s = await startTestServer();
  rx = await startReceiver();
});
afterAll(async () => {
  await rx.close();
  await s.stop();
});

/** The signed content of a request as received: the raw query for GET, the body for POST. */
function payloadOf(req: ReceivedRequest): string {
  if (req.method === 'POST') return req.body;
  const q = req.url.indexOf('?');
  return q === -1 ? '' : req.url.slice(q + 1);
}

/**
 * Throws unless `secret` signed the request: standardwebhooks' signature for it is one of the
 * header's entries (its `verify` also parses the payload as JSON, which form data is not).
 */
function verifyHeader(secret: string, id: string, timestamp: string, payload: string, header: string): void {
  const expected = new Webhook(secret).sign(id, new Date(Number(timestamp) * 1000), payload);
  if (!header.split(' ').includes(expected)) throw new Error(`${secret} did not sign ${id}`);
}

function verify(secret: string, req: ReceivedRequest): void {
  verifyHeader(
    secret,
    req.headers['webhook-id'] as string,
    req.headers['webhook-timestamp'] as string,
    payloadOf(req),
    req.headers['webhook-signature'] as string,
  );
}

async function clear(): Promise<void> {
  await s.api('/extension/175/event/', { method: 'DELETE' });
  rx.received.length = 0;
}

describe('one signing secret per endpoint', () => {
  test("the page's three subscriptions of one URL: the secret comes with the first, and signs all three", async () => {
    await clear();
    const url = `${rx.url}/fordel/show.php?myid=175`;
    const first = await s.subscribe(url, 'dial-out', 'GET');
    const second = await s.subscribe(url, 'answer', 'GET');
    // Another query, same endpoint (the URL without its query).
    const third = await s.subscribe(`${rx.url}/fordel/show.php?myid=175&kind=end`, 'hangup', 'POST');
    expect(first.secret_shared).toBe(false);
    expect(first.secret).toMatch(/^whsec_/);
    for (const later of [second, third]) {
      expect(later.secret_shared).toBe(true);
      expect(later).not.toHaveProperty('secret');
    }

    await s.ingest([
      intake(175, pageCall.dialOut),
      intake(175, pageCall.answer),
      intake(175, pageCall.hangup),
    ]);
    const got = await rx.waitFor(3);
    expect(got.map((r) => r.method)).toEqual(['GET', 'GET', 'POST']);
    for (const req of got) {
      // One v1 entry: the endpoint's one secret.
      expect((req.headers['webhook-signature'] as string).split(' ')).toHaveLength(1);
      verify(first.secret!, req);
    }
  });

  test('another endpoint, or another client at the same URL, has its own secret', async () => {
    await clear();
    const a = await s.subscribe(`${rx.url}/a?x=1`, 'hangup');
    const b = await s.subscribe(`${rx.url}/b?x=1`, 'hangup');
    expect(a.secret_shared).toBe(false);
    expect(b.secret_shared).toBe(false);
    expect(b.secret).not.toBe(a.secret);

    const other = await createTenant(s.store, 'other client', { url: s.url });
    const res = await s.api(`/extension/${other.extensionId}/event/`, {
      method: 'POST',
      token: other.token,
      json: { url: `${rx.url}/a?x=1`, method: 'POST', event_type: 'hangup' },
    });
    const theirs = (await res.json()) as SubscriptionCreated;
    expect(theirs.secret_shared).toBe(false);
    expect(theirs.secret).not.toBe(a.secret);
    await s.api(`/extension/${other.extensionId}/event/`, { method: 'DELETE', token: other.token });
  });

  test('rotating through one subscription rotates the endpoint for all of them, with the grace', async () => {
    await clear();
    const first = await s.subscribe(`${rx.url}/rot?e=1`, 'dial-out', 'POST');
    const second = await s.subscribe(`${rx.url}/rot?e=2`, 'hangup', 'POST');
    const elsewhere = await s.subscribe(`${rx.url}/untouched`, 'hangup', 'POST');
    const res = await s.api(`/extension/175/event/${second.id}/secret/rotate/`, {
      method: 'POST',
      json: { grace_seconds: 3600 },
    });
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as SecretRotated;
    expect(rotated.subscription_ids).toEqual([first.id, second.id]);

    await s.ingest([intake(175, pageCall.dialOut), intake(175, pageCall.hangup)]);
    const got = await rx.waitFor(3);
    for (const req of got) {
      if (req.url === '/untouched') {
        verify(elsewhere.secret!, req);
        expect((req.headers['webhook-signature'] as string).split(' ')).toHaveLength(1);
        continue;
      }
      // The new secret and, during the grace, the one the first subscription showed.
      const entries = (req.headers['webhook-signature'] as string).split(' ');
      expect(entries).toHaveLength(2);
      verify(rotated.secret, req);
      verify(first.secret!, req);
    }
    expect(got.filter((r) => r.url.startsWith('/rot')).map((r) => r.url)).toEqual(['/rot?e=1', '/rot?e=2']);
  });

  test("an endpoint's secret goes with its last subscription; subscribing again makes and shows a new one", async () => {
    await clear();
    const one = await s.subscribe(`${rx.url}/again`, 'answer');
    const two = await s.subscribe(`${rx.url}/again`, 'hangup');
    await s.api(`/extension/175/event/${one.id}`, { method: 'DELETE' });
    // One left: the endpoint and its secret stay.
    expect((await s.subscribe(`${rx.url}/again`, 'dial-out')).secret_shared).toBe(true);
    await clear();
    const fresh = await s.subscribe(`${rx.url}/again`, 'answer');
    expect(fresh.secret_shared).toBe(false);
    expect(fresh.secret).not.toBe(one.secret);
    expect(two.secret_shared).toBe(true);
  });

  test('moving a URL: to a used endpoint it signs with that secret; to a new one it takes its secret along', async () => {
    await clear();
    const here = await s.subscribe(`${rx.url}/here`, 'hangup');
    const there = await s.subscribe(`${rx.url}/there`, 'answer');
    let res = await s.api(`/extension/175/event/${here.id}`, {
      method: 'PUT',
      json: { url: `${rx.url}/there?moved=1` },
    });
    expect(res.status).toBe(200);
    const moved = (await res.json()) as Subscription;
    expect(moved).not.toHaveProperty('secret');
    expect((await s.store.subscriptions.get(175, here.id))?.secret).toBe(there.secret);

    res = await s.api(`/extension/175/event/${there.id}`, { method: 'PUT', json: { url: `${rx.url}/new` } });
    expect(res.status).toBe(200);
    expect((await s.store.subscriptions.get(175, there.id))?.secret).toBe(there.secret);
    // /there is still used by the first; /new is a second endpoint with a copy of the secret.
    const rotated = (await (
      await s.api(`/extension/175/event/${there.id}/secret/rotate/`, { method: 'POST' })
    ).json()) as SecretRotated;
    expect(rotated.subscription_ids).toEqual([there.id]);
    expect((await s.store.subscriptions.get(175, here.id))?.secret).toBe(there.secret);
  });
});

/** A database at the schema before 0008, on the backend this suite runs on. */
async function databaseBefore0008(): Promise<{ url: string; done(): Promise<void> }> {
  if (pgAdminUrl) {
    const fresh = await freshDatabase();
    const db = new Kysely<unknown>({
      dialect: new PostgresDialect({
        pool: new (await import('pg')).default.Pool({ connectionString: fresh.url }),
      }),
    });
    await migrate(db, 'postgres', '0006_event_keys');
    await fill(db);
    await db.destroy();
    return { url: fresh.url, done: fresh.drop };
  }
  const dir = mkdtempSync(join(tmpdir(), 'callhook-0008-'));
  const file = join(dir, 'callhook.db');
  const SQLite = (await import('better-sqlite3')).default;
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new SQLite(file) }) });
  await migrate(db, 'sqlite', '0006_event_keys');
  await fill(db);
  await db.destroy();
  return { url: `sqlite:${file}`, done: async () => rmSync(dir, { recursive: true, force: true }) };
}

const OLD = {
  a: 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
  aPrevious: 'whsec_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ=',
  b: 'whsec_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=',
  c: 'whsec_CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC=',
};
const T0 = Date.now();

/** One client, one extension, three subscriptions as before 0008: each with its own secret. */
async function fill(db: Kysely<unknown>): Promise<void> {
  await sql`insert into clients (id, name, subscription_limit, created_at) values (1, 'c', null, ${T0})`.execute(
    db,
  );
  await sql`insert into extensions (id, client_id, name, domain, recording, kind, created_at)
            values (175, 1, '000*099', 'sip.domain', 0, 'phone', ${T0})`.execute(db);
  const row = (
    id: number,
    url: string,
    type: string,
    secret: string,
    prev: string | null,
    prevUntil: number | null,
  ) =>
    sql`insert into subscriptions (id, client_id, extension_id, url, method, event_type, enabled, secret,
          previous_secret, previous_secret_expires_at, created_at)
        values (${id}, 1, 175, ${url}, 'POST', ${type}, 1, ${secret}, ${prev}, ${prevUntil}, ${T0 + id})`.execute(
      db,
    );
  // 72 is the oldest at the endpoint, mid-rotation; 73 shares its endpoint (another query); 74 is alone.
  await row(72, 'https://somehost.com/show.php?myid=175', 'dial-out', OLD.a, OLD.aPrevious, T0 + 3_600_000);
  await row(73, 'https://somehost.com/show.php?myid=176', 'hangup', OLD.b, null, null);
  await row(74, 'https://elsewhere.com/hook', 'hangup', OLD.c, null, null);
}

describe('migration 0008: existing subscriptions move to endpoint secrets', () => {
  test("per endpoint the oldest subscription's secret; the others' still sign for the grace; rotation ends it", async () => {
    const database = await databaseBefore0008();
    const store = await openStore({ databaseUrl: database.url, dataDir: tmpdir(), poolSize: 2 });
    try {
      const [a, b, c] = await Promise.all([72, 73, 74].map((id) => store.subscriptions.get(175, id)));
      expect(a?.endpointId).toBe(b?.endpointId);
      expect(c?.endpointId).not.toBe(a?.endpointId);
      expect([a?.secret, b?.secret, c?.secret]).toEqual([OLD.a, OLD.a, OLD.c]);
      // The rotation under way continues; 73's own secret signs beside the endpoint's for a week.
      expect(a?.previousSecret).toBe(OLD.aPrevious);
      expect(a?.migratedSecret).toBeNull();
      expect(b?.migratedSecret).toBe(OLD.b);
      expect(b?.migratedSecretExpiresAt).toBeGreaterThanOrEqual(T0 + MIGRATED_SECRET_GRACE_MS);
      const now = Date.now();
      expect(activeSecrets(a!, now)).toEqual([OLD.a, OLD.aPrevious]);
      expect(activeSecrets(b!, now)).toEqual([OLD.a, OLD.aPrevious, OLD.b]);
      expect(activeSecrets(b!, now + MIGRATED_SECRET_GRACE_MS + 60_000)).toEqual([OLD.a]);

      // The dispatcher's view: what an intake leases carries the same secrets, and a receiver
      // that only ever had 73's secret still verifies 73's delivery.
      const lease = { owner: 'test', until: now + 60_000, accept: () => true };
      const { leased } = await store.outbox.ingest(
        [{ extensionId: 175, eventType: 'hangup', callId: 'c1', data: {}, payload: 'CallID=c1' }],
        now,
        lease,
      );
      const to73 = leased.find((d) => d.subscriptionId === 73)!;
      const header = sign(to73.id, Math.floor(now / 1000), 'CallID=c1', activeSecrets(to73, now));
      for (const secret of [OLD.a, OLD.b])
        verifyHeader(secret, to73.id, String(Math.floor(now / 1000)), 'CallID=c1', header);

      // Rotating the endpoint ends the old per-subscription secret with the rotation's grace.
      const rotated = await store.subscriptions.rotateSecret(175, 73, 0, now);
      expect(rotated?.subscriptionIds).toEqual([72, 73]);
      const after = await store.subscriptions.get(175, 73);
      expect(activeSecrets(after!, now + 1)).toEqual([rotated!.secret]);
    } finally {
      await store.close();
      await database.done();
    }
  });
});
