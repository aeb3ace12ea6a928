import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Database, EndpointsTable, SubscriptionsTable } from './schema.js';
import { newSigningSecret } from './secrets.js';

/**
 * The endpoint a subscription URL delivers to: the URL without its query (and fragment), as
 * written. The provider's page subscribes one receiver once per event type, often with its own
 * query (`show.php?myid=175`); those subscriptions are one receiver, which keeps per-call order
 * (see `orderKey`) and one signing secret.
 */
export function endpointOf(url: string): string {
  const cut = url.search(/[?#]/);
  return cut === -1 ? url : url.slice(0, cut);
}

/** Where a subscription's signing secret now comes from. */
export interface JoinedEndpoint {
  id: number;
  secret: string;
  /** True when the endpoint already had subscriptions: its secret was shown before, not now. */
  shared: boolean;
}

type Db = Kysely<Database> | Transaction<Database>;

/** A subscription row with its endpoint's secrets. */
export type SubscriptionRow = Selectable<SubscriptionsTable> &
  Pick<Selectable<EndpointsTable>, 'secret' | 'previous_secret' | 'previous_secret_expires_at'>;

/** Subscriptions joined to their endpoint's secrets (`s` and `e`). */
export function withSecrets(db: Db) {
  return db
    .selectFrom('subscriptions as s')
    .innerJoin('endpoints as e', 'e.id', 's.endpoint_id')
    .selectAll('s')
    .select(['e.secret', 'e.previous_secret', 'e.previous_secret_expires_at']);
}

/**
 * The endpoint of `clientId` at `url` for a subscription that joins it: an endpoint that has
 * subscriptions is shared as it is; otherwise it gets a secret (`carry`, else a new one) and
 * becomes the subscription's own. An endpoint whose subscriptions are all gone (an extension
 * deleted with them) is never shared: its secret may be lost, and nobody is signing with it.
 *
 * Callers hold the client's lock (PostgreSQL) or the single writer (SQLite), so two creates for
 * one new endpoint cannot both make it; the unique index stops them if they ever did.
 */
export async function joinEndpoint(
  trx: Db,
  clientId: number,
  url: string,
  now: number,
  carry?: string,
): Promise<JoinedEndpoint> {
  const endpoint = endpointOf(url);
  const found = await trx
    .selectFrom('endpoints')
    .select(['id', 'secret'])
    .where('client_id', '=', clientId)
    .where('endpoint', '=', endpoint)
    .executeTakeFirst();
  if (found) {
    const used = await trx
      .selectFrom('subscriptions')
      .select('id')
      .where('endpoint_id', '=', found.id)
      .limit(1)
      .executeTakeFirst();
    if (used) return { id: found.id, secret: found.secret, shared: true };
    const secret = carry ?? newSigningSecret();
    await trx
      .updateTable('endpoints')
      .set({ secret, previous_secret: null, previous_secret_expires_at: null, created_at: now })
      .where('id', '=', found.id)
      .execute();
    return { id: found.id, secret, shared: false };
  }
  const secret = carry ?? newSigningSecret();
  const row = await trx
    .insertInto('endpoints')
    .values({
      client_id: clientId,
      endpoint,
      secret,
      previous_secret: null,
      previous_secret_expires_at: null,
      created_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, secret, shared: false };
}

/** Removes those of `ids` that no subscription uses any more. */
export async function pruneEndpoints(trx: Db, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await trx
    .deleteFrom('endpoints')
    .where('id', 'in', [...new Set(ids)])
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('subscriptions').select('id').whereRef('endpoint_id', '=', 'endpoints.id'))),
    )
    .execute();
}

/**
 * A new secret for the endpoint, for all its subscriptions at once. The one it replaces keeps
 * signing beside it until `previousExpiresAt`; a subscription's secret from before 0008 stops no
 * later than that either (rotating is how a client says the old secrets are done).
 */
export async function rotateEndpoint(
  trx: Db,
  endpointId: number,
  graceSeconds: number,
  now: number,
): Promise<{ secret: string; previousExpiresAt: number; subscriptionIds: number[] }> {
  const current = await trx
    .selectFrom('endpoints')
    .select('secret')
    .where('id', '=', endpointId)
    .executeTakeFirstOrThrow();
  const secret = newSigningSecret();
  const previousExpiresAt = now + graceSeconds * 1000;
  await trx
    .updateTable('endpoints')
    .set({ secret, previous_secret: current.secret, previous_secret_expires_at: previousExpiresAt })
    .where('id', '=', endpointId)
    .execute();
  await trx
    .updateTable('subscriptions')
    .set({ migrated_secret_expires_at: previousExpiresAt })
    .where('endpoint_id', '=', endpointId)
    .where('migrated_secret_expires_at', '>', previousExpiresAt)
    .execute();
  const subs = await trx
    .selectFrom('subscriptions')
    .select('id')
    .where('endpoint_id', '=', endpointId)
    .orderBy('id')
    .execute();
  return { secret, previousExpiresAt, subscriptionIds: subs.map((s) => s.id) };
}

/** What signs a subscription's deliveries: its endpoint's secrets, and its own from before 0008. */
export interface SigningSecrets {
  /** The endpoint's secret, shared by its subscriptions. */
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: number | null;
  /** The subscription's own secret from before 0008, while it still signs beside the endpoint's. */
  migratedSecret: string | null;
  migratedSecretExpiresAt: number | null;
}

/** The secrets a delivery is signed with at `now`: the endpoint's, and those still in their grace. */
export function activeSecrets(s: SigningSecrets, now: number): string[] {
  const secrets = [s.secret];
  if (s.previousSecret && s.previousSecretExpiresAt !== null && s.previousSecretExpiresAt > now)
    secrets.push(s.previousSecret);
  if (
    s.migratedSecret &&
    s.migratedSecretExpiresAt !== null &&
    s.migratedSecretExpiresAt > now &&
    !secrets.includes(s.migratedSecret)
  )
    secrets.push(s.migratedSecret);
  return secrets;
}

/** How long a subscription's own secret from before 0008 keeps signing: the longest rotation grace. */
export const MIGRATED_SECRET_GRACE_MS = 7 * 24 * 3600 * 1000;

/** The rows 0008 reads and writes, as they are while it runs. */
interface Before0008 {
  subscriptions: {
    id: number;
    client_id: number;
    url: string;
    secret: string;
    previous_secret: string | null;
    previous_secret_expires_at: number | null;
    created_at: number;
    endpoint_id: number | null;
    migrated_secret: string | null;
    migrated_secret_expires_at: number | null;
  };
  endpoints: Omit<Database['endpoints'], 'id'> & { id: import('kysely').Generated<number> };
}

/**
 * Migration 0008: each client's subscriptions to one endpoint get one endpoint row. Its secret
 * (and a rotation's previous secret still in its grace) is that of the endpoint's oldest
 * subscription, the one its receiver has had longest. No receiver loses a request: a
 * subscription whose own secret was another keeps it as `migrated_secret`, signing beside the
 * endpoint's for `MIGRATED_SECRET_GRACE_MS` (so a receiver that holds only that subscription's
 * secret still verifies, and has a week to take the endpoint's), or until the endpoint rotates.
 */
export async function moveSecretsToEndpoints(raw: Kysely<unknown>, now: number): Promise<void> {
  const db = raw as Kysely<Before0008>;
  const subs = await db
    .selectFrom('subscriptions')
    .select([
      'id',
      'client_id',
      'url',
      'secret',
      'previous_secret',
      'previous_secret_expires_at',
      'created_at',
    ])
    .orderBy('id')
    .execute();
  const made = new Map<string, { id: number; secret: string }>();
  for (const sub of subs) {
    const key = `${sub.client_id}\n${endpointOf(sub.url)}`;
    let ep = made.get(key);
    if (!ep) {
      const inGrace = sub.previous_secret_expires_at !== null && sub.previous_secret_expires_at > now;
      const row = await db
        .insertInto('endpoints')
        .values({
          client_id: sub.client_id,
          endpoint: endpointOf(sub.url),
          secret: sub.secret,
          previous_secret: inGrace ? sub.previous_secret : null,
          previous_secret_expires_at: inGrace ? sub.previous_secret_expires_at : null,
          created_at: sub.created_at,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      ep = { id: row.id, secret: sub.secret };
      made.set(key, ep);
    }
    const own = sub.secret !== ep.secret;
    await db
      .updateTable('subscriptions')
      .set({
        endpoint_id: ep.id,
        migrated_secret: own ? sub.secret : null,
        migrated_secret_expires_at: own ? now + MIGRATED_SECRET_GRACE_MS : null,
      })
      .where('id', '=', sub.id)
      .execute();
  }
}
