import { type Kysely, type Selectable, sql, type Transaction, type Updateable } from 'kysely';
import { newSigningSecret } from '../auth/secrets.js';
import type { Dialect } from './db.js';
import { refuseNul } from './input.js';
import { failOpen } from './outbox.js';
import type { Database, SubscriptionsTable } from './schema.js';

export interface SubscriptionRecord {
  id: number;
  clientId: number;
  extensionId: number;
  url: string;
  method: string;
  eventType: string;
  enabled: boolean;
  disabledReason: string | null;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: number | null;
  failingSince: number | null;
  createdAt: number;
}

/** What a listing shows of a subscription: no secrets, nothing only the dispatcher needs. */
export type SubscriptionSummary = Pick<
  SubscriptionRecord,
  'id' | 'extensionId' | 'url' | 'method' | 'eventType' | 'enabled' | 'disabledReason' | 'createdAt'
>;

export interface SubscriptionFields {
  url: string;
  method: string;
  eventType: string;
}

export interface Limits {
  perExtension: number;
  perClient: number;
}

export class LimitReachedError extends Error {
  constructor(
    message: string,
    readonly scope: 'extension' | 'client',
    readonly limit: number,
  ) {
    super(message);
  }
}

/** The columns a listing reads (see `SubscriptionSummary`). */
const SUMMARY_COLUMNS = [
  'id',
  'extension_id',
  'url',
  'method',
  'event_type',
  'enabled',
  'disabled_reason',
  'created_at',
] as const;

function toSummary(
  row: Pick<Selectable<SubscriptionsTable>, (typeof SUMMARY_COLUMNS)[number]>,
): SubscriptionSummary {
  return {
    id: row.id,
    extensionId: row.extension_id,
    url: row.url,
    method: row.method,
    eventType: row.event_type,
    enabled: row.enabled === 1,
    disabledReason: row.disabled_reason,
    createdAt: row.created_at,
  };
}

export function toSubscription(row: Selectable<SubscriptionsTable>): SubscriptionRecord {
  return {
    ...toSummary(row),
    clientId: row.client_id,
    secret: row.secret,
    previousSecret: row.previous_secret,
    previousSecretExpiresAt: row.previous_secret_expires_at,
    failingSince: row.failing_since,
  };
}

/**
 * Ids come from URLs as numbers; one that is not a safe integer (1e400, 2^70) names nothing, and
 * PostgreSQL would refuse it as a bigint parameter rather than find no row.
 */
export function isStorableId(id: number): boolean {
  return Number.isSafeInteger(id);
}

function refuseNulIn(fields: Partial<SubscriptionFields>): void {
  refuseNul('url', fields.url);
  refuseNul('method', fields.method);
  refuseNul('event_type', fields.eventType);
}

export class SubscriptionStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /**
   * Creates a subscription unless a limit is reached. The count and the insert happen in one
   * transaction that holds the client's row lock (PostgreSQL) or the single writer (SQLite), so
   * concurrent creates — on one instance or several — can never pass the limit together.
   */
  async create(
    clientId: number,
    extensionId: number,
    fields: SubscriptionFields,
    limits: Limits,
  ): Promise<SubscriptionRecord> {
    refuseNulIn(fields);
    return this.db.transaction().execute(async (trx) => {
      const client = await this.lockClient(trx, clientId);
      const perClient = client?.subscription_limit ?? limits.perClient;
      const used = await trx
        .selectFrom('subscriptions')
        .select([
          sql<number>`count(*)`.as('client_used'),
          sql<number>`coalesce(sum(case when extension_id = ${extensionId} then 1 else 0 end), 0)`.as(
            'ext_used',
          ),
        ])
        .where('client_id', '=', clientId)
        .executeTakeFirstOrThrow();
      if (Number(used.ext_used) >= limits.perExtension) {
        throw new LimitReachedError(
          `Subscription limit reached for extension ${extensionId} (${used.ext_used} of ${limits.perExtension})`,
          'extension',
          limits.perExtension,
        );
      }
      if (Number(used.client_used) >= perClient) {
        throw new LimitReachedError(
          `Subscription limit reached for the client (${used.client_used} of ${perClient})`,
          'client',
          perClient,
        );
      }
      const row = await trx
        .insertInto('subscriptions')
        .values({
          client_id: clientId,
          extension_id: extensionId,
          url: fields.url,
          method: fields.method,
          event_type: fields.eventType,
          enabled: 1,
          disabled_reason: null,
          secret: newSigningSecret(),
          previous_secret: null,
          previous_secret_expires_at: null,
          failing_since: null,
          created_at: Date.now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toSubscription(row);
    });
  }

  private async lockClient(trx: Transaction<Database>, clientId: number) {
    let q = trx.selectFrom('clients').select(['id', 'subscription_limit']).where('id', '=', clientId);
    if (this.dialect === 'postgres') q = q.forUpdate();
    return q.executeTakeFirst();
  }

  /**
   * An extension's subscriptions in id order. Only the columns a listing shows are read, in the
   * order of the `subscriptions_extension` index: reading and converting the secrets of every row
   * and sorting them was most of the cost of the API's most frequent request.
   */
  async list(extensionId: number): Promise<SubscriptionSummary[]> {
    if (!isStorableId(extensionId)) return [];
    const rows = await this.db
      .selectFrom('subscriptions')
      .select(SUMMARY_COLUMNS)
      .where('extension_id', '=', extensionId)
      .orderBy('id')
      .execute();
    return rows.map(toSummary);
  }

  async get(extensionId: number, id: number): Promise<SubscriptionRecord | undefined> {
    if (!isStorableId(extensionId) || !isStorableId(id)) return undefined;
    const row = await this.db
      .selectFrom('subscriptions')
      .selectAll()
      .where('extension_id', '=', extensionId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toSubscription(row);
  }

  async byId(id: number): Promise<SubscriptionRecord | undefined> {
    if (!isStorableId(id)) return undefined;
    const row = await this.db.selectFrom('subscriptions').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toSubscription(row);
  }

  /** Changes only the fields given; `enabled: true` also clears the failure streak. */
  async update(
    extensionId: number,
    id: number,
    patch: Partial<SubscriptionFields> & { enabled?: boolean },
  ): Promise<SubscriptionRecord | undefined> {
    if (!isStorableId(extensionId) || !isStorableId(id)) return undefined;
    refuseNulIn(patch);
    const set: Updateable<SubscriptionsTable> = {};
    if (patch.url !== undefined) set.url = patch.url;
    if (patch.method !== undefined) set.method = patch.method;
    if (patch.eventType !== undefined) set.event_type = patch.eventType;
    if (patch.enabled === true)
      Object.assign(set, { enabled: 1, disabled_reason: null, failing_since: null });
    if (patch.enabled === false)
      Object.assign(set, { enabled: 0, disabled_reason: 'disabled by the client' });
    if (Object.keys(set).length > 0) {
      await this.db.transaction().execute(async (trx) => {
        await trx
          .updateTable('subscriptions')
          .set(set)
          .where('extension_id', '=', extensionId)
          .where('id', '=', id)
          .execute();
        if (patch.enabled === false) await failOpen(trx, id);
      });
    }
    return this.get(extensionId, id);
  }

  async delete(extensionId: number, id: number): Promise<boolean> {
    return (await this.remove(extensionId, id)) > 0;
  }

  async deleteAll(extensionId: number): Promise<number> {
    return this.remove(extensionId);
  }

  /** Deletes subscriptions and closes what they still had queued (their log stays readable). */
  private async remove(extensionId: number, id?: number): Promise<number> {
    if (!isStorableId(extensionId) || (id !== undefined && !isStorableId(id))) return 0;
    return this.db.transaction().execute(async (trx) => {
      let q = trx.deleteFrom('subscriptions').where('extension_id', '=', extensionId);
      if (id !== undefined) q = q.where('id', '=', id);
      const removed = await q.returning('id').execute();
      await failOpen(
        trx,
        removed.map((r) => r.id),
      );
      return removed.length;
    });
  }

  async rotateSecret(
    extensionId: number,
    id: number,
    graceSeconds: number,
    now = Date.now(),
  ): Promise<{ secret: string; previousExpiresAt: number } | undefined> {
    const current = await this.get(extensionId, id);
    if (!current) return undefined;
    const secret = newSigningSecret();
    const previousExpiresAt = now + graceSeconds * 1000;
    await this.db
      .updateTable('subscriptions')
      .set({ secret, previous_secret: current.secret, previous_secret_expires_at: previousExpiresAt })
      .where('id', '=', id)
      .execute();
    return { secret, previousExpiresAt };
  }

  async usage(clientId: number): Promise<Array<{ extensionId: number; used: number }>> {
    const rows = await this.db
      .selectFrom('extensions')
      .leftJoin('subscriptions', 'subscriptions.extension_id', 'extensions.id')
      .select(['extensions.id as extensionId', sql<number>`count(subscriptions.id)`.as('used')])
      .where('extensions.client_id', '=', clientId)
      .groupBy('extensions.id')
      .orderBy('extensions.id')
      .execute();
    return rows.map((r) => ({ extensionId: r.extensionId, used: Number(r.used) }));
  }

  /** Demo mode numbers subscriptions from 72, as the provider's page does. */
  async startIdsAt(first: number): Promise<void> {
    if (this.dialect === 'postgres') {
      await sql`select setval(pg_get_serial_sequence('subscriptions', 'id'), ${first - 1}, true)
                where (select count(*) from subscriptions) = 0`.execute(this.db);
    } else {
      await sql`insert into sqlite_sequence (name, seq) select 'subscriptions', ${first - 1}
                where not exists (select 1 from sqlite_sequence where name = 'subscriptions')`.execute(
        this.db,
      );
    }
  }
}
