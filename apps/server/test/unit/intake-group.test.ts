import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourceEvent } from '@callhook/pbx';
import { UnknownExtensionError } from '@callhook/pbx';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { Intake } from '../../src/delivery/intake.js';
import { lockKey, openStore, type Store } from '../../src/store/index.js';
import { createTenant } from '../api/helpers.js';
import { intake as intakeEvent, pageCall } from '../events.js';
import { freshDatabase, pgAdminUrl } from '../pg.js';

/**
 * The intake's group commit: batches handed in together (several PBXs posting at once) share one
 * transaction, and each caller is answered for its own events as if it had been alone. Real
 * store: SQLite, or PostgreSQL in the suite's PostgreSQL pass.
 */
describe('batches handed to the intake together', () => {
  let dir: string;
  let store: Store;
  let database: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  let clientId: number;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'callhook-group-'));
    database = pgAdminUrl ? await freshDatabase() : undefined;
    store = await openStore({ dataDir: dir, databaseUrl: database?.url ?? '', poolSize: 2 });
    ({ clientId } = await createTenant(store, 'Acme', { extensionId: 175 }));
    // Hangups make one delivery each; dial-outs none.
    await store.subscriptions.create(
      clientId,
      175,
      { url: 'http://93.184.216.34/hook', method: 'POST', eventType: 'hangup' },
      { perExtension: 20, perClient: 100 },
    );
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await store.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  let n = 0;
  /** The page's hangup or dial-out as a call of its own. */
  const event = (type: 'hangup' | 'dial-out', key?: string, extension = 175): SourceEvent => {
    const CallID = `group-call-${n++}`;
    const e =
      type === 'hangup'
        ? intakeEvent(extension, { ...pageCall.hangup, CallID })
        : intakeEvent(extension, { ...pageCall.dialOut, CallID });
    return key ? { ...e, key } : e;
  };
  /**
   * The extensions' check answered at once: on PostgreSQL it is a round trip per caller, and
   * callers started together would reach the intake one by one. Extension 175 exists, no other.
   */
  const inOneTurn = async () => {
    const extension = await store.tenants.getExtension(175);
    vi.spyOn(store.tenants, 'getExtension').mockImplementation(async (id) =>
      id === 175 ? extension : undefined,
    );
  };
  const eventsStored = async () =>
    (await store.outbox.eventsOf(175, { latest: 100_000, limit: 100_000 })).length;

  test('one transaction; each caller gets its own ids, deliveries and repeats', async () => {
    const intake = new Intake(store);
    await inOneTurn();
    const ingest = vi.spyOn(store.outbox, 'ingest');
    const key = `k-${Date.now()}`;
    const [a, b, c] = await Promise.all([
      intake.ingest([event('hangup', key)]),
      // A hangup, and the first caller's key again: a repeat, counted for this caller.
      intake.ingest([event('hangup'), event('hangup', key)]),
      intake.ingest([event('dial-out')]),
    ]);
    expect(ingest).toHaveBeenCalledTimes(1);
    expect(ingest.mock.calls[0]![0]).toHaveLength(4);
    expect(a).toEqual({ eventIds: [expect.any(Number)], deliveries: 1, repeats: 0 });
    expect(b).toEqual({ eventIds: [expect.any(Number), a.eventIds[0]], deliveries: 1, repeats: 1 });
    expect(c).toEqual({ eventIds: [expect.any(Number)], deliveries: 0, repeats: 0 });
    expect(new Set([a.eventIds[0], b.eventIds[0], c.eventIds[0]]).size).toBe(3);
  });

  test("a caller's refusal is its own: the others are stored", async () => {
    const intake = new Intake(store);
    await inOneTurn();
    const results = await Promise.allSettled([
      intake.ingest([event('hangup')]),
      intake.ingest([event('hangup'), event('hangup', undefined, 999)]),
      intake.ingest([event('hangup')]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(UnknownExtensionError);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ field: 'events.1.extension_id' });
  });

  /** An error of the kind a batch's own data causes (PostgreSQL's unique_violation, SQLite's constraint). */
  const dataError = (message: string, code: string) => Object.assign(new Error(message), { code });

  test('a constraint that fails the shared transaction: each batch is tried alone; only one that fails alone is refused', async () => {
    const intake = new Intake(store);
    await inOneTurn();
    const original = store.outbox.ingest.bind(store.outbox);
    const ingest = vi.spyOn(store.outbox, 'ingest').mockImplementation(async (events, ...rest) => {
      if (events.length > 1) throw dataError('the shared transaction failed', '23505');
      if (events[0]!.eventType === 'dial-out') {
        throw dataError('this one fails alone too', 'SQLITE_CONSTRAINT_UNIQUE');
      }
      return original(events, ...rest);
    });
    const before = await eventsStored();
    const results = await Promise.allSettled([
      intake.ingest([event('hangup')]),
      intake.ingest([event('dial-out')]),
      intake.ingest([event('hangup')]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({
      message: 'this one fails alone too',
    });
    expect(results[0]).toMatchObject({ value: { deliveries: 1, repeats: 0 } });
    expect(ingest).toHaveBeenCalledTimes(4);
    expect(await eventsStored()).toBe(before + 2);
  });

  test("a value no store keeps (a NUL in the call id) is refused by the caller's own field name", async () => {
    const intake = new Intake(store);
    await inOneTurn();
    const ingest = vi.spyOn(store.outbox, 'ingest');
    const nul = event('hangup');
    (nul.data as { CallID: string }).CallID = 'a\u0000b';
    const results = await Promise.allSettled([
      intake.ingest([event('hangup')]),
      intake.ingest([event('hangup'), nul]),
      intake.ingest([nul]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ field: 'events.1.data.CallID' });
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ field: 'data.CallID' });
    // The shared transaction refused before it began, then each batch alone.
    expect(ingest).toHaveBeenCalledTimes(4);
  });

  test('the store failing (not the data): every caller of the group is told at once, nothing is tried again', async () => {
    const intake = new Intake(store);
    await inOneTurn();
    const away = Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
    const ingest = vi.spyOn(store.outbox, 'ingest').mockRejectedValue(away);
    const results = await Promise.allSettled([
      intake.ingest([event('hangup')]),
      intake.ingest([event('hangup')]),
      intake.ingest([event('dial-out')]),
    ]);
    expect(results).toEqual([1, 2, 3].map(() => ({ status: 'rejected', reason: away })));
    expect(ingest).toHaveBeenCalledTimes(1);
    // The intake goes on once the store is back.
    ingest.mockRestore();
    expect(await intake.ingest([event('hangup')])).toMatchObject({ deliveries: 1, repeats: 0 });
  });

  test('what arrives while transactions are under way (one; two on PostgreSQL) goes in the next one, as a group', async () => {
    const intake = new Intake(store);
    const atOnce = store.outbox.intakesAtOnce;
    expect(atOnce).toBe(pgAdminUrl ? 2 : 1);
    const original = store.outbox.ingest.bind(store.outbox);
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const ingest = vi.spyOn(store.outbox, 'ingest').mockImplementation(async (events, ...rest) => {
      if (ingest.mock.calls.length === 1) await held;
      return original(events, ...rest);
    });
    const first: Array<Promise<unknown>> = [];
    for (let k = 1; k <= atOnce; k++) {
      first.push(intake.ingest([event('hangup')]));
      await vi.waitFor(() => expect(ingest).toHaveBeenCalledTimes(k));
    }
    const later = [intake.ingest([event('hangup')]), intake.ingest([event('hangup'), event('hangup')])];
    await new Promise((r) => setTimeout(r, 20));
    expect(ingest).toHaveBeenCalledTimes(atOnce);
    release();
    await Promise.all(first);
    const [x, y] = await Promise.all(later);
    expect(ingest).toHaveBeenCalledTimes(atOnce + 1);
    expect(ingest.mock.calls[atOnce]![0]).toHaveLength(3);
    expect(x!.deliveries + y!.deliveries).toBe(3);
  });

  test.skipIf(!pgAdminUrl)(
    'PostgreSQL: the next group stores its events while the one before it is under way, and commits after it',
    async () => {
      const intake = new Intake(store);
      await inOneTurn();
      const a = event('hangup');
      const b = event('hangup');
      // A connection of the test's own holds the lock of a's call: a's transaction stops there,
      // after its events, before its deliveries.
      const holder = new pg.Client({ connectionString: database!.url });
      await holder.connect();
      try {
        const key = String(lockKey(`${clientId}:${(a.data as { CallID: string }).CallID}`));
        await holder.query('select pg_advisory_lock($1)', [key]);
        const count = async () => Number((await holder.query('select count(*) as n from events')).rows[0].n);
        const before = await count();
        const first = intake.ingest([a]);
        await vi.waitFor(async () => {
          const waiting = await holder.query(
            "select 1 from pg_stat_activity where datname = current_database() and wait_event = 'advisory'",
          );
          expect(waiting.rowCount).toBe(1);
        });
        let secondDone = false;
        const second = intake.ingest([b]).finally(() => {
          secondDone = true;
        });
        // b's events are stored (its transaction, which wrote to events, waits idle behind a's),
        // not committed.
        await vi.waitFor(async () => {
          const idle = await holder.query(
            `select 1 from pg_locks as l join pg_stat_activity as a on a.pid = l.pid
              where a.state = 'idle in transaction' and l.relation = 'events'::regclass
                and l.mode = 'RowExclusiveLock'`,
          );
          expect(idle.rowCount).toBe(1);
        });
        await new Promise((r) => setTimeout(r, 50));
        expect(secondDone).toBe(false);
        expect(await count()).toBe(before);
        await holder.query('select pg_advisory_unlock($1)', [key]);
        const [ra, rb] = await Promise.all([first, second]);
        // Ids and the deliveries' order as handed in.
        expect(rb.eventIds[0]).toBeGreaterThan(ra.eventIds[0]!);
        const seqs = await holder.query('select event_id, seq from deliveries where event_id = any($1)', [
          [ra.eventIds[0], rb.eventIds[0]],
        ]);
        const seqOf = new Map(
          seqs.rows.map((r: { event_id: string; seq: string }) => [Number(r.event_id), Number(r.seq)]),
        );
        expect(seqOf.get(rb.eventIds[0]!)).toBeGreaterThan(seqOf.get(ra.eventIds[0]!)!);
        expect(await count()).toBe(before + 2);
      } finally {
        await holder.end();
      }
    },
  );

  test('a group stops at groupEvents; a batch larger than that goes alone', async () => {
    const intake = new Intake(store, undefined, { groupEvents: 3 });
    await inOneTurn();
    const ingest = vi.spyOn(store.outbox, 'ingest');
    await Promise.all([
      intake.ingest([event('hangup'), event('hangup')]),
      intake.ingest([event('hangup'), event('hangup')]),
      intake.ingest([event('hangup')]),
      intake.ingest([event('hangup'), event('hangup'), event('hangup'), event('hangup')]),
    ]);
    expect(ingest.mock.calls.map((c) => c[0].length)).toEqual([2, 3, 4]);
  });
});
