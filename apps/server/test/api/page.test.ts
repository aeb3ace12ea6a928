import type { Subscription } from '@callhook/contract';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestServer, type TestServer } from '../harness.js';
import { pageUrl } from './helpers.js';

/**
 * The provider's page, replayed: its three curl examples byte for byte (same headers, same body
 * text with its newlines and indentation) and the responses the page shows.
 */
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s.stop());

const curlBody = (eventType: string) =>
  `{\n    "url": "https://somehost.com/fordel/show.php?myid=175",\n    "method": "GET",\n    "event_type": "${eventType}"\n}`;

describe("the page's curl examples", () => {
  test('three POSTs answer exactly the page responses, ids 72, 73, 74; GET lists them', async () => {
    // export url="https://<hostname>/api/ver1.0"; export access_token=...
    const url = s.apiUrl;
    const accessToken = await s.token();
    const expected = [
      ['dial-out', 72],
      ['answer', 73],
      ['hangup', 74],
    ] as const;
    for (const [eventType, id] of expected) {
      const res = await fetch(`${url}/extension/175/event/`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${accessToken}`, 'Content-Type': 'application/json' },
        body: curlBody(eventType),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const text = await res.text();
      const body = JSON.parse(text) as Record<string, unknown>;
      // The page's response, key for key and in the page's order; our fields may only follow.
      expect(Object.keys(body).slice(0, 4)).toEqual(['url', 'method', 'event_type', 'id']);
      expect({ url: body.url, method: body.method, event_type: body.event_type, id: body.id }).toEqual({
        url: pageUrl,
        method: 'GET',
        event_type: eventType,
        id,
      });
      // The serialized text starts as the page's compact JSON would.
      expect(
        text.startsWith(`{"url":"${pageUrl}","method":"GET","event_type":"${eventType}","id":${id}`),
      ).toBe(true);
      // The URL's own query is kept verbatim.
      expect(body.url).toContain('?myid=175');
    }

    const list = await fetch(`${url}/extension/175/event/`, {
      headers: { Authorization: `Bearer ${accessToken}` },
    });
    expect(list.status).toBe(200);
    const items = (await list.json()) as Subscription[];
    expect(items.map((i) => [i.event_type, i.id, i.url, i.method])).toEqual(
      expected.map(([e, id]) => [e, id, pageUrl, 'GET']),
    );
    for (const item of items)
      expect(Object.keys(item).slice(0, 4)).toEqual(['url', 'method', 'event_type', 'id']);
    // The secret is shown on create only.
    for (const item of items) expect(item).not.toHaveProperty('secret');

    const one = await fetch(`${url}/extension/175/event/73`, {
      headers: { Authorization: `Bearer ${accessToken}` },
    });
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ url: pageUrl, method: 'GET', event_type: 'answer', id: 73 });
  });

  test('the token endpoint answers as the page describes: access_token, Bearer, expires_in', async () => {
    const res = await fetch(`${s.url}/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=demo&client_secret=demo-secret-for-tests-only',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(3600);
    expect(body.access_token).toMatch(/^[A-Za-z0-9]{30}$/);
  });
});
