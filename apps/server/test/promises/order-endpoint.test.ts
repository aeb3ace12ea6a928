import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { callEvents } from '../events.js';
import { startTestServer, type TestServer } from '../harness.js';
import { type ReceivedRequest, type Receiver, startReceiver } from '../receivers.js';

// Servers and processes start slowly on a loaded 2-core machine: generous limits, same checks.
vi.setConfig({ hookTimeout: 90_000, testTimeout: 90_000 });

/**
 * README: "Events of one call reach one endpoint (URL without its query) in the order they
 * happened, even across the page's one-subscription-per-event-type setup; other calls and other
 * endpoints never wait." Two subscriptions whose URLs differ only in their query are one
 * endpoint: a call's hangup there waits for its dial-out's answer. A third URL (another path) and
 * another call do not wait.
 */
let s: TestServer;
let rx: Receiver;
const held: Array<{ req: ReceivedRequest; res: ServerResponse }> = [];
beforeAll(async () => {
  rx = await startReceiver((req, res) => {
    const form = new URLSearchParams(req.body);
    // The dial-out of call A at /hook, and of call C at /later, are held until the test lets them go.
    const tag = form.get('Tag');
    const hold =
      (req.url.startsWith('/hook') && tag === 'A0') || (req.url.startsWith('/later') && tag === 'C0');
    if (hold && form.get('EventType') === 'dial-out') {
      held.push({ req, res });
      return;
    }
    res.end('ok');
  });
  s = await startTestServer({ config: { deliveryPollMs: 20, deliveryTimeoutSeconds: 30 } });
});
afterAll(async () => {
  for (const h of held) h.res.end();
  await s?.stop();
  await rx?.close();
});

const arrived = (path: string, type: string, tag: string) =>
  rx.received.some((r) => {
    const f = new URLSearchParams(r.body);
    return r.url.startsWith(path) && f.get('EventType') === type && f.get('Tag') === tag;
  });

async function eventually(what: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('one endpoint is its URL without the query: a call waits there, other endpoints and calls do not', async () => {
  await s.subscribe(`${rx.url}/hook?type=dial-out`, 'dial-out');
  await s.subscribe(`${rx.url}/hook?type=hangup`, 'hangup');
  await s.subscribe(`${rx.url}/other`, 'hangup');
  const a = callEvents(175, 2, 'A'); // dial-out (Tag A0), hangup (Tag A1)
  const b = callEvents(175, 2, 'B');
  await s.ingest(a);
  await eventually(() => held.length === 1);
  // Another endpoint gets call A's hangup at once.
  await eventually(() => arrived('/other', 'hangup', 'A1'));
  // Another call reaches the same endpoint at once.
  await s.ingest(b);
  await eventually(() => arrived('/hook', 'hangup', 'B1'));
  expect(arrived('/hook', 'dial-out', 'B0')).toBe(true);
  // Call A's hangup to /hook (another subscription, another query) waits for its dial-out.
  await new Promise((r) => setTimeout(r, 500));
  expect(arrived('/hook', 'hangup', 'A1')).toBe(false);
  const releasedAt = Date.now();
  held[0]!.res.end('ok');
  await eventually(() => arrived('/hook', 'hangup', 'A1'));
  const hangup = rx.received.find((r) => r.url.startsWith('/hook?type=hangup') && r.body.includes('Tag=A1'))!;
  expect(hangup.at).toBeGreaterThanOrEqual(releasedAt);
  expect(hangup.url.startsWith('/hook?type=hangup')).toBe(true);
});

test("a call's next event that comes in a later intake waits for the open delivery before it", async () => {
  // The intake leases what may go at once straight to the dispatcher: a delivery whose call has
  // one still open at its endpoint, stored by an earlier intake, must not be among them.
  await s.subscribe(`${rx.url}/later`, 'dial-out');
  await s.subscribe(`${rx.url}/later`, 'hangup');
  const [dialOut, hangup] = callEvents(175, 2, 'C');
  await s.ingest([dialOut!]);
  await eventually(() => held.some((h) => h.req.url.startsWith('/later')));
  await s.ingest([hangup!]);
  // The other endpoints have it at once; /later does not.
  await eventually(() => arrived('/other', 'hangup', 'C1'));
  await new Promise((r) => setTimeout(r, 500));
  expect(arrived('/later', 'hangup', 'C1')).toBe(false);
  const releasedAt = Date.now();
  held.find((h) => h.req.url.startsWith('/later'))!.res.end('ok');
  await eventually(() => arrived('/later', 'hangup', 'C1'));
  const late = rx.received.find((r) => r.url.startsWith('/later') && r.body.includes('Tag=C1'))!;
  expect(late.at).toBeGreaterThanOrEqual(releasedAt);
});
