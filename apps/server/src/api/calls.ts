import { resolveExtension, type ServerContext } from './context.js';
import { HttpError } from './errors.js';
import type { Handlers } from './typed.js';

export function callHandlers(ctx: ServerContext) {
  return {
    async createCallback({ path, body, principal }) {
      const ext = await resolveExtension(ctx, principal, path.extension_id);
      if (!ctx.pbx) {
        throw new HttpError(
          503,
          'No PBX is connected to place calls: start the server with the simulator (demo mode, or CALLHOOK_SIMULATOR=true)',
          { code: 'no_pbx' },
          { 'Retry-After': '60' },
        );
      }
      await ctx.pbx.refresh();
      return { status: 200, body: ctx.pbx.callback(ext.id, body) };
    },

    async simulateCall({ body, principal }) {
      if (!ctx.pbx) {
        throw new HttpError(
          404,
          'The simulator is off: start the server in demo mode or with CALLHOOK_SIMULATOR=true',
          { code: 'no_simulator' },
        );
      }
      await resolveExtension(ctx, principal, String(body.extension_id));
      await ctx.pbx.refresh();
      return { status: 202, body: ctx.pbx.simulate(body) };
    },
  } satisfies Partial<Handlers>;
}
