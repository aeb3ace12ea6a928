import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, test } from 'vitest';
import { expressMiddleware, fetchHandler, nodeHandler, WebhookReceiver } from '../src/index.js';
import { encodeEvent, getTarget, pageCall, SECRET, signedHeaders } from './support.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
let server: Server | undefined;

afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function listen(s: Server): Promise<string> {
  server = s;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

function recording() {
  const events: string[] = [];
  const receiver = new WebhookReceiver({ secret: SECRET }).onAny((d) =>
    events.push(`${d.method} ${d.event.EventType} ${JSON.stringify(d.params)}`),
  );
  return { receiver, events };
}

/** Sends one delivery as callhook does: GET with the data after the URL's own query, or POST. */
let deliveries = 0;
async function deliver(base: string, path: string, method: 'GET' | 'POST', event: Record<string, unknown>) {
  const encoded = encodeEvent(event);
  const id = `msg_${++deliveries}`;
  if (method === 'GET') {
    const url = getTarget(`${base}${path}`, encoded);
    return fetch(url, { headers: signedHeaders(url.slice(url.indexOf('?') + 1), { id }) });
  }
  return fetch(`${base}${path}`, {
    method,
    headers: { ...FORM, ...signedHeaders(encoded, { id }) },
    body: encoded,
  });
}

describe('node:http', () => {
  test('GET and POST deliveries reach the handlers; bad ones get 4xx', async () => {
    const { receiver, events } = recording();
    const base = await listen(createServer(nodeHandler(receiver)));
    expect((await deliver(base, '/show.php?myid=175', 'GET', pageCall.dialOut)).status).toBe(204);
    expect((await deliver(base, '/show.php?myid=175', 'POST', pageCall.hangup)).status).toBe(204);
    const unsigned = await fetch(`${base}/show.php`, {
      method: 'POST',
      headers: FORM,
      body: encodeEvent(pageCall.hangup),
    });
    expect(unsigned.status).toBe(401);
    expect(events).toEqual(['GET dial-out {"myid":"175"}', 'POST hangup {"myid":"175"}']);
  });

  test('a body over the limit is refused with 413; a throwing handler gives 500', async () => {
    const errors: unknown[] = [];
    const receiver = new WebhookReceiver({ secret: SECRET }).on('answer', () => {
      throw new Error('boom');
    });
    const base = await listen(
      createServer(nodeHandler(receiver, { maxBodyBytes: 64, onError: (e) => errors.push(e) })),
    );
    expect((await deliver(base, '/', 'POST', pageCall.hangup)).status).toBe(413);
    expect((await deliver(base, '/', 'GET', pageCall.answer)).status).toBe(500);
    expect(errors).toEqual([new Error('boom')]);
  });
});

describe('Express', () => {
  test('mounted on a router path, it reads the raw body and keeps the own query', async () => {
    const { receiver, events } = recording();
    const app = express();
    const router = express.Router();
    router.all('/events', expressMiddleware(receiver));
    app.use('/webhooks', router);
    const base = await listen(createServer(app));
    expect((await deliver(base, '/webhooks/events?myid=175', 'POST', pageCall.hangup)).status).toBe(204);
    expect((await deliver(base, '/webhooks/events?myid=175', 'GET', pageCall.answer)).status).toBe(204);
    expect(events).toEqual(['POST hangup {"myid":"175"}', 'GET answer {"myid":"175"}']);
  });

  test('behind express.raw it uses the buffered bytes; behind a form parser it says why it cannot verify', async () => {
    const { receiver, events } = recording();
    const app = express();
    app.post('/raw', express.raw({ type: '*/*' }), expressMiddleware(receiver));
    app.post('/parsed', express.urlencoded({ extended: false }), expressMiddleware(receiver));
    const failures: string[] = [];
    app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      failures.push(error.message);
      res.status(500).end();
    });
    const base = await listen(createServer(app));
    expect((await deliver(base, '/raw', 'POST', pageCall.hangup)).status).toBe(204);
    expect((await deliver(base, '/parsed', 'POST', pageCall.hangup)).status).toBe(500);
    expect(events).toEqual(['POST hangup {}']);
    expect(failures).toEqual([expect.stringContaining('mount the webhook receiver before body parsers')]);
  });
});

describe('Fetch API', () => {
  test('Request in, Response out', async () => {
    const { receiver, events } = recording();
    const handle = fetchHandler(receiver);
    const body = encodeEvent(pageCall.hangup);
    const ok = await handle(
      new Request('https://somehost.com/fordel/show.php?myid=175', {
        method: 'POST',
        headers: { ...FORM, ...signedHeaders(body) },
        body,
      }),
    );
    expect(ok.status).toBe(204);
    const url = getTarget('https://somehost.com/fordel/show.php?myid=175', encodeEvent(pageCall.answer));
    const tampered = await handle(
      new Request(url.replace('ANSWER', 'BUSY'), { headers: signedHeaders(url.slice(url.indexOf('?') + 1)) }),
    );
    expect(tampered.status).toBe(401);
    expect(await tampered.json()).toMatchObject({ error: 'bad_signature' });
    expect(events).toEqual(['POST hangup {"myid":"175"}']);
  });
});
