import type { Kysely } from 'kysely';
import type { Database, ExtensionsTable } from './schema.js';
import { hashSecret, randomAlphanumeric } from './secrets.js';

export type ExtensionKind = 'phone' | 'ivr' | 'queue';

export interface Extension {
  id: number;
  clientId: number;
  name: string;
  domain: string;
  callerIdName?: string;
  recording: boolean;
  kind: ExtensionKind;
  agents?: number[];
  forwardTo?: string;
}

export interface Application {
  id: number;
  clientId: number;
  name: string;
  publicId: string;
  secretHash: string;
  extensionId: number | null;
}

export interface TokenGrant {
  applicationId: number;
  clientId: number;
  extensionId: number | null;
  expiresAt: number;
}

export interface NewApplication {
  clientId: number;
  name: string;
  extensionId?: number | null;
  /** Fixed credentials (demo, scripts); random when absent. */
  publicId?: string;
  secret?: string;
}

export function toExtension(row: ExtensionsTable): Extension {
  return {
    id: row.id,
    clientId: row.client_id,
    name: row.name,
    domain: row.domain,
    ...(row.caller_id_name ? { callerIdName: row.caller_id_name } : {}),
    recording: row.recording === 1,
    kind: row.kind as ExtensionKind,
    ...(row.agents ? { agents: JSON.parse(row.agents) as number[] } : {}),
    ...(row.forward_to ? { forwardTo: row.forward_to } : {}),
  };
}

/** Clients (accounts), their applications (OAuth2 credentials) and extensions, and tokens. */
export class TenantStore {
  constructor(private readonly db: Kysely<Database>) {}

  async createClient(name: string, subscriptionLimit: number | null = null): Promise<number> {
    const row = await this.db
      .insertInto('clients')
      .values({ name, subscription_limit: subscriptionLimit, created_at: Date.now() })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async findClientByName(name: string): Promise<{ id: number } | undefined> {
    return this.db.selectFrom('clients').select('id').where('name', '=', name).executeTakeFirst();
  }

  async getClient(
    id: number,
  ): Promise<{ id: number; name: string; subscriptionLimit: number | null } | undefined> {
    const row = await this.db.selectFrom('clients').selectAll().where('id', '=', id).executeTakeFirst();
    return row && { id: row.id, name: row.name, subscriptionLimit: row.subscription_limit };
  }

  async listClients(): Promise<Array<{ id: number; name: string; subscriptionLimit: number | null }>> {
    const rows = await this.db.selectFrom('clients').selectAll().orderBy('id').execute();
    return rows.map((r) => ({ id: r.id, name: r.name, subscriptionLimit: r.subscription_limit }));
  }

  /** Returns the secret in the clear: the only time it exists outside its owner's hands. */
  async createApplication(app: NewApplication): Promise<{ id: number; publicId: string; secret: string }> {
    const publicId = app.publicId ?? `app_${randomAlphanumeric(20)}`;
    const secret = app.secret ?? randomAlphanumeric(40);
    const row = await this.db
      .insertInto('applications')
      .values({
        client_id: app.clientId,
        name: app.name,
        public_id: publicId,
        secret_hash: hashSecret(secret),
        extension_id: app.extensionId ?? null,
        created_at: Date.now(),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { id: row.id, publicId, secret };
  }

  /** Sets an application's secret (demo credentials fixed by the environment). */
  async setApplicationSecret(publicId: string, secret: string): Promise<void> {
    await this.db
      .updateTable('applications')
      .set({ secret_hash: hashSecret(secret) })
      .where('public_id', '=', publicId)
      .execute();
  }

  async findApplication(publicId: string): Promise<Application | undefined> {
    // No id holds NUL, and PostgreSQL would refuse it in a text parameter rather than find nothing.
    if (publicId.includes('\u0000')) return undefined;
    const row = await this.db
      .selectFrom('applications')
      .selectAll()
      .where('public_id', '=', publicId)
      .executeTakeFirst();
    return (
      row && {
        id: row.id,
        clientId: row.client_id,
        name: row.name,
        publicId: row.public_id,
        secretHash: row.secret_hash,
        extensionId: row.extension_id,
      }
    );
  }

  async listApplications(clientId?: number): Promise<Array<Omit<Application, 'secretHash'>>> {
    let q = this.db.selectFrom('applications').selectAll().orderBy('id');
    if (clientId !== undefined) q = q.where('client_id', '=', clientId);
    const rows = await q.execute();
    return rows.map((r) => ({
      id: r.id,
      clientId: r.client_id,
      name: r.name,
      publicId: r.public_id,
      extensionId: r.extension_id,
    }));
  }

  async createExtension(ext: Extension): Promise<void> {
    await this.db
      .insertInto('extensions')
      .values({
        id: ext.id,
        client_id: ext.clientId,
        name: ext.name,
        domain: ext.domain,
        caller_id_name: ext.callerIdName ?? null,
        recording: ext.recording ? 1 : 0,
        kind: ext.kind,
        agents: ext.agents ? JSON.stringify(ext.agents) : null,
        forward_to: ext.forwardTo ?? null,
        created_at: Date.now(),
      })
      .execute();
  }

  /**
   * Extensions are created and never changed or deleted (this store has no way to), so one found
   * is remembered: the intake asks for its batch's extensions and the API for the path's on every
   * request, each a query Kysely builds afresh. One not found is asked for again (another instance
   * on the same database may create it).
   */
  private readonly extensions = new Map<number, Extension>();

  async getExtension(id: number): Promise<Extension | undefined> {
    // An id from a URL that is no safe integer names nothing (PostgreSQL would refuse it as bigint).
    if (!Number.isSafeInteger(id)) return undefined;
    const known = this.extensions.get(id);
    if (known) return known;
    const row = await this.db.selectFrom('extensions').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const ext = toExtension(row);
    if (this.extensions.size >= 100_000) this.extensions.clear();
    this.extensions.set(id, ext);
    return ext;
  }

  async listExtensions(clientId?: number): Promise<Extension[]> {
    let q = this.db.selectFrom('extensions').selectAll().orderBy('id');
    if (clientId !== undefined) q = q.where('client_id', '=', clientId);
    return (await q.execute()).map(toExtension);
  }

  async saveToken(hash: string, grant: TokenGrant): Promise<void> {
    await this.db
      .insertInto('tokens')
      .values({
        hash,
        application_id: grant.applicationId,
        client_id: grant.clientId,
        extension_id: grant.extensionId,
        expires_at: grant.expiresAt,
      })
      .execute();
  }

  async findToken(hash: string): Promise<TokenGrant | undefined> {
    const row = await this.db.selectFrom('tokens').selectAll().where('hash', '=', hash).executeTakeFirst();
    return (
      row && {
        applicationId: row.application_id,
        clientId: row.client_id,
        extensionId: row.extension_id,
        expiresAt: row.expires_at,
      }
    );
  }

  /** Removes tokens that expired more than a day ago (kept a while so 401s can say "expired"). */
  async sweepTokens(now: number): Promise<number> {
    const res = await this.db
      .deleteFrom('tokens')
      .where('expires_at', '<', now - 24 * 3600 * 1000)
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }
}
