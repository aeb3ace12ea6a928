// @ts-check
// The provider page's setup with @callhook/client: subscribe one receiver URL to dial-out,
// answer and hangup of an extension (one subscription per event type, as the page does), and
// print the endpoint's one signing secret. `--simulate` then plays the page's call on a demo
// server's simulated PBX, so the receiver gets something at once.
//
//   CALLHOOK_URL=http://127.0.0.1:8080 CALLHOOK_CLIENT_ID=... CALLHOOK_CLIENT_SECRET=... \
//     node client/subscribe.mjs http://127.0.0.1:8081/hook?myid=175 [--method POST] [--simulate]
import { parseArgs } from 'node:util';
import { CallhookApiError, createCallhookClient } from '@callhook/client';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    extension: { type: 'string', default: '175' },
    method: { type: 'string', default: 'GET' },
    simulate: { type: 'boolean', default: false },
  },
});
const url = positionals[0];
if (!url || (values.method !== 'GET' && values.method !== 'POST')) {
  console.error(
    'usage: node client/subscribe.mjs RECEIVER_URL [--extension 175] [--method GET|POST] [--simulate]',
  );
  process.exit(2);
}
const extension = Number(values.extension);

const callhook = createCallhookClient({
  baseUrl: process.env.CALLHOOK_URL ?? 'http://127.0.0.1:8080',
  clientId: process.env.CALLHOOK_CLIENT_ID ?? '',
  clientSecret: process.env.CALLHOOK_CLIENT_SECRET ?? '',
});

try {
  const ids = [];
  for (const event_type of /** @type {const} */ (['dial-out', 'answer', 'hangup'])) {
    const sub = await callhook.subscriptions.create(extension, { url, event_type, method: values.method });
    ids.push(sub.id);
    // The URL without its query is the endpoint: its secret comes with its first subscription
    // only. Later ones (and the answer and hangup here) say secret_shared and sign with it too.
    if (sub.secret !== undefined) console.log(`secret ${sub.secret}`);
    else if (ids.length === 1) console.log('secret (shared: shown when this URL was first subscribed)');
  }
  console.log(`subscriptions ${ids.join(',')}`);
  if (values.simulate) {
    const call = await callhook.simulate({
      scenario: 'outgoing',
      extension_id: extension,
      number: '00010005',
      speed: 20,
    });
    console.log(`simulated ${call.call_id}`);
  }
} catch (error) {
  if (error instanceof CallhookApiError) {
    console.error(`callhook answered ${error.status}: ${error.body.message}`);
    process.exit(1);
  }
  throw error;
}
