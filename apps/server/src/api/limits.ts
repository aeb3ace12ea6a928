import { resolveClientId, type ServerContext } from './context.js';
import type { Handlers } from './typed.js';

export function limitHandlers(ctx: ServerContext) {
  return {
    async getLimits({ path, principal }) {
      const clientId = resolveClientId(principal, path.client_id);
      const client = await ctx.store.tenants.getClient(clientId);
      const clientLimit = client?.subscriptionLimit ?? ctx.config.clientSubscriptionLimit;
      const perExtension = ctx.config.extensionSubscriptionLimit;
      const usage = await ctx.store.subscriptions.usage(clientId);
      const clientUsed = usage.reduce((n, u) => n + u.used, 0);
      return {
        status: 200,
        body: {
          client_id: clientId,
          subscriptions: {
            client_limit: clientLimit,
            client_used: clientUsed,
            extension_limit: perExtension,
            extensions: usage.map((u) => ({
              extension_id: u.extensionId,
              used: u.used,
              available: Math.max(0, Math.min(perExtension - u.used, clientLimit - clientUsed)),
            })),
          },
        },
      };
    },

    async listExtensions({ path, principal }) {
      const clientId = resolveClientId(principal, path.client_id);
      const extensions = await ctx.store.tenants.listExtensions(clientId);
      return {
        status: 200,
        body: extensions.map((e) => ({
          id: e.id,
          name: e.name,
          kind: e.kind,
          caller_id_name: e.callerIdName ?? null,
          ...(e.kind === 'queue' ? { agents: e.agents ?? [] } : {}),
        })),
      };
    },
  } satisfies Partial<Handlers>;
}
