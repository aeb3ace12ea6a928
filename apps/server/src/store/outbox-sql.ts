import { CompiledQuery, type Kysely } from 'kysely';
import type { Database, Dialect } from './schema.js';

/**
 * The delivery hot path's statements as fixed SQL text per dialect, built once (per row count for
 * the batched ones) instead of Kysely building the same query tree again on every call: a CPU
 * profile of a delivery run had Kysely's query building (visitNode, freeze, parseRowValues) as a
 * large share of the busy time. SQLite keeps one prepared statement per text (db.ts), so the same
 * text is also parsed and planned only once.
 *
 * Only the statements run per intake, per claim and per recorded batch live here; everything else
 * stays in Kysely. The open-status test is literal SQL so that the partial indexes
 * (`where status in ('pending', 'retrying')`) serve it.
 */
/**
 * The open statuses as SQL, written literally (never as parameters) so that the partial indexes
 * `where status in ('pending', 'retrying')` serve the queries that test them.
 */
export const OPEN_STATUSES = "('pending', 'retrying')";

export class OutboxSql {
  private readonly texts = new Map<string, string>();

  constructor(private readonly dialect: Dialect) {}

  /**
   * SQLite's ` or rollback` for the batched writes, which run inside transactions: a statement that
   * may abort on a constraint (any NOT NULL or unique one) in a transaction otherwise keeps a
   * statement journal, and past 64 KiB (a batch and its index pages) SQLite writes it to a file it
   * creates in /var/tmp and unlinks, about a hundred times a second at full rate. With ROLLBACK as
   * the conflict resolution there is no statement to undo alone: a conflict ends the whole
   * transaction, which is what the store does with any error anyway (see db.ts for the rollback
   * that follows). PostgreSQL has no such clause and needs none.
   */
  private orRollback(): string {
    return this.dialect === 'sqlite' ? ' or rollback' : '';
  }

  /** `?` on SQLite, `$n` on PostgreSQL. */
  private params(first: number, count: number): string {
    if (this.dialect === 'sqlite') return Array.from({ length: count }, () => '?').join(', ');
    return Array.from({ length: count }, (_, i) => `$${first + i}`).join(', ');
  }

  private rows(first: number, rows: number, columns: number, cast: readonly string[] = []): string {
    const out: string[] = [];
    for (let r = 0; r < rows; r++) {
      const start = first + r * columns;
      if (cast.length === 0) out.push(`(${this.params(start, columns)})`);
      else {
        const ps = this.params(start, columns).split(', ');
        out.push(`(${ps.map((p, i) => `cast(${p} as ${cast[i]})`).join(', ')})`);
      }
    }
    return out.join(', ');
  }

  private text(key: string, build: () => string): string {
    let t = this.texts.get(key);
    if (t === undefined) {
      // Batch sizes vary; keep the cache bounded (the store's prepared-statement cache is too).
      if (this.texts.size > 2000) this.texts.clear();
      t = build();
      this.texts.set(key, t);
    }
    return t;
  }

  /** Unkeyed events, `n` rows of (extension_id, event_type, call_id, data, received_at, key); returns id. */
  insertEvents(n: number): string {
    return this.text(`events:${rowShape(n)}`, () => {
      return `insert${this.orRollback()} into events (extension_id, event_type, call_id, data, received_at, key) values ${this.rows(1, n, 6)} returning id`;
    });
  }

  /** The subscriptions an event of (extension_id, event_type) goes to. */
  subscriptionsFor(): string {
    return this.text('subs', () => {
      const [a, b] = this.params(1, 2).split(', ');
      return `select s.id, s.client_id, s.url, s.method, s.enabled, e.secret, e.previous_secret, e.previous_secret_expires_at,
          s.migrated_secret, s.migrated_secret_expires_at, s.failing_since
        from subscriptions as s inner join endpoints as e on e.id = s.endpoint_id
        where s.extension_id = ${a} and s.event_type = ${b} order by s.id`;
    });
  }

  /** PostgreSQL: the transaction's locks of calls (param: their lock keys, a bigint[]). */
  lockCalls(): string {
    return this.text('lock-calls', () => {
      if (this.dialect !== 'postgres') throw new Error('lockCalls is for PostgreSQL');
      return 'select pg_advisory_xact_lock(k) from unnest(cast($1 as bigint[])) as t(k)';
    });
  }

  /**
   * Of `n` deliveries the intake just stored leased (params: their ids), those behind an open
   * delivery of their call at their endpoint lose the lease: due now, a claim takes them in their
   * turn. Returns their ids.
   */
  unleaseBehind(n: number): string {
    return this.text(`unlease:${listShape(n)}`, () => {
      return `update${this.orRollback()} deliveries as d set lease_until = null, lease_owner = null, next_attempt_at = d.created_at
        where d.id in (${this.params(1, n)})
          and exists (select p.seq from deliveries as p where p.order_key = d.order_key and p.seq < d.seq and p.status in ${OPEN_STATUSES})
        returning id`;
    });
  }

  static readonly deliveryColumns = [
    'id',
    'subscription_id',
    'event_id',
    'client_id',
    'extension_id',
    'event_type',
    'call_id',
    'order_key',
    'status',
    'attempts',
    'next_attempt_at',
    'lease_until',
    'lease_owner',
    'created_at',
    'payload',
  ] as const;

  /** `n` deliveries of `deliveryColumns`; returns id, seq. */
  insertDeliveries(n: number): string {
    return this.text(`deliveries:${rowShape(n)}`, () => {
      const cols = OutboxSql.deliveryColumns;
      return `insert${this.orRollback()} into deliveries (${cols.join(', ')}) values ${this.rows(1, n, cols.length)} returning id, seq`;
    });
  }

  /**
   * Due deliveries (params: now, now, then the `excluded` subscription ids, then the limit): see
   * OutboxStore.claim for what "due" means.
   */
  claimDue(excluded: number): string {
    return this.text(`claim:${excluded === 0 ? 0 : listShape(excluded)}`, () => {
      const ps = this.params(1, 3 + excluded).split(', ');
      const exclude =
        excluded > 0 ? ` and d.subscription_id not in (${ps.slice(2, 2 + excluded).join(', ')})` : '';
      return `select d.seq from deliveries as d inner join subscriptions as s on s.id = d.subscription_id
        where s.enabled = 1 and d.status in ${OPEN_STATUSES} and d.next_attempt_at <= ${ps[0]}
          and (d.lease_until is null or d.lease_until < ${ps[1]})
          and not exists (select p.seq from deliveries as p where p.order_key = d.order_key and p.seq < d.seq and p.status in ${OPEN_STATUSES})${exclude}
        order by d.next_attempt_at, d.seq limit ${ps[2 + excluded]}${this.lock()}`;
    });
  }

  /**
   * Up to a count of due deliveries of `n` subscriptions (params: now, the n ids, the count),
   * read from their queues.
   */
  countDue(n: number): string {
    return this.text(`count-due:${listShape(n)}`, () => {
      const ps = this.params(1, 2 + n).split(', ');
      // Parameters appear in the text in their order: SQLite binds its `?` by position.
      return `select count(*) as n from (select d.seq from deliveries as d
          where d.next_attempt_at <= ${ps[0]} and d.subscription_id in (${ps.slice(1, 1 + n).join(', ')}) and d.status in ${OPEN_STATUSES}
          limit ${ps[1 + n]}) as due`;
    });
  }

  /**
   * Up to a count of subscriptions with open deliveries, by id, after a given id (params: that id,
   * 0 for the first; the count): a skip scan of the queue index, one step per subscription,
   * however many deliveries each holds.
   */
  queues(): string {
    return this.text('queues', () => {
      const [after, count] = this.params(1, 2).split(', ');
      // SQLite is told the index: after an ANALYZE of a table of mostly open deliveries it would
      // take deliveries_log, which holds every delivery ever made.
      const by = this.dialect === 'sqlite' ? ' indexed by deliveries_queue' : '';
      return `with recursive q(id, n) as (
          select (select min(subscription_id) from deliveries${by} where status in ${OPEN_STATUSES} and subscription_id > ${after}), 1
          union all
          select (select min(d.subscription_id) from deliveries as d${by} where d.status in ${OPEN_STATUSES} and d.subscription_id > q.id), q.n + 1
          from q where q.id is not null and q.n < ${count}
        ) select id from q where id is not null`;
    });
  }

  /**
   * SQLite: due deliveries of one subscription, from its queue (params: the subscription id, now,
   * now, the limit): as `claimDue`, with seq and due time to merge several queues' heads.
   */
  claimQueue(): string {
    return this.text('claim-queue', () => {
      const ps = this.params(1, 4).split(', ');
      return this.queueHead(ps[0]!, ps[1]!, ps[2]!, ps[3]!);
    });
  }

  /**
   * PostgreSQL: `claimQueue` for each subscription of an array in one statement (params: the
   * bigint[] of ids, now, now, the limit per queue), unlocked: `lockDue` locks those taken.
   */
  queueHeads(): string {
    return this.text('queue-heads', () => {
      if (this.dialect !== 'postgres') throw new Error('queueHeads is for PostgreSQL');
      return `select h.seq, h.next_attempt_at from unnest(cast($1 as bigint[])) as c(id)
        cross join lateral (${this.queueHead('c.id', '$2', '$3', '$4')}) as h`;
    });
  }

  private queueHead(subscription: string, now: string, leaseNow: string, limit: string): string {
    return `select d.seq, d.next_attempt_at from deliveries as d inner join subscriptions as s on s.id = d.subscription_id
        where d.subscription_id = ${subscription} and s.enabled = 1 and d.status in ${OPEN_STATUSES} and d.next_attempt_at <= ${now}
          and (d.lease_until is null or d.lease_until < ${leaseNow})
          and not exists (select p.seq from deliveries as p where p.order_key = d.order_key and p.seq < d.seq and p.status in ${OPEN_STATUSES})
        order by d.next_attempt_at, d.seq limit ${limit}`;
  }

  /**
   * PostgreSQL: locks those of `n` deliveries still open, due and unleased, skipping any another
   * claim holds (params: now, now, then the seqs).
   */
  lockDue(n: number): string {
    return this.text(`lock-due:${listShape(n)}`, () => {
      const ps = this.params(1, 2 + n).split(', ');
      return `select d.seq from deliveries as d where d.next_attempt_at <= ${ps[0]}
          and (d.lease_until is null or d.lease_until < ${ps[1]})
          and d.seq in (${ps.slice(2).join(', ')}) and d.status in ${OPEN_STATUSES}${this.lock()}`;
    });
  }

  /**
   * Locks the claimed deliveries' rows on PostgreSQL, and those only: another instance's claim
   * skips them, not every delivery of the subscriptions they belong to.
   */
  private lock(): string {
    return this.dialect === 'postgres' ? ' for update of d skip locked' : '';
  }

  /**
   * Moves up to a limit of due, unleased deliveries of `n` subscriptions and those sharing their
   * endpoints to a later time (params:
   * the time, now, now, then the n subscription ids, then the limit): a held receiver's, so that
   * claims need not step over them while it is held. The due index leads (the unary `+` keeps
   * SQLite from taking the subscription's index instead, which holds its whole history and
   * would be sorted again for every chunk).
   */
  deferDue(n: number): string {
    return this.text(`defer:${listShape(n)}`, () => {
      const ps = this.params(1, 4 + n).split(', ');
      return `update deliveries set next_attempt_at = ${ps[0]} where seq in (
          select d.seq from deliveries as d
          where d.status in ${OPEN_STATUSES} and d.next_attempt_at <= ${ps[1]}
            and (d.lease_until is null or d.lease_until < ${ps[2]})
            and +d.subscription_id in (${sameEndpoints(ps.slice(3, 3 + n))})
          order by d.next_attempt_at, d.seq limit ${ps[3 + n]})`;
    });
  }

  /**
   * Brings up to a limit of deliveries of `n` subscriptions and those sharing their endpoints due
   * between now and a time back to now
   * (params: now, now, the time, now, then the n ids, then the limit): a held receiver's backlog,
   * pushed ahead while it was held, once it answers again.
   */
  bringForward(n: number): string {
    return this.text(`forward:${listShape(n)}`, () => {
      const ps = this.params(1, 5 + n).split(', ');
      return `update deliveries set next_attempt_at = ${ps[0]} where seq in (
          select d.seq from deliveries as d
          where d.status in ${OPEN_STATUSES} and d.next_attempt_at > ${ps[1]} and d.next_attempt_at <= ${ps[2]}
            and (d.lease_until is null or d.lease_until < ${ps[3]})
            and +d.subscription_id in (${sameEndpoints(ps.slice(4, 4 + n))})
          order by d.next_attempt_at, d.seq limit ${ps[4 + n]})`;
    });
  }

  /** Leases `n` deliveries (params: lease_until, owner, next_attempt_at, then the seqs). */
  lease(n: number): string {
    return this.text(`lease:${listShape(n)}`, () => {
      const ps = this.params(1, 3 + n).split(', ');
      return `update${this.orRollback()} deliveries set lease_until = ${ps[0]}, lease_owner = ${ps[1]}, next_attempt_at = ${ps[2]} where seq in (${ps.slice(3).join(', ')})`;
    });
  }

  /** `n` claimed deliveries with what sending needs of their subscriptions, by seq. */
  claimed(n: number): string {
    return this.text(`claimed:${listShape(n)}`, () => {
      return `select d.seq, d.id, d.subscription_id, d.event_id, d.client_id, d.extension_id, d.event_type, d.call_id,
          d.status, d.attempts, d.next_attempt_at, d.created_at, d.last_attempt_at, d.last_status_code, d.last_outcome, d.payload,
          s.url, s.method, e.secret, e.previous_secret, e.previous_secret_expires_at,
          s.migrated_secret, s.migrated_secret_expires_at, s.failing_since
        from deliveries as d inner join subscriptions as s on s.id = d.subscription_id
          inner join endpoints as e on e.id = s.endpoint_id
        where d.seq in (${this.params(1, n)}) order by d.seq`;
    });
  }

  /**
   * `n` attempts of (delivery_seq, attempted_at, outcome, status_code, latency_ms, error,
   * response_body, request, response).
   */
  insertAttempts(n: number): string {
    return this.text(`attempts:${rowShape(n)}`, () => {
      return `insert${this.orRollback()} into attempts (delivery_seq, attempted_at, outcome, status_code, latency_ms, error, response_body, request, response) values ${this.rows(1, n, 9)}`;
    });
  }

  /**
   * SQLite: records `n` results in one statement: rows of RESULT_COLUMNS, then the owner whose
   * leases they must still be. PostgreSQL records them from arrays instead (`recordResultArrays`).
   */
  recordResults(n: number): string {
    return this.text(`record:${rowShape(n)}`, () => {
      const casts = RESULT_COLUMNS.map(([, type]) => type);
      return `update${this.orRollback()} deliveries set ${recordedSet('deliveries', (c) => `v.column${c + 1}`)}
        from (values ${this.rows(1, n, RESULT_COLUMNS.length, casts)}) as v
        where deliveries.seq = v.column1 and deliveries.lease_owner = ${this.params(1 + n * RESULT_COLUMNS.length, 1)}`;
    });
  }

  /**
   * PostgreSQL: the plans the rest of the transaction makes never scan a table whole nor loop over
   * a batch for each row (issued before `recordResultArrays`, where its plan is kept).
   *
   * PostgreSQL plans a prepared statement for each of its first five runs on a connection and
   * then may keep one generic plan for it until the table's statistics or schema change (an
   * ANALYZE, autovacuum's or anyone's; never, with autovacuum off and no one running one).
   * Recording results joins them to `deliveries`: planned while the table held a few thousand rows
   * or fewer (a new install, the first deliveries of a fresh database), that plan scanned the
   * whole table, and the connection kept it as the table grew: a median of 63 ms to record 16
   * results at 300,000 deliveries, against 2.4–2.6 ms now (`bench/stale-plans.mjs`). Under these
   * settings, and with the statement's own test of the seqs (see there), every plan of it, the
   * kept one too, takes the batch's rows by the primary key and joins them by hash, at any size of
   * the table.
   */
  indexedResults(): string {
    return this.text('indexed-results', () => {
      if (this.dialect !== 'postgres') throw new Error('indexedResults is for PostgreSQL');
      return "select set_config('enable_seqscan', 'off', true), set_config('enable_nestloop', 'off', true)";
    });
  }

  /**
   * PostgreSQL: records any number of results in one statement (params: one array per column of
   * RESULT_COLUMNS, in its order, then the owner whose leases they must still be). A plan kept on
   * the connection must be made under `indexedResults`. The seqs' test on `deliveries` itself
   * (`= any`) is what gives the planner the primary key to read them by, and it is needed: without
   * it the settings leave a merge join over the whole primary key index. The join to the arrays
   * then gives each row its values.
   */
  recordResultArrays(): string {
    return this.text('record-arrays', () => {
      if (this.dialect !== 'postgres') throw new Error('recordResultArrays is for PostgreSQL');
      const arrays = RESULT_COLUMNS.map(([, type], i) => `cast($${i + 1} as ${type}[])`).join(', ');
      const names = RESULT_COLUMNS.map(([name]) => name).join(', ');
      return `update deliveries as d set ${recordedSet('d', (c) => `v.${RESULT_COLUMNS[c]![0]}`)}
        from unnest(${arrays}) as v(${names})
        where d.seq = v.seq and d.seq = any(cast($1 as bigint[])) and d.lease_owner = $${RESULT_COLUMNS.length + 1}`;
    });
  }

  /** Subscriptions (n ids) that succeeded again: no longer failing. */
  clearFailing(n: number): string {
    return this.text(`clear:${listShape(n)}`, () => {
      return `update subscriptions set failing_since = null where id in (${this.params(1, n)}) and failing_since is not null`;
    });
  }

  /**
   * Every subscription sharing an endpoint with the n given (param: now, then the ids) that has
   * deliveries waiting: its failing began now (the endpoint's calls wait behind the one delivery
   * tried, per-call order). One with nothing waiting is left alone: no success would clear it.
   */
  markEndpointsFailing(n: number): string {
    return this.text(`mark-endpoints:${listShape(n)}`, () => {
      const ps = this.params(1, 1 + n).split(', ');
      return `update subscriptions set failing_since = ${ps[0]} where failing_since is null
        and endpoint_id in (select o.endpoint_id from subscriptions as o where o.id in (${ps.slice(1).join(', ')}))
        and exists (select 1 from deliveries as d where d.subscription_id = subscriptions.id and d.status in ${OPEN_STATUSES})`;
    });
  }

  /** Subscriptions (param: now, then n ids) whose failing began now. */
  markFailing(n: number): string {
    return this.text(`mark:${listShape(n)}`, () => {
      const ps = this.params(1, 1 + n).split(', ');
      return `update subscriptions set failing_since = ${ps[0]} where id in (${ps.slice(1).join(', ')}) and failing_since is null`;
    });
  }
}

/**
 * A recorded result's values, in the order `OutboxStore.complete` passes them (per row on SQLite,
 * one array each on PostgreSQL), with their SQL types.
 */
export const RESULT_COLUMNS = [
  ['seq', 'bigint'],
  ['status', 'text'],
  ['next_attempt_at', 'bigint'],
  ['attempted_at', 'bigint'],
  ['status_code', 'integer'],
  ['outcome', 'text'],
] as const;

/**
 * What recording a result sets on `table`'s row (the delivery), `value(c)` being the expression
 * of RESULT_COLUMNS[c]: the attempt counted, the lease given back.
 */
function recordedSet(table: string, value: (column: number) => string): string {
  return `status = ${value(1)}, attempts = ${table}.attempts + 1, next_attempt_at = ${value(2)},
          lease_until = null, lease_owner = null,
          last_attempt_at = ${value(3)}, last_status_code = ${value(4)}, last_outcome = ${value(5)}`;
}

/**
 * The subscriptions sharing an endpoint with those whose ids are the parameters `ps`: a held
 * receiver's calls wait behind one subscription's delivery, in the others' deliveries too.
 */
function sameEndpoints(ps: readonly string[]): string {
  return `select o.id from subscriptions as o where o.endpoint_id in (select i.endpoint_id from subscriptions as i where i.id in (${ps.join(', ')}))`;
}

const ROW_STEP = 16;
const MAX_ROWS = 256;

/**
 * Batched statements come in a few shapes only. SQLite keeps a prepared statement per text
 * (db.ts), and a multi-row insert holds most of a megabyte there; with one text per batch size,
 * intakes of every size from 1 to 500 made the cache hold over 200 MB (`bench/statements.mjs`).
 * Chunks are a multiple of 16 rows (up to `max`, itself a multiple of 16 up to 256) and then the
 * remainder, fewer than 16: at most two statements for any batch up to `max`, and at most 31 texts
 * per kind. The statement builders refuse any other row count (`rowShape`).
 */
export function shapedChunks<T>(items: readonly T[], max = MAX_ROWS): T[][] {
  const step = ROW_STEP;
  const out: T[][] = [];
  let i = 0;
  while (items.length - i >= step) {
    const size = Math.min(max, Math.floor((items.length - i) / step) * step);
    out.push(items.slice(i, i + size));
    i += size;
  }
  if (i < items.length) out.push(items.slice(i));
  return out;
}

/**
 * A list for `in (...)` at its shape's length: the next power of two, the last item repeated
 * (the same set, so `in` and `not in` mean what they meant; a null would break `not in`).
 */
export function shapedList<T>(items: readonly T[]): T[] {
  let size = 1;
  while (size < items.length) size <<= 1;
  const out = [...items];
  while (out.length < size) out.push(items[items.length - 1]!);
  return out;
}

/** `n` rows as `shapedChunks` makes them: fewer than the step, or a multiple of it up to the maximum. */
function rowShape(n: number): number {
  if (n >= 1 && (n < ROW_STEP || (n % ROW_STEP === 0 && n <= MAX_ROWS))) return n;
  throw new Error(`${n} rows is not a statement shape: pass shapedChunks' chunks`);
}

/** `n` list items as `shapedList` makes them: a power of two. */
function listShape(n: number): number {
  if (n >= 1 && (n & (n - 1)) === 0) return n;
  throw new Error(`${n} items is not a statement shape: pass a shapedList`);
}

/** Runs one of the fixed statements in `db` (a transaction, usually). */
export async function run<R>(
  db: Pick<Kysely<Database>, 'executeQuery'>,
  text: string,
  params: readonly unknown[],
): Promise<R[]> {
  const res = await db.executeQuery<R>(CompiledQuery.raw(text, params as unknown[]));
  return res.rows as R[];
}
