import { sql } from 'kysely';
import { type Connection, type ConnectOptions, connect } from './db.js';
import { OutboxStore } from './outbox.js';
import { SubscriptionStore } from './subscriptions.js';
import { TenantStore } from './tenants.js';

export * from './endpoints.js';
export * from './input.js';
export * from './outbox.js';
export type { Dialect } from './schema.js';
export * from './subscriptions.js';
export * from './tenants.js';

/**
 * Everything the server keeps. Above this line nothing knows which database is underneath: the
 * same code runs on the embedded SQLite file and on PostgreSQL.
 */
export interface Store {
  readonly tenants: TenantStore;
  readonly subscriptions: SubscriptionStore;
  readonly outbox: OutboxStore;
  readonly dialect: Connection['dialect'];
  readonly location: string;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export async function openStore(opts: ConnectOptions): Promise<Store> {
  const conn = await connect(opts);
  return {
    tenants: new TenantStore(conn.db),
    subscriptions: new SubscriptionStore(conn.db, conn.dialect),
    outbox: new OutboxStore(
      conn.db,
      conn.dialect,
      conn.transact,
      conn.dialect === 'postgres' && opts.poolSize >= 2 ? 2 : 1,
    ),
    dialect: conn.dialect,
    location: conn.location,
    async ping() {
      try {
        await sql`select 1`.execute(conn.db);
        return true;
      } catch {
        return false;
      }
    },
    close: () => conn.close(),
  };
}
