import { Router } from 'express';
import type { ServerContext } from './context.js';
import { operation } from './typed.js';

export function tokenRoutes(ctx: ServerContext): Router {
  const r = Router();
  r.post(
    '/oauth/token',
    operation('/oauth/token', 'post', async ({ body, req }) => {
      const token = await ctx.tokens.issue(body, req.socket.remoteAddress ?? 'unknown');
      return { status: 200, body: token, headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache' } };
    }),
  );
  return r;
}
