import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { moveSecretsToEndpoints } from './endpoints.js';
import type { Dialect } from './schema.js';

/** Schema migrations, in order. Each works on SQLite and PostgreSQL. */
function migrations(dialect: Dialect): Record<string, Migration> {
  // An auto-incrementing integer key, and a 64-bit integer (ids and millisecond times).
  const serial = dialect === 'postgres' ? 'bigserial' : 'integer';
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  const autoPk = (col: import('kysely').ColumnDefinitionBuilder) =>
    dialect === 'postgres' ? col.primaryKey() : col.primaryKey().autoIncrement();
  return {
    '0001_tenants': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('clients')
          .addColumn('id', serial, autoPk)
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('subscription_limit', 'integer')
          .addColumn('created_at', big, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('applications')
          .addColumn('id', serial, autoPk)
          .addColumn('client_id', big, (c) => c.notNull().references('clients.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('public_id', 'text', (c) => c.notNull().unique())
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('extension_id', big)
          .addColumn('created_at', big, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('extensions')
          .addColumn('id', big, (c) => c.primaryKey())
          .addColumn('client_id', big, (c) => c.notNull().references('clients.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('domain', 'text', (c) => c.notNull())
          .addColumn('caller_id_name', 'text')
          .addColumn('recording', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('kind', 'text', (c) => c.notNull().defaultTo('phone'))
          .addColumn('agents', 'text')
          .addColumn('forward_to', 'text')
          .addColumn('created_at', big, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('extensions_client').on('extensions').column('client_id').execute();
        await db.schema
          .createTable('tokens')
          .addColumn('hash', 'text', (c) => c.primaryKey())
          .addColumn('application_id', big, (c) =>
            c.notNull().references('applications.id').onDelete('cascade'),
          )
          .addColumn('client_id', big, (c) => c.notNull())
          .addColumn('extension_id', big)
          .addColumn('expires_at', big, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('tokens_expiry').on('tokens').column('expires_at').execute();
      },
    },
    '0002_subscriptions': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('subscriptions')
          .addColumn('id', serial, autoPk)
          .addColumn('client_id', big, (c) => c.notNull())
          .addColumn('extension_id', big, (c) => c.notNull().references('extensions.id').onDelete('cascade'))
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('method', 'text', (c) => c.notNull())
          .addColumn('event_type', 'text', (c) => c.notNull())
          .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('disabled_reason', 'text')
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('previous_secret', 'text')
          .addColumn('previous_secret_expires_at', big)
          .addColumn('failing_since', big)
          .addColumn('created_at', big, (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('subscriptions_match')
          .on('subscriptions')
          .columns(['extension_id', 'event_type'])
          .execute();
        await db.schema.createIndex('subscriptions_client').on('subscriptions').column('client_id').execute();
      },
    },
    '0003_outbox': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('events')
          .addColumn('id', serial, autoPk)
          .addColumn('extension_id', big, (c) => c.notNull())
          .addColumn('event_type', 'text', (c) => c.notNull())
          .addColumn('call_id', 'text')
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('received_at', big, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('deliveries')
          .addColumn('seq', serial, autoPk)
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('subscription_id', big, (c) => c.notNull())
          .addColumn('event_id', big, (c) => c.notNull())
          .addColumn('client_id', big, (c) => c.notNull())
          .addColumn('extension_id', big, (c) => c.notNull())
          .addColumn('event_type', 'text', (c) => c.notNull())
          .addColumn('call_id', 'text')
          .addColumn('order_key', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('next_attempt_at', big, (c) => c.notNull())
          .addColumn('lease_until', big)
          .addColumn('lease_owner', 'text')
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('last_attempt_at', big)
          .addColumn('last_status_code', 'integer')
          .addColumn('last_outcome', 'text')
          .addColumn('payload', 'text')
          .execute();
        // The dispatcher's scan: only open deliveries, by due time.
        await sql`create index deliveries_due on deliveries (next_attempt_at, seq) where status in ('pending', 'retrying')`.execute(
          db,
        );
        // Per-call order: is there an earlier open delivery with the same key?
        await sql`create index deliveries_order on deliveries (order_key, seq) where status in ('pending', 'retrying')`.execute(
          db,
        );
        await db.schema
          .createIndex('deliveries_log')
          .on('deliveries')
          .columns(['subscription_id', 'created_at'])
          .execute();
        await db.schema
          .createTable('attempts')
          .addColumn('id', serial, autoPk)
          .addColumn('delivery_seq', big, (c) => c.notNull())
          .addColumn('attempted_at', big, (c) => c.notNull())
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('status_code', 'integer')
          .addColumn('latency_ms', 'real', (c) => c.notNull())
          .addColumn('error', 'text')
          .addColumn('response_body', 'text')
          .execute();
        await db.schema.createIndex('attempts_delivery').on('attempts').column('delivery_seq').execute();
      },
    },
    '0004_subscriptions_by_extension': {
      async up(db: Kysely<unknown>) {
        // An extension's subscriptions in id order (the listing), without a sort per request.
        await db.schema
          .createIndex('subscriptions_extension')
          .on('subscriptions')
          .columns(['extension_id', 'id'])
          .execute();
      },
    },
    '0005_delivery_ids_by_code_unit': {
      async up(db: Kysely<unknown>) {
        // Delivery ids sort by time as text compared by code unit (SQLite's BINARY). A
        // PostgreSQL database with a linguistic default collation would order them otherwise and
        // scatter the unique index's writes again; "C" also compares faster.
        if (dialect === 'postgres')
          await sql`alter table deliveries alter column id type text collate "C"`.execute(db);
      },
    },
    '0006_event_keys': {
      async up(db: Kysely<unknown>) {
        // A source's own id for an event (a switch's event, redelivered by its broker): the
        // intake stores an event with a key once. Events without a key (null) never collide.
        await db.schema.alterTable('events').addColumn('key', 'text').execute();
        await db.schema.createIndex('events_key').on('events').column('key').unique().execute();
      },
    },
    '0007_console': {
      async up(db: Kysely<unknown>) {
        // An attempt's request as sent (method, URL, redacted headers: JSON) and the response's
        // headers and whether its body was cut (JSON), for the delivery log.
        await db.schema.alterTable('attempts').addColumn('request', 'text').execute();
        await db.schema.alterTable('attempts').addColumn('response', 'text').execute();
        // An extension's deliveries newest first, paged by position (keyset on seq), and a call's.
        await db.schema
          .createIndex('deliveries_extension')
          .on('deliveries')
          .columns(['extension_id', 'seq'])
          .execute();
        await db.schema
          .createIndex('deliveries_call')
          .on('deliveries')
          .columns(['extension_id', 'call_id', 'seq'])
          .execute();
        // An extension's events after a position (the live stream).
        await db.schema
          .createIndex('events_extension')
          .on('events')
          .columns(['extension_id', 'id'])
          .execute();
      },
    },
    '0008_endpoint_secrets': {
      async up(db: Kysely<unknown>) {
        // One signing secret per client and endpoint (the URL without its query), shared by the
        // subscriptions to it; see endpoints.ts for how existing subscriptions move over.
        await db.schema
          .createTable('endpoints')
          .addColumn('id', serial, autoPk)
          .addColumn('client_id', big, (c) => c.notNull())
          .addColumn('endpoint', 'text', (c) => c.notNull())
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('previous_secret', 'text')
          .addColumn('previous_secret_expires_at', big)
          .addColumn('created_at', big, (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('endpoints_client_endpoint')
          .on('endpoints')
          .columns(['client_id', 'endpoint'])
          .unique()
          .execute();
        await db.schema.alterTable('subscriptions').addColumn('endpoint_id', big).execute();
        await db.schema.alterTable('subscriptions').addColumn('migrated_secret', 'text').execute();
        await db.schema.alterTable('subscriptions').addColumn('migrated_secret_expires_at', big).execute();
        await moveSecretsToEndpoints(db, Date.now());
        await db.schema
          .createIndex('subscriptions_endpoint')
          .on('subscriptions')
          .column('endpoint_id')
          .execute();
        for (const column of ['secret', 'previous_secret', 'previous_secret_expires_at'])
          await db.schema.alterTable('subscriptions').dropColumn(column).execute();
      },
    },
    '0009_delivery_queues': {
      async up(db: Kysely<unknown>) {
        // Each subscription's open deliveries by due time: its queue. A claim that must leave out
        // a full or held receiver reads the other subscriptions' queues instead of stepping over
        // every due delivery of the one left out (a million, after an outage), and the queues'
        // heads are found by skipping from one subscription to the next (OutboxSql.queues).
        await sql`create index deliveries_queue on deliveries (subscription_id, next_attempt_at, seq) where status in ('pending', 'retrying')`.execute(
          db,
        );
      },
    },
    '0010_delivery_log_order': {
      async up(db: Kysely<unknown>) {
        // A subscription's delivery log is read newest first by (created_at, seq). SQLite's
        // deliveries_log ends with the rowid, which is seq, so it gives that order as it stands;
        // PostgreSQL's ends with a heap position, so it sorted each page's rows by seq again (an
        // incremental sort) and read deep pages slower than by the primary key. On PostgreSQL the
        // index gets seq as its last column, built in this migration's transaction (0.7 s for a
        // million deliveries on a small machine), with the table locked for it from the start: an
        // older instance still running in a rolling deploy waits for it, where a transaction of
        // its that read deliveries before the build and wrote after could deadlock with the drop.
        if (dialect !== 'postgres') return;
        await sql`lock table deliveries in access exclusive mode`.execute(db);
        await sql`create index deliveries_log_seq on deliveries (subscription_id, created_at, seq)`.execute(
          db,
        );
        await sql`drop index deliveries_log`.execute(db);
        await sql`alter index deliveries_log_seq rename to deliveries_log`.execute(db);
      },
    },
  };
}

/** Migrates to the latest schema, or only up to the migration named `upTo` (tests of a migration). */
export async function migrate(db: Kysely<unknown>, dialect: Dialect, upTo?: string): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({ db, provider });
  const { error, results } = await (upTo ? migrator.migrateTo(upTo) : migrator.migrateToLatest());
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(
      `Migration ${failed?.migrationName ?? ''} failed: ${(error as Error)?.message ?? 'unknown error'}`,
    );
  }
}
