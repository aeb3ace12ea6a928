import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  sql,
} from 'kysely';
import { type Checkpointer, ConnectionGate, checkpointInBackground } from './checkpoints.js';
import { migrate } from './migrations.js';
import type { Database, Dialect } from './schema.js';
import { kyselyTransact, pipelinedTransact, type Transact } from './transact.js';

export interface Connection {
  db: Kysely<Database>;
  dialect: Dialect;
  /** The delivery hot path's transactions (see transact.ts). */
  transact: Transact;
  /** Where the data is, for people (a file path or the database URL without its password). */
  location: string;
  /** SQLite's background checkpoints, when on. */
  checkpoints?: Checkpointer | undefined;
  close(): Promise<void>;
}

export interface ConnectOptions {
  dataDir: string;
  databaseUrl: string;
  poolSize: number;
  /** PostgreSQL: the hot path's batched writes kept prepared on each connection (default true). */
  prepared?: boolean;
  /**
   * SQLite: checkpoint the WAL from a background thread this often (ms), instead of inside the
   * commit that fills it (SQLite's default, and this one's when 0 or unset).
   */
  checkpointMs?: number;
  /** Told when the background checkpoints stop working (the connection then does them again). */
  onCheckpointFailure?: (err: unknown) => void;
  /**
   * SQLite with background checkpoints: past this many pages in the WAL, the writes are held for
   * a last short checkpoint so that the WAL starts over (checkpoints.ts). 4096 (16 MiB) by default.
   */
  walRestartPages?: number;
  /** Told how long each of those holds lasted (ms), from the gate's closing to its opening. */
  onWalHold?: (ms: number) => void;
}

/** The WAL file's size kept after it starts over (SQLite's journal_size_limit): 64 MiB. */
const WAL_KEPT_BYTES = 64 * 1024 * 1024;

export async function connect(opts: ConnectOptions): Promise<Connection> {
  if (/^postgres(ql)?:\/\//.test(opts.databaseUrl)) {
    // Loaded only for PostgreSQL: a server on SQLite does not carry the driver (8 MB of RSS).
    const { default: pg } = await import('pg');
    // PostgreSQL returns int8 as strings to be safe past 2^53; our ids and millisecond times stay
    // far below that, and the code above the store wants numbers on both backends.
    pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: opts.poolSize,
      // A server that stops answering without closing the connection (network gone) must turn
      // into a 503 and a dispatcher retry within seconds, not hang until the OS gives up.
      connectionTimeoutMillis: 5000,
      keepAlive: true,
      // A statement issued while earlier ones are under way goes out at once behind them (the
      // hot path's transactions, transact.ts); Kysely still runs its own one at a time. A
      // pipelined client refuses cursors and streams: Kysely's `cursor` option would not work.
      pipeline: true,
    });
    // An idle client losing its connection (server restart) must not crash the process.
    pool.on('error', () => {});
    // Nor a client losing it while checked out: PostgreSQL's "terminating connection" (or the
    // socket closing) between two queries of a transaction is an 'error' event on the client,
    // which the pool only listens to while the client is idle. The query under way, or the
    // next one, fails with it (a 503 for a request; the dispatcher retries) and the pool drops
    // the broken client when it comes back.
    pool.on('connect', (client) => {
      client.on('error', () => {});
    });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    // Several instances may start at once: one migrates while the others wait on the lock.
    await db.connection().execute(async (conn) => {
      await sql`select pg_advisory_lock(4242001)`.execute(conn);
      try {
        await migrate(conn as unknown as Kysely<unknown>, 'postgres');
      } finally {
        await sql`select pg_advisory_unlock(4242001)`.execute(conn);
      }
    });
    const url = new URL(opts.databaseUrl);
    url.password = '';
    return {
      db,
      dialect: 'postgres',
      transact: pipelinedTransact(pool, opts.prepared ?? true),
      location: url.toString(),
      close: () => db.destroy(),
    };
  }
  if (opts.databaseUrl !== '' && !opts.databaseUrl.startsWith('sqlite:')) {
    throw new Error(
      `DATABASE_URL must be postgres://... or sqlite:<file>; got ${opts.databaseUrl.split(':')[0]}:`,
    );
  }
  const file = opts.databaseUrl.startsWith('sqlite:')
    ? resolve(opts.databaseUrl.slice('sqlite:'.length))
    : join(resolve(opts.dataDir), 'callhook.db');
  mkdirSync(resolve(file, '..'), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  // WAL with synchronous=NORMAL survives a process crash (kill -9) without losing a commit;
  // only an OS crash can lose the last transactions.
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  // temp_store stays FILE (the default): MEMORY would put every sort SQLite makes in memory with
  // no bound, a migration's index build over a whole table or a deep page of a delivery log among
  // them (600,000 rows: an index build 68 -> 219 MB of RSS, a sort 85 -> 222; in
  // docs/benchmarks-history.md, "Cheaper attempts, no temporary files"). The statement journals
  // that went to /var/tmp at full rate are avoided instead (outbox-sql.ts).
  sqlite.pragma('busy_timeout = 5000');
  // A burst that outran the checkpoints leaves a long WAL file behind; past this size it is cut
  // back once the WAL starts over.
  sqlite.pragma(`journal_size_limit = ${WAL_KEPT_BYTES}`);
  reusePreparedStatements(sqlite);
  const gate = new ConnectionGate();
  const db = new Kysely<Database>({ dialect: new GatedSqliteDialect({ database: sqlite }, gate) });
  await migrate(db as unknown as Kysely<unknown>, 'sqlite');
  const checkpoints = opts.checkpointMs
    ? checkpointInBackground(
        sqlite,
        file,
        opts.checkpointMs,
        opts.onCheckpointFailure ?? (() => {}),
        gate,
        opts.walRestartPages,
        opts.onWalHold,
      )
    : undefined;
  return {
    db,
    dialect: 'sqlite',
    transact: kyselyTransact(db),
    location: file,
    checkpoints,
    async close() {
      await checkpoints?.stop();
      await db.destroy();
    },
  };
}

/** Kysely's SQLite dialect, with the connection taken through `gate` (see ConnectionGate). */
class GatedSqliteDialect extends SqliteDialect {
  constructor(
    private readonly settings: SqliteDialectConfig,
    private readonly gate: ConnectionGate,
  ) {
    super(settings);
  }

  override createDriver(): Driver {
    return new GatedSqliteDriver(this.settings, this.gate);
  }
}

class GatedSqliteDriver extends SqliteDriver {
  constructor(
    settings: SqliteDialectConfig,
    private readonly gate: ConnectionGate,
  ) {
    super(settings);
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    const wait = this.gate.enter();
    if (wait) await wait;
    try {
      return await super.acquireConnection();
    } catch (err) {
      this.gate.leave();
      throw err;
    }
  }

  override async releaseConnection(): Promise<void> {
    await super.releaseConnection();
    this.gate.leave();
  }
}

/**
 * Kysely prepares every query afresh; for the same SQL text the statement can be reused, which
 * saves SQLite's parse and plan on every request and every delivery batch. Kysely runs each
 * statement to completion (`all`/`run`) before the next, so one statement per text is enough.
 */
function reusePreparedStatements(sqlite: SQLite.Database): void {
  const prepare = sqlite.prepare.bind(sqlite);
  const statements = new Map<string, SQLite.Statement>();
  sqlite.prepare = ((source: string) => {
    let statement = statements.get(source);
    if (!statement) {
      // Batched statements vary in their number of rows; keep the cache bounded.
      if (statements.size >= 1000) statements.clear();
      statement =
        source === 'rollback' ? rollbackIfAny(sqlite, prepare(source)) : withRowsBuiltInJs(prepare(source));
      statements.set(source, statement);
    }
    return statement;
  }) as typeof sqlite.prepare;
}

/**
 * Kysely's `rollback` after a failed statement, made a no-op when there is no transaction left: a
 * batched write that hits a constraint (`insert or rollback`, outbox-sql.ts) has already rolled
 * the transaction back, and SQLite's "cannot rollback - no transaction is active" would take the
 * place of the error that says what went wrong.
 */
function rollbackIfAny(sqlite: SQLite.Database, statement: SQLite.Statement): SQLite.Statement {
  const run = statement.run.bind(statement);
  return Object.assign(statement, {
    run: (...params: unknown[]) =>
      sqlite.inTransaction ? run(...params) : { changes: 0, lastInsertRowid: 0 },
  });
}

type Row = Record<string, unknown>;

/**
 * A reading statement whose rows come from SQLite as arrays and become objects through a function
 * compiled once for its columns (an object literal of one fixed shape). better-sqlite3 builds each
 * row object through V8's API, one named property at a time: reading a claim's 200 deliveries of
 * 24 columns took 1.30 ms so, and takes 0.65 ms this way (0.56 of it reading the arrays). The
 * objects are the same: own properties in column order, the last of two same-named columns
 * winning. Only the statements Kysely prepares come here (it calls `all`, `run` and `iterate`;
 * `get` is kept in step so that no caller ever sees an array); `pragma` prepares its own.
 */
function withRowsBuiltInJs(statement: SQLite.Statement): SQLite.Statement {
  if (!statement.reader) return statement;
  const names = statement.columns().map((c) => c.name);
  // A `__proto__` key in a literal sets the prototype: such a statement stays as better-sqlite3
  // makes its rows (it drops the column).
  if (names.includes('__proto__')) return statement;
  // The names are the statement's own column names, written as JSON string literals.
  const toRow = new Function(
    'r',
    `return {${names.map((name, i) => `${JSON.stringify(name)}: r[${i}]`).join(', ')}};`,
  ) as (values: unknown[]) => Row;
  statement.raw(true);
  const all = statement.all.bind(statement);
  const get = statement.get.bind(statement);
  const iterate = statement.iterate.bind(statement);
  return Object.assign(statement, {
    all: (...params: unknown[]) => (all(...params) as unknown[][]).map(toRow),
    get: (...params: unknown[]) => {
      const values = get(...params) as unknown[] | undefined;
      return values === undefined ? undefined : toRow(values);
    },
    iterate: function* (...params: unknown[]) {
      for (const values of iterate(...params) as IterableIterator<unknown[]>) yield toRow(values);
    },
  });
}
