import { createHash } from 'node:crypto';
import type { DeliveryStatus } from '@callhook/contract';
import { CompiledQuery, type Kysely, type Selectable, sql } from 'kysely';
import { endpointOf } from './endpoints.js';
import { refuseNul } from './input.js';
import {
  type AttemptRecord,
  type AttemptRequestRecord,
  type AttemptResponseRecord,
  type AttemptResult,
  type ClaimedDelivery,
  type DeliveryRecord,
  type ExtensionDeliveryFilter,
  type IncomingEvent,
  type IngestLease,
  type IngestTurn,
  type IntakeSubscription,
  type NewDelivery,
  parseJson,
  type SendingColumns,
  type StoredEvent,
  storable,
  storedRecord,
  toClaimed,
  toDelivery,
} from './outbox-records.js';
import { OPEN_STATUSES, OutboxSql, RESULT_COLUMNS, run, shapedChunks, shapedList } from './outbox-sql.js';
import type { Database, DeliveriesTable, Dialect } from './schema.js';
import { newDeliveryId } from './secrets.js';
import { kyselyTransact, type Transact, type Tx } from './transact.js';

export * from './outbox-records.js';

// The open-status test is written as literal SQL so that the partial indexes (`where status in
// ('pending', 'retrying')`) can serve it: a planner cannot match an index predicate against
// bound parameters, and a full scan per claim made delivery crawl.
const isOpen = (column: string) => sql<boolean>`${sql.ref(column)} in ${sql.raw(OPEN_STATUSES)}`;
const isClosed = (column: string) => sql<boolean>`${sql.ref(column)} not in ${sql.raw(OPEN_STATUSES)}`;

/**
 * Per-call order is kept per receiving endpoint (the URL without its query), not per
 * subscription: the provider's own example subscribes one URL three times, once per event type,
 * and its receiver needs that call's dial-out, answer and hangup in order. Different endpoints
 * never wait on each other.
 */
export function orderKey(clientId: number, url: string, callId: string): string {
  let endpoint = endpointHashes.get(url);
  if (endpoint === undefined) {
    endpoint = createHash('sha1').update(endpointOf(url)).digest('base64url');
    if (endpointHashes.size >= 10_000) endpointHashes.clear();
    endpointHashes.set(url, endpoint);
  }
  return `${clientId}:${endpoint}:${callId}`;
}
/** Subscription URL → its endpoint's hash in order keys (the same few URLs, every event). */
const endpointHashes = new Map<string, string>();

/**
 * A PostgreSQL advisory lock key (signed 64-bit) for a call of a client (`client:CallID`); the
 * intake holds it for its transaction (exported for tests that hold an intake there).
 */
export function lockKey(call: string): bigint {
  return createHash('sha1').update(call).digest().readBigInt64BE(0);
}

/** The subscriptions of each extension and event type among `events`, issued together. */
async function subscriptionsOf(
  tx: Tx,
  q: OutboxSql,
  events: readonly IncomingEvent[],
): Promise<Map<string, IntakeSubscription[]>> {
  const pending = new Map<string, Promise<IntakeSubscription[]>>();
  for (const ev of events) {
    const key = `${ev.extensionId}:${ev.eventType}`;
    if (!pending.has(key))
      pending.set(key, tx.run<IntakeSubscription>(q.subscriptionsFor(), [ev.extensionId, ev.eventType]));
  }
  const found = await Promise.all(pending.values());
  return new Map([...pending.keys()].map((key, i) => [key, found[i]!]));
}

/** One delivery per subscription of each fresh event's extension and type, not yet stored. */
function deliveriesFor(
  matches: ReadonlyMap<string, IntakeSubscription[]>,
  events: readonly IncomingEvent[],
  fresh: readonly number[],
  eventIds: readonly number[],
  now: number,
): { rows: NewDelivery[]; subscriptionOf: Map<string, IntakeSubscription> } {
  const rows: NewDelivery[] = [];
  const subscriptionOf = new Map<string, IntakeSubscription>();
  for (const k of fresh) {
    const ev = events[k]!;
    for (const sub of matches.get(`${ev.extensionId}:${ev.eventType}`)!) {
      const id = newDeliveryId(now);
      subscriptionOf.set(id, sub);
      rows.push({
        id,
        subscription_id: sub.id,
        event_id: eventIds[k]!,
        client_id: sub.client_id,
        extension_id: ev.extensionId,
        event_type: ev.eventType,
        call_id: ev.callId,
        order_key: ev.callId ? orderKey(sub.client_id, sub.url, ev.callId) : null,
        // A disabled subscription's deliveries are logged as failed, never attempted, and
        // can be recovered once it is enabled again.
        status: sub.enabled === 1 ? 'pending' : 'failed',
        attempts: 0,
        next_attempt_at: now,
        lease_until: null,
        lease_owner: null,
        created_at: now,
        last_attempt_at: null,
        last_status_code: null,
        last_outcome: null,
        payload: ev.payload,
      });
    }
  }
  return { rows, subscriptionOf };
}

/**
 * Which new deliveries are ready (pending, and the first of their call at their endpoint among
 * `rows`) and, of those, which `lease` takes: they are stored leased, due when the lease ends.
 * Whether an earlier delivery of the call is still open in the store is known only once the
 * call is locked: the store takes the lease back from those (`OutboxStore.unleaseBehind`).
 */
function markReady(
  rows: readonly NewDelivery[],
  subscriptionOf: ReadonlyMap<string, IntakeSubscription>,
  lease: IngestLease | undefined,
): NewDelivery[] {
  const taken: NewDelivery[] = [];
  const first = new Set<string>();
  for (const r of rows) {
    if (r.status !== 'pending') continue;
    const url = subscriptionOf.get(r.id)!.url;
    // A held host's deliveries, the first of a call and those behind it, come due when it may
    // be tried again: until then no claim has to step over them.
    const held = lease?.heldUntil?.(url);
    if (held !== undefined) r.next_attempt_at = Math.max(r.next_attempt_at, held);
    if (r.order_key) {
      if (first.has(r.order_key)) continue;
      first.add(r.order_key);
    }
    if (held !== undefined) continue;
    if (lease?.accept(url)) {
      r.lease_owner = lease.owner;
      r.lease_until = lease.until;
      // A lease pushes the due time to its end (see `claim`).
      r.next_attempt_at = lease.until;
      taken.push(r);
    }
  }
  return taken;
}

/** Issues the inserts of the new deliveries, up to 256 a statement; resolves to their seq by id. */
function insertDeliveries(tx: Tx, q: OutboxSql, rows: readonly NewDelivery[]): Promise<Map<string, number>> {
  const inserted: Array<Promise<Array<{ id: string; seq: number }>>> = [];
  for (const chunk of shapedChunks(rows)) {
    const params: unknown[] = [];
    for (const r of chunk) for (const c of OutboxSql.deliveryColumns) params.push(r[c] ?? null);
    inserted.push(tx.run(q.insertDeliveries(chunk.length), params, true));
  }
  return Promise.all(inserted).then((chunks) => new Map(chunks.flat().map((r) => [r.id, r.seq])));
}

/** The durable outbox: accepted events, one delivery per matching subscription, every attempt. */
export class OutboxStore {
  private readonly sql: OutboxSql;

  /**
   * How many subscriptions with open deliveries (besides those left out) a claim that leaves some
   * out reads queue by queue. Where more have work, each such claim reads this many of them, in
   * id order on from where the last one stopped (`queuesReadAfter`): every subscription comes
   * round within a few claims, and no claim steps over the backlog it leaves out. 0: one scan.
   */
  queuesReadOneByOne = 64;

  /** The subscription a claim that read queues one by one read last; the next reads on from it. */
  private queuesReadAfter = 0;

  /**
   * Due deliveries left out (of a full or held receiver) that a claim steps over in its one scan
   * in due order rather than read the other subscriptions' queues, at the least.
   */
  leftOutScanned = 1000;

  /**
   * What reading a row of a queue costs against stepping over a left-out row in the scan:
   * `bench:claim` measured 1.8 µs against 0.14 µs on SQLite (4.8 against 0.37 on PostgreSQL), so
   * the queues are read when the scan would step over this many times the rows they hold.
   */
  scanRowsPerQueueRow = 10;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
    /** The hot path's transactions: pipelined on PostgreSQL (the store's connection's). */
    private readonly transact: Transact = kyselyTransact(db),
    /**
     * How many intakes may be under way at once, in line (see `IngestTurn`): two on PostgreSQL,
     * where one's events are stored while the one before it stores its deliveries and commits;
     * one on SQLite, whose one connection runs one transaction at a time, and on a pool of one
     * connection (an intake waiting in line holds its connection, and the one before it may
     * need another to try its batches alone).
     */
    readonly intakesAtOnce = 1,
  ) {
    this.sql = new OutboxSql(dialect);
  }

  /**
   * Stores the events and one delivery per subscription of each event's extension and type, all
   * in one transaction: when this resolves, nothing accepted can be lost. The new deliveries that
   * may go at once (enabled, and first of their call at their endpoint) and that `lease` accepts
   * are stored leased to it and returned in `leased`, so the dispatcher can send them without
   * looking for them; the ready ones it leaves wait for the next claim. With a `turn`, it keeps
   * its place in a line of intakes under way at once (see `IngestTurn`).
   */
  async ingest(
    events: IncomingEvent[],
    now = Date.now(),
    lease?: IngestLease,
    turn?: IngestTurn,
  ): Promise<{
    eventIds: number[];
    deliveries: number;
    leased: ClaimedDelivery[];
    repeats: number;
    /** Per event, in order: the deliveries it made (pending ones), and whether it was a repeat. */
    byEvent: Array<{ deliveries: number; repeat: boolean }>;
  }> {
    for (const [i, ev] of events.entries()) {
      const at = events.length > 1 ? `events.${i}.` : '';
      refuseNul(`${at}data.CallID`, ev.callId);
      refuseNul(`${at}key`, ev.key ?? null);
    }
    const q = this.sql;
    if (turn) await turn.events;
    // Two round trips on PostgreSQL: the events and their subscriptions; the calls' locks, the
    // deliveries, the leases of those behind an open delivery taken back, and COMMIT.
    return this.transact(async (tx) => {
      const [{ eventIds, fresh }, matches] = await Promise.all([
        insertEvents(tx, this.db, q, events, now),
        subscriptionsOf(tx, q, events),
      ]);
      turn?.eventsStored();
      const byEvent = events.map(() => ({ deliveries: 0, repeat: true }));
      const indexOf = new Map<number, number>();
      for (const k of fresh) {
        byEvent[k]!.repeat = false;
        indexOf.set(eventIds[k]!, k);
      }
      const repeats = events.length - fresh.length;
      const { rows, subscriptionOf } = deliveriesFor(matches, events, fresh, eventIds, now);
      // Once the intake before this one has committed (events or none, this one commits after
      // it) and handed its leases on: the dispatcher's room for a host counts them when `lease`
      // first asks, below.
      if (turn) await turn.deliveries;
      if (rows.length === 0) return { eventIds, deliveries: 0, leased: [], repeats, byEvent };
      const taken = markReady(rows, subscriptionOf, lease);
      let deliveries = 0;
      for (const r of rows) {
        if (r.status !== 'pending') continue;
        deliveries++;
        byEvent[indexOf.get(r.event_id)!]!.deliveries++;
      }
      const locked = this.lockCalls(tx, rows);
      const stored = insertDeliveries(tx, q, rows);
      const behind = this.unleaseBehind(tx, taken);
      tx.commit();
      // Only building records from here on: nothing that can fail once COMMIT is sent.
      const [, seqOf, unleased] = await Promise.all([locked, stored, behind]);
      const leased: ClaimedDelivery[] = [];
      for (const r of taken) {
        if (unleased.has(r.id)) continue;
        leased.push(toClaimed(storedRecord(r, seqOf.get(r.id)!, now), subscriptionOf.get(r.id)!));
      }
      return { eventIds, deliveries, leased, repeats, byEvent };
    });
  }

  /**
   * PostgreSQL: locks the calls of `rows` for the transaction, issued before the deliveries are
   * stored. Two intakes of one call at once (two instances, or two requests to one) must not both
   * lease their first delivery, or both events would go out together: the second waits for the
   * first's commit, and its check (`unleaseBehind`, a statement that reads what was committed when
   * it starts) then sees the first's open delivery. One lock per call, not per call and endpoint:
   * an intake of 500 calls to 20 endpoints took 10,000, and six at once outgrew PostgreSQL's
   * shared lock table ("out of shared memory"). The locks are taken in one sorted order, so two
   * batches sharing calls cannot deadlock.
   */
  private lockCalls(tx: Tx, rows: readonly NewDelivery[]): Promise<unknown> | undefined {
    if (this.dialect !== 'postgres') return undefined;
    const calls = new Set<string>();
    for (const r of rows) if (r.order_key != null) calls.add(`${r.client_id}:${r.call_id}`);
    if (calls.size === 0) return undefined;
    const locks = [...new Set([...calls].map(lockKey))].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    return tx.run(this.sql.lockCalls(), [locks.map(String)]);
  }

  /**
   * Issued behind the new deliveries' insert: of those `markReady` leased, the ones behind an
   * open delivery of their call at their endpoint (stored before this transaction) lose the
   * lease, and wait for their turn. Resolves to their ids: usually none, as a call's next event
   * comes once its last one went out.
   */
  private unleaseBehind(tx: Tx, taken: readonly NewDelivery[]): Promise<Set<string>> {
    const ids = taken.filter((r) => r.order_key != null).map((r) => r.id);
    const issued: Array<Promise<Array<{ id: string }>>> = [];
    for (let i = 0; i < ids.length; i += 512) {
      const chunk = shapedList(ids.slice(i, i + 512));
      issued.push(tx.run(this.sql.unleaseBehind(chunk.length), chunk));
    }
    return Promise.all(issued).then((found) => new Set(found.flat().map((r) => r.id)));
  }

  /**
   * Claims up to `limit` due deliveries for this instance until `leaseUntil`. A delivery is due
   * when its time has come, no live lease holds it, and no earlier delivery of the same call to
   * the same subscription is still open (per-call order). `excludeSubscriptions` are those whose
   * receiver has no free slot on this instance right now.
   *
   * A lease also moves the delivery's due time to the lease's end, as a queue's visibility
   * timeout does: leased deliveries drop out of the due range, so a claim reads only deliveries
   * it can take instead of stepping over every one in flight; and one whose instance died comes
   * due again exactly when its lease runs out. The attempt's result sets the real next time.
   */
  async claim(
    owner: string,
    now: number,
    leaseUntil: number,
    limit: number,
    excludeSubscriptions: readonly number[] = [],
  ): Promise<ClaimedDelivery[]> {
    const q = this.sql;
    // Two round trips on PostgreSQL: the settings and the due deliveries (when none is left out);
    // the leases, the claimed rows and COMMIT.
    return this.transact(async (tx) => {
      // The claims want the first rows of an index, in its order, and stop there. PostgreSQL's
      // planner, whose statistics lag behind a burst (an outage's backlog stored a minute ago),
      // expected a few hundred due where there were 300,000: it sorted them all for every claim
      // (0.5 s against 0.4 ms), or gathered every one of a queue into a bitmap before the limit
      // (12 ms against 0.5). In this transaction it walks the indexes. JIT compiling, made for long
      // analytic queries, took 10-19 ms per claim once a claim's estimated cost passed its bar.
      const planned =
        this.dialect === 'postgres'
          ? tx.run(
              "select set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true), set_config('jit', 'off', true)",
              [],
            )
          : undefined;
      // Deliveries of a disabled subscription wait, and go out once it is enabled again.
      const [, due] = await Promise.all([
        planned,
        excludeSubscriptions.length === 0
          ? tx.run<{ seq: number }>(q.claimDue(0), [now, now, limit])
          : this.dueLeavingOut(tx, now, limit, excludeSubscriptions),
      ]);
      if (due.length === 0) return [];
      const seqs = shapedList(due.map((r) => r.seq));
      const leased = tx.run(q.lease(seqs.length), [leaseUntil, owner, leaseUntil, ...seqs]);
      const claimed = tx.run<
        Omit<Selectable<DeliveriesTable>, 'order_key' | 'lease_until' | 'lease_owner'> & SendingColumns
      >(q.claimed(seqs.length), seqs);
      tx.commit();
      const [, rows] = await Promise.all([leased, claimed]);
      return rows.map((r) => toClaimed(toDelivery(r), r));
    });
  }

  /**
   * Due deliveries of every subscription but `excluded`, the cheaper of two ways. The one scan in
   * due order steps over every due delivery left out: after an outage that receiver has a
   * million, and the scan took 767 ms per claim (finding nothing when only that receiver had
   * work). Reading the other subscriptions' queues instead costs a few rows of each (about twice
   * the limit in all), whatever is left out. So: with fewer than `leftOutScanned` due left out
   * (the usual case, a bounded count), the scan; else find the subscriptions with open deliveries
   * (a skip scan) and read their queues when the scan would cost more (`scanRowsPerQueueRow`), up to
   * `queuesReadOneByOne` of them per claim, in turn where more have work. Before the turns, more
   * than 64 subscriptions with work sent every claim to the scan: 57 ms per claim beside a
   * backlog of 300,000 (`bench:claim --queues 90`; 4.3 ms in turns).
   */
  private async dueLeavingOut(
    tx: Tx,
    now: number,
    limit: number,
    excluded: readonly number[],
  ): Promise<Array<{ seq: number }>> {
    const q = this.sql;
    const ids = shapedList(excluded);
    const scan = () => tx.run<{ seq: number }>(q.claimDue(ids.length), [now, now, ...ids, limit]);
    const leftOut = async (upTo: number) => {
      const [r] = await tx.run<{ n: number | string }>(q.countDue(ids.length), [now, ...ids, upTo]);
      return Number(r?.n ?? 0);
    };
    if ((await leftOut(this.leftOutScanned)) < this.leftOutScanned) return scan();
    const most = excluded.length + this.queuesReadOneByOne;
    const queues = await this.queuesFrom(tx, this.queuesReadAfter, most + 1);
    const left = new Set(excluded.map(Number));
    const others = queues.filter((id) => !left.has(id));
    const read = others.slice(0, this.queuesReadOneByOne);
    // Every subscription with open deliveries is known (the skip scan found no more than it
    // asked for), and all of them are left out.
    const all = queues.length <= most;
    if (all && others.length === 0) return [];
    if (read.length === 0) return scan();
    // More have work than a claim reads one by one: the next claim reads on from the last read.
    this.queuesReadAfter = all && others.length === read.length ? 0 : read[read.length - 1]!;
    // Each queue's first rows, twice its even share of the limit (all of the limit for one or two
    // queues). The whole limit from each, 64 queues of 200 read 12,800 rows for a claim of 200:
    // 24.9 ms beside a backlog of 300,000 (`bench:claim --queues 64`), 4.4 ms this way. A queue
    // with more due than its share gives the rest to the next claims; the merge below still
    // takes the oldest of what was read.
    const perQueue = Math.min(limit, Math.ceil((2 * limit) / read.length));
    const worth = read.length * perQueue * this.scanRowsPerQueueRow;
    if (worth > this.leftOutScanned && (await leftOut(worth)) < worth) return scan();
    type Head = { seq: number | string; next_attempt_at: number | string };
    const heads: Head[] =
      this.dialect === 'postgres'
        ? await tx.run<Head>(q.queueHeads(), [read, now, now, perQueue])
        : (
            await Promise.all(read.map((id) => tx.run<Head>(q.claimQueue(), [id, now, now, perQueue])))
          ).flat();
    const first = heads
      .map((h) => ({ seq: Number(h.seq), at: Number(h.next_attempt_at) }))
      .sort((a, b) => a.at - b.at || a.seq - b.seq)
      .slice(0, limit);
    if (this.dialect !== 'postgres' || first.length === 0) return first;
    // Locked only now, the ones taken (locking each queue's heads in the lateral wrote a lock on
    // up to `limit` rows per queue, and another instance's claim skipped them all). A row another
    // claim took meanwhile is skipped, or fails the conditions checked again on its new version.
    const seqs = shapedList(first.map((h) => h.seq));
    const locked = await tx.run<{ seq: number | string }>(q.lockDue(seqs.length), [now, now, ...seqs]);
    const taken = new Set(locked.map((r) => Number(r.seq)));
    return first.filter((h) => taken.has(h.seq));
  }

  /**
   * Up to `count` subscriptions with open deliveries: by id after `after`, then on from the first
   * (ids are 1 and up) as far as `after`.
   */
  private async queuesFrom(tx: Tx, after: number, count: number): Promise<number[]> {
    const from = async (id: number, n: number) =>
      (await tx.run<{ id: number | string }>(this.sql.queues(), [id, n])).map((r) => Number(r.id));
    const ids = await from(after, count);
    if (ids.length < count && after > 0)
      for (const id of await from(0, count - ids.length)) if (id <= after) ids.push(id);
    return ids;
  }

  /** Records the outcome of attempts of claimed deliveries, in one transaction for the batch. */
  async complete(
    owner: string,
    results: Array<{ delivery: ClaimedDelivery; result: AttemptResult }>,
    now = Date.now(),
  ): Promise<void> {
    if (results.length === 0) return;
    const q = this.sql;
    // One round trip on PostgreSQL: every statement and COMMIT go out together.
    await this.transact(async (tx) => {
      const issued: Array<Promise<unknown>> = [];
      const pg = this.dialect === 'postgres';
      // PostgreSQL: every result in one statement, one array per column (OutboxSql.recordResultArrays).
      const columns: unknown[][] = RESULT_COLUMNS.map(() => []);
      for (const chunk of shapedChunks(results)) {
        const attempts: unknown[] = [];
        // SQLite: the chunk's results as rows of one UPDATE ... FROM (VALUES ...), then the owner.
        const rows: unknown[] = [];
        for (const { delivery, result } of chunk) {
          const { attempt } = result;
          attempts.push(
            delivery.seq,
            attempt.attemptedAt,
            attempt.outcome,
            attempt.statusCode,
            attempt.latencyMs,
            storable(attempt.error),
            storable(attempt.responseBody),
            attempt.request ? storable(JSON.stringify(attempt.request)) : null,
            attempt.response ? storable(JSON.stringify(attempt.response)) : null,
          );
          const status =
            result.kind === 'succeeded' ? 'succeeded' : result.kind === 'retry' ? 'retrying' : 'failed';
          const next = result.kind === 'retry' ? result.nextAttemptAt : delivery.nextAttemptAt;
          // In RESULT_COLUMNS' order.
          const state = [
            delivery.seq,
            status,
            next,
            attempt.attemptedAt,
            attempt.statusCode,
            attempt.outcome,
          ];
          if (pg) for (let c = 0; c < state.length; c++) columns[c]!.push(state[c]);
          else rows.push(...state);
        }
        issued.push(tx.run(q.insertAttempts(chunk.length), attempts, true));
        if (!pg) {
          rows.push(owner);
          issued.push(tx.run(q.recordResults(chunk.length), rows, true));
        }
      }
      if (pg) {
        // Only where the plan is kept (see OutboxSql.indexedResults): one planned on each run sees
        // the table as it is.
        if (tx.keepsPlans) issued.push(tx.run(q.indexedResults(), [], true));
        issued.push(tx.run(q.recordResultArrays(), [...columns, owner], true));
      }
      const succeededSubs = new Set<number>();
      const failingSubs = new Set<number>();
      for (const { delivery, result } of results) {
        if (result.kind === 'succeeded') succeededSubs.add(delivery.subscriptionId);
        else failingSubs.add(delivery.subscriptionId);
        if (result.kind === 'disable') {
          issued.push(
            tx.query(
              this.db
                .updateTable('subscriptions')
                .set({ enabled: 0, disabled_reason: result.reason })
                .where('id', '=', delivery.subscriptionId),
            ),
          );
          issued.push(tx.query(failOpenQuery(this.db, [delivery.subscriptionId])));
        }
      }
      if (succeededSubs.size > 0) {
        const ids = shapedList([...succeededSubs]);
        issued.push(tx.run(q.clearFailing(ids.length), ids));
      }
      const stillFailing = [...failingSubs].filter((s) => !succeededSubs.has(s));
      if (stillFailing.length > 0) {
        const ids = shapedList(stillFailing);
        issued.push(tx.run(q.markFailing(ids.length), [now, ...ids]));
      }
      tx.commit();
      await Promise.all(issued);
    });
  }

  /**
   * Makes up to `limit` due deliveries of these subscriptions' endpoints (a held receiver's) due at
   * `until` instead, oldest first; returns how many. Call again while it returns `limit`.
   */
  deferDue(
    subscriptionIds: readonly number[],
    until: number,
    limit: number,
    now = Date.now(),
  ): Promise<number> {
    return this.moveDue(subscriptionIds, (ids) => [
      this.sql.deferDue(ids.length),
      [until, now, now, ...ids, limit],
    ]);
  }

  /**
   * Makes up to `limit` deliveries of these subscriptions' endpoints due between now and `upTo` (a
   * held receiver's backlog, pushed ahead) due now, oldest first; returns how many. Call again
   * while it returns `limit`.
   */
  bringForward(
    subscriptionIds: readonly number[],
    upTo: number,
    limit: number,
    now = Date.now(),
  ): Promise<number> {
    return this.moveDue(subscriptionIds, (ids) => [
      this.sql.bringForward(ids.length),
      [now, now, upTo, now, ...ids, limit],
    ]);
  }

  /** Runs one of the statements that move due times (ids shaped), returning the rows it changed. */
  private async moveDue(
    subscriptionIds: readonly number[],
    statement: (ids: number[]) => [string, unknown[]],
  ): Promise<number> {
    if (subscriptionIds.length === 0) return 0;
    const [text, params] = statement(shapedList([...subscriptionIds]));
    const res = await this.db.executeQuery(CompiledQuery.raw(text, params));
    return Number(res.numAffectedRows ?? 0);
  }

  /**
   * Subscriptions whose receiver does not answer, though their own deliveries may not have been
   * attempted (the dispatcher holds the host and probes it with one delivery; the calls of an
   * endpoint wait behind the one tried): these and every subscription sharing an endpoint with
   * them are failing since `now`, unless they already were, so that failing for too long disables
   * each of them, not only the one probed.
   */
  async markFailing(subscriptionIds: readonly number[], now = Date.now()): Promise<void> {
    if (subscriptionIds.length === 0) return;
    const ids = shapedList([...subscriptionIds]);
    await run(this.db, this.sql.markEndpointsFailing(ids.length), [now, ...ids]);
  }

  /**
   * Lets go of this instance's leases (clean shutdown, or a restart of the only instance), or of
   * the given deliveries' only. Only due deliveries are ever leased, so they are due again at
   * `now` (a later time for deliveries of a receiver the dispatcher holds back).
   */
  async releaseLeases(owner?: string, now = Date.now(), seqs?: number[]): Promise<number> {
    if (seqs?.length === 0) return 0;
    let q = this.db
      .updateTable('deliveries')
      .set({ lease_until: null, lease_owner: null, next_attempt_at: now })
      .where('lease_until', 'is not', null)
      .where(isOpen('status'));
    if (owner) q = q.where('lease_owner', '=', owner);
    if (seqs) q = q.where('seq', 'in', seqs);
    const res = await q.executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  /**
   * Moves the leases `owner` holds on the deliveries `seqs` (still open, still its own) to
   * `until`, and their due time with them (see `claim`). Returns how many it moved. On PostgreSQL
   * a row another transaction is writing now (its result being recorded) is skipped rather than
   * waited for: two statements locking rows in different orders could deadlock.
   */
  async renewLeases(owner: string, until: number, seqs: readonly number[]): Promise<number> {
    let moved = 0;
    for (let i = 0; i < seqs.length; i += 1000) {
      const chunk = seqs.slice(i, i + 1000);
      const res = await this.db
        .updateTable('deliveries')
        .set({ lease_until: until, next_attempt_at: until })
        .where('lease_owner', '=', owner)
        .where(isOpen('status'))
        .where(
          'seq',
          'in',
          this.dialect === 'postgres'
            ? (eb) =>
                eb.selectFrom('deliveries').select('seq').where('seq', 'in', chunk).forUpdate().skipLocked()
            : chunk,
        )
        .executeTakeFirst();
      moved += Number(res.numUpdatedRows);
    }
    return moved;
  }

  async stats(): Promise<{ open: number; leased: number }> {
    const row = await this.db
      .selectFrom('deliveries')
      .select([
        sql<number>`count(*)`.as('open'),
        sql<number>`coalesce(sum(case when lease_until is not null then 1 else 0 end), 0)`.as('leased'),
      ])
      .where(isOpen('status'))
      .executeTakeFirstOrThrow();
    return { open: Number(row.open), leased: Number(row.leased) };
  }

  async list(
    subscriptionId: number,
    opts: { status?: DeliveryStatus; since?: number; page: number; perPage: number },
  ): Promise<{ items: DeliveryRecord[]; total: number }> {
    let q = this.db.selectFrom('deliveries').where('subscription_id', '=', subscriptionId);
    if (opts.status) q = q.where('status', '=', opts.status);
    if (opts.since !== undefined) q = q.where('created_at', '>=', opts.since);
    const { total } = await q.select(sql<number>`count(*)`.as('total')).executeTakeFirstOrThrow();
    // Newest first by creation time, then seq: the order the index deliveries_log holds them in
    // (on SQLite its entries end with the rowid, seq; on PostgreSQL seq is its last column since
    // migration 0010), so a page is read off the index. By seq alone SQLite sorted the
    // subscription's whole log for every page: 1.2 s for the first page of a million
    // (bench/log-pages.mjs), against 1 ms.
    const rows = await q
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('seq', 'desc')
      .limit(opts.perPage)
      .offset((opts.page - 1) * opts.perPage)
      .execute();
    return { items: rows.map(toDelivery), total: Number(total) };
  }

  async get(
    subscriptionId: number,
    id: string,
  ): Promise<(DeliveryRecord & { attemptLog: AttemptRecord[] }) | undefined> {
    // No id holds NUL, and PostgreSQL would refuse it in a text parameter rather than find nothing.
    if (id.includes('\u0000')) return undefined;
    const row = await this.db
      .selectFrom('deliveries')
      .selectAll()
      .where('subscription_id', '=', subscriptionId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) return undefined;
    const attempts = await this.db
      .selectFrom('attempts')
      .selectAll()
      .where('delivery_seq', '=', row.seq)
      .orderBy('id')
      .execute();
    return {
      ...toDelivery(row),
      attemptLog: attempts.map((a) => ({
        attemptedAt: a.attempted_at,
        outcome: a.outcome,
        statusCode: a.status_code,
        latencyMs: a.latency_ms,
        error: a.error,
        responseBody: a.response_body,
        request: parseJson<AttemptRequestRecord>(a.request),
        response: parseJson<AttemptResponseRecord>(a.response),
      })),
    };
  }

  /**
   * An extension's deliveries, newest first, filtered; keyset-paged on seq (`before`), so a page
   * deep in a long log costs what the first does. One more row than asked tells whether more follow.
   */
  async listByExtension(
    extensionId: number,
    f: ExtensionDeliveryFilter,
  ): Promise<{ items: DeliveryRecord[]; more: boolean }> {
    if (f.callId?.includes('\u0000')) return { items: [], more: false };
    let q = this.db.selectFrom('deliveries').selectAll().where('extension_id', '=', extensionId);
    if (f.callId !== undefined) q = q.where('call_id', '=', f.callId);
    if (f.status !== undefined) q = q.where('status', '=', f.status);
    if (f.eventType !== undefined) q = q.where('event_type', '=', f.eventType);
    if (f.subscriptionId !== undefined) q = q.where('subscription_id', '=', f.subscriptionId);
    if (f.since !== undefined) q = q.where('created_at', '>=', f.since);
    if (f.until !== undefined) q = q.where('created_at', '<', f.until);
    if (f.before !== undefined) q = q.where('seq', '<', f.before);
    const rows = await q
      .orderBy('seq', 'desc')
      .limit(f.limit + 1)
      .execute();
    return { items: rows.slice(0, f.limit).map(toDelivery), more: rows.length > f.limit };
  }

  /** One delivery of an extension by its id, whatever its subscription. */
  async findInExtension(extensionId: number, id: string): Promise<DeliveryRecord | undefined> {
    if (id.includes('\u0000')) return undefined;
    const row = await this.db
      .selectFrom('deliveries')
      .selectAll()
      .where('extension_id', '=', extensionId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toDelivery(row);
  }

  /**
   * An extension's events in id order: those after `afterId`, or (without it) the newest
   * `latest`. At most `limit`.
   */
  async eventsOf(
    extensionId: number,
    opts: { afterId?: number; latest?: number; limit: number },
  ): Promise<StoredEvent[]> {
    const base = this.db
      .selectFrom('events')
      .select(['id', 'event_type', 'call_id', 'received_at', 'data'])
      .where('extension_id', '=', extensionId);
    let rows: Awaited<ReturnType<typeof base.execute>>;
    if (opts.afterId !== undefined) {
      rows = await base.where('id', '>', opts.afterId).orderBy('id').limit(opts.limit).execute();
    } else {
      const n = Math.min(opts.latest ?? 0, opts.limit);
      if (n === 0) return [];
      rows = (await base.orderBy('id', 'desc').limit(n).execute()).reverse();
    }
    return rows.map((r) => ({
      id: Number(r.id),
      eventType: r.event_type,
      callId: r.call_id,
      receivedAt: Number(r.received_at),
      data: parseJson<Record<string, unknown>>(r.data) ?? {},
    }));
  }

  /** The newest event id of an extension (0 when it has none): where a fresh stream starts. */
  async lastEventId(extensionId: number): Promise<number> {
    const row = await this.db
      .selectFrom('events')
      .select('id')
      .where('extension_id', '=', extensionId)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? Number(row.id) : 0;
  }

  /** Queues one delivery for an attempt now, whatever its state (open ones are left as they are). */
  async retry(subscriptionId: number, id: string, now = Date.now()): Promise<DeliveryRecord | undefined> {
    if (id.includes('\u0000')) return undefined;
    await this.db
      .updateTable('deliveries')
      .set({ status: 'pending', next_attempt_at: now })
      .where('subscription_id', '=', subscriptionId)
      .where('id', '=', id)
      .where(isClosed('status'))
      .where('payload', 'is not', null)
      .execute();
    const row = await this.db
      .selectFrom('deliveries')
      .selectAll()
      .where('subscription_id', '=', subscriptionId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toDelivery(row);
  }

  /** Queues again every failed delivery of a subscription created in [since, until). */
  async recover(
    subscriptionId: number,
    since: number,
    until: number | undefined,
    now = Date.now(),
  ): Promise<number> {
    let q = this.db
      .updateTable('deliveries')
      .set({ status: 'pending', next_attempt_at: now })
      .where('subscription_id', '=', subscriptionId)
      .where('status', '=', 'failed')
      .where('payload', 'is not', null)
      .where('created_at', '>=', since);
    if (until !== undefined) q = q.where('created_at', '<', until);
    const res = await q.executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  /** Retention: forgets payloads and events of closed deliveries older than `before`. */
  async sweep(before: number): Promise<{ payloads: number; events: number }> {
    const res = await this.db
      .updateTable('deliveries')
      .set({ payload: null })
      .where('created_at', '<', before)
      .where(isClosed('status'))
      .where('payload', 'is not', null)
      .executeTakeFirst();
    const ev = await this.db
      .deleteFrom('events')
      .where('received_at', '<', before)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('deliveries')
              .select('seq')
              .whereRef('deliveries.event_id', '=', 'events.id')
              .where(isOpen('status')),
          ),
        ),
      )
      .executeTakeFirst();
    return { payloads: Number(res.numUpdatedRows), events: Number(ev.numDeletedRows) };
  }
}

/**
 * Stores the events that are not repeats and gives every event its id: a repeat gets the id its
 * key was stored with. `fresh` lists the positions of the events stored now, in order.
 */
async function insertEvents(
  tx: Tx,
  db: Kysely<Database>,
  q: OutboxSql,
  events: IncomingEvent[],
  now: number,
): Promise<{ eventIds: number[]; fresh: number[] }> {
  const row = (ev: IncomingEvent) => ({
    extension_id: ev.extensionId,
    event_type: ev.eventType,
    call_id: ev.callId,
    data: JSON.stringify(ev.data),
    received_at: now,
    key: ev.key ?? null,
  });
  const ids: Array<number | undefined> = new Array(events.length);
  const unkeyed: number[] = [];
  const firstOfKey = new Map<string, number>();
  for (const [i, ev] of events.entries()) {
    if (ev.key == null) unkeyed.push(i);
    else if (!firstOfKey.has(ev.key)) firstOfKey.set(ev.key, i);
  }
  const unkeyedStored: Array<Promise<void>> = [];
  for (const chunk of shapedChunks(unkeyed, 128)) {
    const params: unknown[] = [];
    for (const k of chunk) {
      const ev = events[k]!;
      params.push(ev.extensionId, ev.eventType, ev.callId, JSON.stringify(ev.data), now, null);
    }
    unkeyedStored.push(
      tx.run<{ id: number }>(q.insertEvents(chunk.length), params, true).then((inserted) => {
        for (const [j, r] of inserted.entries()) ids[chunk[j]!] = r.id;
      }),
    );
  }
  // Awaited after the keyed ones, which go out behind them meanwhile.
  const unkeyedDone = Promise.all(unkeyedStored);
  unkeyedDone.catch(() => {});
  // Keyed events go in key order: two transactions sharing keys (two instances consuming one
  // switch) then wait for each other in one order, never in a cycle.
  const keys = [...firstOfKey.keys()].sort();
  const stored = new Map<string, number>();
  const freshKeys = new Set<string>();
  // In statement shapes too (see shapedChunks): a switch's batches come in every size.
  for (const chunk of shapedChunks(keys, 128)) {
    const inserted = await tx.query<{ id: number; key: string | null }>(
      db
        .insertInto('events')
        .values(chunk.map((key) => row(events[firstOfKey.get(key)!]!)))
        .onConflict((oc) => oc.column('key').doNothing())
        .returning(['id', 'key']),
    );
    for (const r of inserted) {
      stored.set(r.key!, r.id);
      freshKeys.add(r.key!);
    }
    const before = chunk.filter((key) => !stored.has(key));
    if (before.length > 0) {
      for (const r of await tx.query<{ id: number; key: string | null }>(
        db.selectFrom('events').select(['id', 'key']).where('key', 'in', shapedList(before)),
      )) {
        stored.set(r.key!, r.id);
      }
    }
  }
  await unkeyedDone;
  const fresh: number[] = [];
  for (const [i, ev] of events.entries()) {
    if (ev.key == null) fresh.push(i);
    else {
      ids[i] = stored.get(ev.key);
      if (freshKeys.has(ev.key) && firstOfKey.get(ev.key) === i) fresh.push(i);
    }
  }
  return { eventIds: ids.map((id) => id ?? 0), fresh };
}

/** Closes a subscription's open deliveries as failed (it was disabled or deleted); recover replays them. */
export async function failOpen(db: Kysely<Database>, subscriptionIds: number | number[]): Promise<void> {
  const ids = Array.isArray(subscriptionIds) ? subscriptionIds : [subscriptionIds];
  if (ids.length === 0) return;
  await failOpenQuery(db, ids).execute();
}

function failOpenQuery(db: Kysely<Database>, ids: number[]) {
  return db
    .updateTable('deliveries')
    .set({ status: 'failed', lease_until: null, lease_owner: null })
    .where('subscription_id', 'in', ids)
    .where(isOpen('status'));
}
