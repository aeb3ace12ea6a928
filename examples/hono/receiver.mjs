// @ts-check
// A Fetch-API receiver: Hono hands `fetchHandler` the standard Request, and the same handler runs
// on Deno, Bun, Cloudflare Workers or any runtime with Request/Response. Node needs an adapter
// (@hono/node-server). Run: CALLHOOK_SECRET=whsec_... PORT=8080 node hono/receiver.mjs

import { fetchHandler } from '@callhook/receiver';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { pageReceiver } from '../shared.mjs';

const handle = fetchHandler(pageReceiver());
const app = new Hono();
app.on(['GET', 'POST'], '/hook', (c) => handle(c.req.raw));

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 8080), hostname: '127.0.0.1' }, (info) =>
  console.log(`listening on http://127.0.0.1:${info.port}/hook`),
);
