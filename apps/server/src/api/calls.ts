import { Router } from 'express';
import { principalOf, resolveExtension, type ServerContext } from './context.js';
import { HttpError, notFound } from './errors.js';
import { operation } from './typed.js';

export function callRoutes(ctx: ServerContext): Router {
  const r = Router();
  r.post(
    `${ctx.basePath}/extension/:extension_id/callback/`,
    operation('/extension/{extension_id}/callback/', 'post', async ({ path, body, req }) => {
      const ext = await resolveExtension(ctx, req, path.extension_id);
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
    }),
  );
  r.post(
    `${ctx.basePath}/pbx/simulate/`,
    operation('/pbx/simulate/', 'post', async ({ body, req }) => {
      if (!ctx.pbx)
        throw notFound('The simulator is off: start the server in demo mode or with CALLHOOK_SIMULATOR=true');
      principalOf(req);
      await resolveExtension(ctx, req, String(body.extension_id));
      await ctx.pbx.refresh();
      return { status: 202, body: ctx.pbx.simulate(body) };
    }),
  );
  return r;
}
