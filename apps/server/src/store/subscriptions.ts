import type { EventType, SubscriptionMethod } from '@callhook/contract';
import { type Kysely, type Selectable, sql, type Transaction, type Updateable } from 'kysely';
import {
  joinEndpoint,
  pruneEndpoints,
  rotateEndpoint,
  type SigningSecrets,
  type SubscriptionRow,
  withSecrets,
} from './endpoints.js';
import { refuseNul } from './input.js';
import { failOpen } from './outbox.js';
import type { Database, Dialect, SubscriptionsTable } from './schema.js';

export interface SubscriptionRecord extends SigningSecrets {
  id: number;
  clientId: number;
  extensionId: number;
  url: string;
  method: SubscriptionMethod;
  eventType: EventType;
  enabled: boolean;
  disabledReason: string | null;
  /** The endpoint whose secret signs this subscription's deliveries, shared with its other subscriptions. */
  endpointId: number;
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
  method: SubscriptionMethod;
  eventType: EventType;
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

export function toSubscription(row: SubscriptionRow): SubscriptionRecord {
  // Added onto the summary, not spread into a new object: in Node 20 each property added after a
  // spread costs about 1 µs (10 µs for this one); Object.assign onto a fresh object, 0.2 µs.
  return Object.assign(toSummary(row), {
    clientId: row.client_id,
    endpointId: row.endpoint_id,
    secret: row.secret,
    previousSecret: row.previous_secret,
    previousSecretExpiresAt: row.previous_secret_expires_at,
    migratedSecret: row.migrated_secret,
    migratedSecretExpiresAt: row.migrated_secret_expires_at,
    failingSince: row.failing_since,
  });
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
   * Creates a subscription unless a limit is reached. It signs with its endpoint's secret:
   * `secretShared` says whether that endpoint already had subscriptions (so its secret was shown
   * before) or the secret was made now, for this subscription's response to show once. The count and the insert happen in one
   * transaction that holds the client's row lock (PostgreSQL) or the single writer (SQLite), so
   * concurrent creates — on one instance or several — can never pass the limit together.
   */
  async create(
    clientId: number,
    extensionId: number,
    fields: SubscriptionFields,
    limits: Limits,
  ): Promise<SubscriptionRecord & { secretShared: boolean }> {
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
      const now = Date.now();
      const endpoint = await joinEndpoint(trx, clientId, fields.url, now);
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
          endpoint_id: endpoint.id,
          migrated_secret: null,
          migrated_secret_expires_at: null,
          failing_since: null,
          created_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const created = await withSecrets(trx).where('s.id', '=', row.id).executeTakeFirstOrThrow();
      return Object.assign(toSubscription(created), { secretShared: endpoint.shared });
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
    const row = await withSecrets(this.db)
      .where('s.extension_id', '=', extensionId)
      .where('s.id', '=', id)
      .executeTakeFirst();
    return row && toSubscription(row);
  }

  /**
   * Changes only the fields given; `enabled: true` also clears the failure streak. A new `url`
   * at another endpoint joins that endpoint's secret; at an endpoint without subscriptions the
   * subscription takes its current secret along, so no secret has to be shown here.
   */
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
        let left: number | undefined;
        if (patch.url !== undefined) {
          const before = await withSecrets(trx)
            .where('s.extension_id', '=', extensionId)
            .where('s.id', '=', id)
            .executeTakeFirst();
          if (before) {
            await this.lockClient(trx, before.client_id);
            const endpoint = await joinEndpoint(trx, before.client_id, patch.url, Date.now(), before.secret);
            if (endpoint.id !== before.endpoint_id) {
              left = before.endpoint_id;
              set.endpoint_id = endpoint.id;
              // A secret from before 0008 belonged to the old endpoint's receiver.
              Object.assign(set, { migrated_secret: null, migrated_secret_expires_at: null });
            }
          }
        }
        await trx
          .updateTable('subscriptions')
          .set(set)
          .where('extension_id', '=', extensionId)
          .where('id', '=', id)
          .execute();
        if (patch.enabled === false) await failOpen(trx, id);
        if (left !== undefined) await pruneEndpoints(trx, [left]);
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
      const removed = await q.returning(['id', 'endpoint_id']).execute();
      await failOpen(
        trx,
        removed.map((r) => r.id),
      );
      // An endpoint's secret goes with its last subscription: subscribing again makes a new one.
      await pruneEndpoints(
        trx,
        removed.map((r) => r.endpoint_id),
      );
      return removed.length;
    });
  }

  /**
   * Rotates the secret of the subscription's endpoint: every subscription to that endpoint signs
   * with the new secret from now on (`subscriptionIds`), the old one beside it for the grace.
   */
  async rotateSecret(
    extensionId: number,
    id: number,
    graceSeconds: number,
    now = Date.now(),
  ): Promise<{ secret: string; previousExpiresAt: number; subscriptionIds: number[] } | undefined> {
    if (!isStorableId(extensionId) || !isStorableId(id)) return undefined;
    return this.db.transaction().execute(async (trx) => {
      const sub = await trx
        .selectFrom('subscriptions')
        .select(['client_id', 'endpoint_id'])
        .where('extension_id', '=', extensionId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (!sub) return undefined;
      await this.lockClient(trx, sub.client_id);
      return rotateEndpoint(trx, sub.endpoint_id, graceSeconds, now);
    });
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
