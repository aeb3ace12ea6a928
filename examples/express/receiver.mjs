// @ts-check
// An Express app that receives callhook's webhooks at /hook (GET or POST), verified with the
// endpoint's one secret. Run: CALLHOOK_SECRET=whsec_... PORT=8080 node express/receiver.mjs
import { expressMiddleware } from '@callhook/receiver';
import express from 'express';
import { pageReceiver } from '../shared.mjs';

const app = express();
// Before any body parser: the signature is over the raw bytes of the body.
app.all('/hook', expressMiddleware(pageReceiver()));
app.use(express.json()); // the rest of your app

const server = app.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  console.log(`listening on http://127.0.0.1:${port}/hook`);
});
