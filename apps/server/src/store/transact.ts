import { CompiledQuery, type Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from './schema.js';

/**
 * A transaction of the delivery hot path (intake, claim, recorded results), whose statements go
 * out as they are issued. On PostgreSQL the connection is pipelined (node-postgres' `pipeline`):
 * a statement issued while earlier ones are still under way is written behind them at once, and
 * the answers come back in order. So a transaction costs one round trip per step whose statements
 * need an earlier step's rows, not one per statement. Each round trip woke the server process and
 * PostgreSQL's in turn: a profile of a PostgreSQL run had a third of the server's busy time in the
 * socket writes of its queries (on two shared cores, each write hands the core to PostgreSQL).
 *
 * Issue the statements that do not need each other's results before awaiting any of them
 * (`Promise.all`); they run in the order issued, each seeing what the ones before it wrote, as
 * they would one by one. A statement that fails fails every statement issued after it, and the
 * transaction: nothing after a failure takes effect, on either database.
 */
export interface Tx {
  /**
   * Issues a statement behind those issued before it; resolves to its rows. `prepared`: a fixed
   * text run on every intake or completion, whose plan does not depend on its parameters, is kept
   * prepared on the connection (PostgreSQL parses and plans it once per connection, not per call;
   * SQLite keeps every text prepared anyway, db.ts).
   */
  run<R>(text: string, params: readonly unknown[], prepared?: boolean): Promise<R[]>;
  /**
   * Whether `run`'s prepared texts keep their plans on the connection (PostgreSQL with prepared
   * statements): false where every statement is planned on each run (SQLite keeps its own, planned
   * without table sizes; PostgreSQL with `prepare` off, behind a pooler).
   */
  readonly keepsPlans: boolean;
  /** `run` for a query built with Kysely (compiled by the store's Kysely instance). */
  query<R>(query: { compile(): CompiledQuery }): Promise<R[]>;
  /**
   * Issues COMMIT now, behind the statements issued so far, so that it travels with the last of
   * them instead of taking a round trip of its own. Nothing may be issued after it, and nothing
   * that can fail may follow it in the transaction's function: the transaction resolves only once
   * COMMIT answered, but a failure after it was sent cannot undo the commit. Without a call, the
   * transaction commits when its function resolves.
   */
  commit(): void;
}

/** Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. */
export type Transact = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;

const ignore = (): void => {};

/**
 * PostgreSQL: the names of the prepared texts (`Tx.run`'s `prepared`), the same on every
 * connection. The outbox prepares its three batched inserts in their row-count shapes, and the
 * results' update and its settings once (outbox-sql.ts): 87 texts at most. A connection that has
 * run every one of them holds 12.2 MB for them in PostgreSQL (`node
 * apps/server/bench/pg-prepared.mjs`); one that sees a few batch sizes, a few MB. Past this many
 * texts, more are run unnamed.
 */
const preparedNames = new Map<string, string>();
const MOST_PREPARED = 128;

function preparedName(text: string): string | undefined {
  let name = preparedNames.get(text);
  if (name === undefined && preparedNames.size < MOST_PREPARED) {
    name = `callhook_${preparedNames.size + 1}`;
    preparedNames.set(text, name);
  }
  return name;
}

/**
 * Through Kysely's transaction (SQLite: its statements run one by one anyway). The statements are
 * chained in the order issued, and one after a failure never runs: SQLite's `or rollback`
 * statements end the transaction when they fail, and a statement run after that would be
 * committed on its own. For the same reason none runs once the function has settled: one still
 * queued when it threw could otherwise run between Kysely's ROLLBACK and the transaction's end.
 * As on PostgreSQL, a transaction one of whose statements failed is rolled back, even if its
 * function went on.
 */
export function kyselyTransact(db: Kysely<Database>): Transact {
  return (fn) =>
    db.transaction().execute(async (trx) => {
      let last: Promise<unknown> = Promise.resolve();
      let open = true;
      const run = <R>(query: CompiledQuery): Promise<R[]> => {
        const p = last.then(async () => {
          if (!open) throw new Error(ENDED);
          return (await trx.executeQuery<R>(query)).rows as R[];
        });
        // Handled here too: a caller that stops at an earlier failure never awaits this one.
        p.catch(ignore);
        last = p;
        return p;
      };
      try {
        const result = await fn({
          run: (text, params) => run(CompiledQuery.raw(text, params as unknown[])),
          keepsPlans: false,
          query: (q) => run(q.compile()),
          commit: ignore,
        });
        // Every statement issued has run (each waits for the one before); the last says if any
        // failed.
        await last;
        return result;
      } catch (err) {
        open = false;
        // The statement running now, if any, ends before Kysely's ROLLBACK.
        await last.catch(ignore);
        throw err;
      } finally {
        open = false;
      }
    });
}

const ENDED = 'a statement issued after its transaction ended';

/**
 * On a pipelined PostgreSQL pool: BEGIN goes out with the first statement, COMMIT with the last
 * (`Tx.commit`) or once the function resolves. After a failure the statements still under way
 * fail in turn (the transaction is aborted), and ROLLBACK goes behind them; a COMMIT already sent
 * answers ROLLBACK then, which is a failure too. The transaction rejects with the first
 * statement's failure, as it would have had the statements gone one by one, whichever of them
 * the function was awaiting. Once COMMIT or ROLLBACK is sent nothing more goes out: a statement
 * issued after it would run on its own, or in the next borrower's transaction. `prepare` false:
 * every statement unnamed (`Tx.run`'s `prepared` ignored), for a pooler that does not keep them.
 */
export function pipelinedTransact(pool: pg.Pool, prepare = true): Transact {
  return async (fn) => {
    const client = await pool.connect();
    // The first statement to fail (they answer in order): those behind it fail only because the
    // transaction is aborted, and the function may have stopped at any of them.
    let failed: { err: unknown } | undefined;
    // Statements issued together leave in one write: the socket is corked from the first until
    // the function next waits (node-postgres corks each statement's own messages the same way).
    // Each write cost the process a system call and woke PostgreSQL once more.
    const socket = client.connection.stream;
    let corked = false;
    const uncork = () => {
      corked = false;
      socket.uncork();
    };
    const send = (text: string, params?: unknown[], name?: string): Promise<pg.QueryResult> => {
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      const p = client.query(name === undefined ? { text, values: params } : { name, text, values: params });
      p.catch((err: unknown) => {
        failed ??= { err };
      });
      return p;
    };
    /** COMMIT or ROLLBACK, once sent. */
    let end: Promise<pg.QueryResult> | undefined;
    const finish = (how: 'commit' | 'rollback'): Promise<pg.QueryResult> => {
      end ??= send(how);
      return end;
    };
    const run = <R>(text: string, params: readonly unknown[], prepared = false): Promise<R[]> => {
      let rows: Promise<R[]>;
      if (end) rows = Promise.reject(new Error(ENDED));
      else {
        try {
          // node-postgres turns a value it cannot send into a failure of that statement alone,
          // which PostgreSQL never sees: the transaction would commit without it.
          refuseUnsendable(params);
          const name = prepare && prepared ? preparedName(text) : undefined;
          // node-postgres only reads the values: no copy.
          rows = send(text, params as unknown[], name).then((r) => r.rows as R[]);
        } catch (err) {
          failed ??= { err };
          rows = Promise.reject(err);
        }
      }
      // Handled here too: a function that stops at an earlier failure never awaits this one.
      rows.catch(ignore);
      return rows;
    };
    const tx: Tx = {
      run,
      keepsPlans: prepare,
      query: <R>(q: { compile(): CompiledQuery }) => {
        const c = q.compile();
        return run<R>(c.sql, c.parameters);
      },
      commit: () => {
        finish(failed ? 'rollback' : 'commit');
      },
    };
    let result: Awaited<ReturnType<typeof fn>>;
    try {
      // The intake's lock-then-check (OutboxStore.lockCalls, unleaseBehind) needs each statement
      // to read what was committed when it starts, whatever the server's default.
      send('begin isolation level read committed');
      result = await fn(tx);
      if (failed) throw failed.err;
      const done = await finish('commit');
      // COMMIT of a transaction that a statement failed answers ROLLBACK, without an error: a
      // function that caught a statement's failure and went on must not be told it committed.
      if (done.command !== 'COMMIT')
        throw new Error('the transaction was rolled back: a statement of it failed');
    } catch (err) {
      // Ended either way: a COMMIT under way answers (ROLLBACK, when a statement failed), or a
      // ROLLBACK goes behind what is. A connection that cannot say is not used again.
      const clean = await finish('rollback').then(
        () => true,
        () => false,
      );
      client.release(!clean);
      throw failed?.err ?? err;
    }
    client.release();
    return result;
  };
}

/**
 * Values node-postgres sends as they are: text, numbers, booleans, nulls, arrays of these. Run on
 * every statement (a batch of 100 deliveries is 1,500 values): an indexed loop, without the pair
 * `entries()` makes per value.
 */
function refuseUnsendable(params: readonly unknown[]): void {
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    if (plain(v) || (Array.isArray(v) && v.every(plain))) continue;
    throw new TypeError(`parameter $${i + 1} is a ${typeof v}, which the store does not send`);
  }
}

function plain(v: unknown): boolean {
  const t = typeof v;
  return v == null || t === 'string' || t === 'number' || t === 'boolean';
}
