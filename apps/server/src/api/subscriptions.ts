import type { Subscription } from '@callhook/contract';
import { TargetRefusedError } from '../delivery/target.js';
import { LimitReachedError, type SubscriptionSummary } from '../store/index.js';
import { resolveExtension, type ServerContext } from './context.js';
import { badRequest, HttpError, notFound } from './errors.js';
import type { Handlers } from './typed.js';

/** The page's fields first, in the page's order, then ours. */
export function presentSubscription(s: SubscriptionSummary): Subscription {
  return {
    url: s.url,
    method: s.method,
    event_type: s.eventType,
    id: s.id,
    enabled: s.enabled,
    disabled_reason: s.disabledReason,
    extension_id: s.extensionId,
    created_at: new Date(s.createdAt).toISOString(),
  };
}

/** Checks a subscription URL's form and target; refusals name the field and the rule. */
async function checkUrl(ctx: ServerContext, url: string): Promise<void> {
  try {
    await ctx.targets.checkUrl(url);
  } catch (err) {
    if (!(err instanceof TargetRefusedError)) throw err;
    const isAddress = !['format', 'scheme', 'host'].includes(err.rule);
    const errors = [{ field: 'url', location: 'body' as const, rule: err.rule, message: err.message }];
    if (!isAddress) throw badRequest(`url: ${err.message}`, errors);
    throw new HttpError(422, `url: ${err.message}`, { code: 'target_refused', errors });
  }
}

function subscriptionId(raw: string): number {
  return Number(raw);
}

export function subscriptionHandlers(ctx: ServerContext) {
  return {
    async createSubscription({ path, body, principal }) {
      const ext = await resolveExtension(ctx, principal, path.extension_id);
      await checkUrl(ctx, body.url);
      try {
        const s = await ctx.store.subscriptions.create(
          ext.clientId,
          ext.id,
          { url: body.url, method: body.method, eventType: body.event_type },
          {
            perExtension: ctx.config.extensionSubscriptionLimit,
            perClient: ctx.config.clientSubscriptionLimit,
          },
        );
        // The endpoint's secret is shown once: with the subscription that made it. (Added onto
        // the fresh object, not spread: see toSubscription.)
        const created = s.secretShared
          ? Object.assign(presentSubscription(s), { secret_shared: true })
          : Object.assign(presentSubscription(s), { secret_shared: false, secret: s.secret });
        return { status: 200, body: created };
      } catch (err) {
        if (err instanceof LimitReachedError)
          throw new HttpError(409, err.message, { code: 'limit_reached' });
        throw err;
      }
    },

    async listSubscriptions({ path, principal }) {
      const ext = await resolveExtension(ctx, principal, path.extension_id);
      const list = await ctx.store.subscriptions.list(ext.id);
      return { status: 200, body: list.map(presentSubscription) };
    },

    async deleteAllSubscriptions({ path, principal }) {
      const ext = await resolveExtension(ctx, principal, path.extension_id);
      await ctx.store.subscriptions.deleteAll(ext.id);
      return { status: 204, body: undefined };
    },

    async getSubscription({ path, principal }) {
      const ext = await resolveExtension(ctx, principal, path.extension_id);
      const s = await ctx.store.subscriptions.get(ext.id, subscriptionId(path.id));
      if (!s) throw notFound();
      return { status: 200, body: presentSubscription(s) };
    },

    async updateSubscription({ path, body, principal }) {
      const ext = await resolveExtension(ctx, principal, path.extension_id);
      const id = subscriptionId(path.id);
      if (!(await ctx.store.subscriptions.get(ext.id, id))) throw notFound();
      if (body.url !== undefined) await checkUrl(ctx, body.url);
      const s = await ctx.store.subscriptions.update(ext.id, id, {
        ...(body.url !== undefined ? { url: body.url } : {}),
        ...(body.method !== undefined ? { method: body.method } : {}),
        ...(body.event_type !== undefined ? { eventType: body.event_type } : {}),
        ...(body.enabled !== undefined ? { enabled: body.enabled } : {}),
      });
      if (!s) throw notFound();
      return { status: 200, body: presentSubscription(s) };
    },

    async deleteSubscription({ path, principal }) {
      const ext = await resolveExtension(ctx, principal, path.extension_id);
      if (!(await ctx.store.subscriptions.delete(ext.id, subscriptionId(path.id)))) throw notFound();
      return { status: 204, body: undefined };
    },

    async rotateSubscriptionSecret({ path, body, principal }) {
      const ext = await resolveExtension(ctx, principal, path.extension_id);
      const grace = body?.grace_seconds ?? 86400;
      const rotated = await ctx.store.subscriptions.rotateSecret(ext.id, subscriptionId(path.id), grace);
      if (!rotated) throw notFound();
      return {
        status: 200,
        body: {
          secret: rotated.secret,
          previous_expires_at: new Date(rotated.previousExpiresAt).toISOString(),
          subscription_ids: rotated.subscriptionIds,
        },
      };
    },
  } satisfies Partial<Handlers>;
}
