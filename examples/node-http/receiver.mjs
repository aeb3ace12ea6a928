// @ts-check
// No framework: node:http and the receiver's own adapter.
// Run: CALLHOOK_SECRET=whsec_... PORT=8080 node node-http/receiver.mjs
import { createServer } from 'node:http';
import { nodeHandler } from '@callhook/receiver';
import { pageReceiver } from '../shared.mjs';

const handle = nodeHandler(pageReceiver());
const server = createServer((req, res) => {
  if (new URL(req.url ?? '/', 'http://x').pathname === '/hook') return handle(req, res);
  res.writeHead(404).end();
});
server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  console.log(`listening on http://127.0.0.1:${port}/hook`);
});
