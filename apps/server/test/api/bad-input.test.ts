import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { callEvents } from '../events.js';
import { startTestServer, type TestServer } from '../harness.js';
import { rawRequest } from '../raw.js';
import { errorBody } from './helpers.js';

// Bad input gets a 4xx that names the field, never a 500, and nothing of it is stored.

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(() => s?.stop());

const intake = (body: string, type = 'application/json', path = '/api/ver1.0/pbx/event/') =>
  rawRequest(s.url, {
    method: 'POST',
    path,
    headers: { 'content-type': type, 'x-pbx-key': s.pbxKey },
    body,
  });

const dialOut = () => callEvents(175, 2)[0]! as { data: Record<string, unknown> } & Record<string, unknown>;

describe('bodies of the wrong type or content type', () => {
  test('the token endpoint: JSON of wrong types, an empty body, any letter case of its path', async () => {
    for (const path of ['/oauth/token', '/oauth/token/', '/OAUTH/TOKEN', '/Oauth/Token']) {
      for (const [type, body] of [
        [
          'application/json',
          JSON.stringify({ grant_type: 'client_credentials', client_id: 5, client_secret: 'x' }),
        ],
        [
          'application/json',
          JSON.stringify({ grant_type: 'client_credentials', client_id: {}, client_secret: [] }),
        ],
        ['application/json', ''],
        ['application/x-www-form-urlencoded', ''],
        ['text/plain', 'grant_type=client_credentials'],
      ] as const) {
        const res = await rawRequest(s.url, {
          method: 'POST',
          path,
          headers: { 'content-type': type },
          body,
        });
        const label = `${path} ${type} ${body}`;
        expect(res.status, label).toBeGreaterThanOrEqual(400);
        expect(res.status, label).toBeLessThan(500);
        if (path.startsWith('/oauth/')) {
          expect(res.status, label).toBe(type === 'application/x-www-form-urlencoded' ? 400 : 415);
          expect(JSON.parse(res.body).error, label).toBe('invalid_request');
        } else expect(res.status, label).toBe(404);
      }
    }
    const empty = await rawRequest(s.url, {
      method: 'POST',
      path: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    expect(JSON.parse(empty.body).errors.map((e: { field: string }) => e.field)).toContain('grant_type');
  });

  test('the PBX intake with text/plain is 415, on its path and under any letter case 404', async () => {
    const body = JSON.stringify(dialOut());
    expect((await intake(body, 'text/plain')).status).toBe(415);
    expect((await intake(body, 'text/plain', '/api/ver1.0/PBX/event/')).status).toBe(404);
    expect((await intake(body, 'text/plain', '/api/ver1.0/pbx/event/batch/')).status).toBe(415);
    expect((await intake('', 'application/json')).status).toBe(400);
  });
});

describe('paging', () => {
  test('a page beyond the maximum is 400 naming `page`; the largest page works on this store', async () => {
    const sub = await s.subscribe('https://example.com/hook', 'hangup');
    for (const q of ['page=99999999999999999999', 'page=46116860184273880&per_page=200', 'page=10000001']) {
      const res = await s.api(`/extension/175/event/${sub.id}/delivery/?${q}`);
      expect(res.status, q).toBe(400);
      expect((await errorBody(res)).errors?.[0], q).toMatchObject({
        field: 'page',
        location: 'query',
        rule: 'maximum',
      });
    }
    const last = await s.api(`/extension/175/event/${sub.id}/delivery/?page=10000000&per_page=200`);
    expect(last.status).toBe(200);
    expect(await last.json()).toMatchObject({ items: [], page: 10000000, per_page: 200 });
    await s.api(`/extension/175/event/${sub.id}`, { method: 'DELETE' });
  });
});

describe("an intake event's data is flat", () => {
  test('an object or array value is 400 naming the field, however deep', async () => {
    // 5,000 levels (10 KB): written as text, as JSON.stringify of it would overflow the stack.
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    for (const [value, label] of [
      [deep, 'deep'],
      ['{"a":1}', 'object'],
      ['[1,2]', 'array'],
    ] as const) {
      const event = dialOut();
      event.data.Extra = 0;
      const text = JSON.stringify(event).replace('"Extra":0', `"Extra":${value}`);
      for (const [path, body, field] of [
        ['/api/ver1.0/pbx/event/', text, 'data.Extra'],
        [
          '/api/ver1.0/pbx/event/batch/',
          `{"events":[${JSON.stringify(dialOut())},${text}]}`,
          'events.1.data.Extra',
        ],
      ] as const) {
        const res = await intake(body, 'application/json', path);
        expect(res.status, `${label} ${path}`).toBe(400);
        const error = JSON.parse(res.body) as { errors: Array<{ field: string }> };
        expect(
          error.errors.map((e) => e.field),
          `${label} ${path}`,
        ).toContain(field);
      }
    }
  });

  test('the intake service refuses it too, for sources that do not come through HTTP', async () => {
    const event = dialOut();
    event.data.Extra = { a: 1 };
    await expect(s.context.intake.ingest([event as never])).rejects.toMatchObject({
      name: 'DomainError',
      kind: 'invalid',
      field: 'data.Extra',
      rule: 'type',
    });
  });

  test('extra scalar fields are kept and sent', async () => {
    const event = dialOut();
    Object.assign(event.data, { XString: 'x', XNumber: 1.5, XBool: true });
    const res = await intake(JSON.stringify(event));
    expect(res.status).toBe(202);
  });
});

describe("an intake event's mistake is named once, on both intake paths", () => {
  // The validator checks an event against the branch its event_type names: one mistake, one
  // error (a oneOf over the seven event types gave 22 for an unknown event_type).
  const cases: Array<[string, (e: ReturnType<typeof dialOut>) => unknown, string, RegExp]> = [
    [
      'an unknown event_type',
      (e) => ({ ...e, event_type: 'ringing' }),
      'event_type',
      /one of the allowed values: dial-in, dial-out, answer, hangup, voicemail, message-in, message-out/,
    ],
    ['no event_type', ({ event_type: _, ...e }) => e, 'event_type', /required property 'event_type'/],
    [
      'an event_type that is not text',
      (e) => ({ ...e, event_type: 5 }),
      'event_type',
      /allowed values: dial-in/,
    ],
    ['a missing field', (e) => ({ ...e, data: { ...e.data, CallID: undefined } }), 'data.CallID', /required/],
    [
      'a value outside its enum',
      (e) => ({ ...e, data: { ...e.data, CallFlow: 'sideways' } }),
      'data.CallFlow',
      /allowed values: in, out/,
    ],
  ];
  for (const [what, change, field, message] of cases) {
    test(`${what}: 400, one error naming ${field}`, async () => {
      for (const [path, body, named] of [
        ['/api/ver1.0/pbx/event/', change(dialOut()), field],
        ['/api/ver1.0/pbx/event/batch/', { events: [dialOut(), change(dialOut())] }, `events.1.${field}`],
      ] as const) {
        const res = await intake(JSON.stringify(body), 'application/json', path);
        expect(res.status, path).toBe(400);
        const error = JSON.parse(res.body) as { message: string; errors: Array<{ field: string }> };
        expect(
          error.errors.map((e) => e.field),
          path,
        ).toEqual([named]);
        expect(error.message, path).toMatch(message);
      }
    });
  }

  test('an event that is not an object: 400, one error naming it', async () => {
    const res = await intake(
      JSON.stringify({ events: [dialOut(), 42] }),
      'application/json',
      '/api/ver1.0/pbx/event/batch/',
    );
    expect(res.status).toBe(400);
    const error = JSON.parse(res.body) as { message: string; errors: Array<{ field: string }> };
    expect(error.errors.map((e) => e.field)).toEqual(['events.1']);
    expect(error.message).toBe('events.1: must be object');
  });
});

describe('refusals after validation name the field as the body has it', () => {
  // The intake itself refuses an unknown extension and a value no store keeps (NUL): a batch
  // names the event by position even when it holds one, as the schema's own errors do.
  const cases: Array<[string, (e: ReturnType<typeof dialOut>) => object, string]> = [
    ['an extension callhook does not have', (e) => ({ ...e, extension_id: 999 }), 'extension_id'],
    ['a NUL in the call id', (e) => ({ ...e, data: { ...e.data, CallID: 'a\u0000b' } }), 'data.CallID'],
  ];
  for (const [what, change, field] of cases) {
    test(`${what}: the event alone, a batch of one, a batch of two`, async () => {
      const single = await intake(JSON.stringify(change(dialOut())));
      for (const [body, named] of [
        [{ events: [change(dialOut())] }, `events.0.${field}`],
        [{ events: [dialOut(), change(dialOut())] }, `events.1.${field}`],
      ] as const) {
        const res = await intake(JSON.stringify(body), 'application/json', '/api/ver1.0/pbx/event/batch/');
        expect(res.status, named).toBe(single.status);
        expect(JSON.parse(res.body).errors.map((e: { field: string }) => e.field)).toEqual([named]);
      }
      expect(single.status).toBeGreaterThanOrEqual(400);
      expect(single.status).toBeLessThan(500);
      expect(JSON.parse(single.body).errors.map((e: { field: string }) => e.field)).toEqual([field]);
    });
  }
});

describe('text must be well-formed Unicode', () => {
  const lone = '\\ud800';
  test('a lone surrogate is 400 naming the field, wherever text would be stored', async () => {
    const cases: Array<[string, string, string, string]> = [
      [
        'POST',
        '/extension/175/event/',
        `{"url":"http://1.1.1.1/${lone}","method":"GET","event_type":"hangup"}`,
        'url',
      ],
      [
        'POST',
        '/extension/175/event/',
        `{"url":"http://1.1.1.1/","method":"GET","event_type":"hangup","note${lone}":1}`,
        `note\ufffd`,
      ],
      ['POST', '/extension/175/callback/', `{"dst_num":"123","src_num":["175"],"tag":"a${lone}"}`, 'tag'],
      ['POST', '/extension/175/callback/', `{"dst_num":"123","src_num":["1\\udc00"]}`, 'src_num.0'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await s.api(path, { method, headers: { 'content-type': 'application/json' }, body });
      expect(res.status, body).toBe(400);
      const error = await errorBody(res);
      expect(error.errors?.[0], body).toMatchObject({ rule: 'unicode', location: 'body' });
      if (!field.includes('\ufffd')) expect(error.errors?.[0]?.field, body).toBe(field);
    }
    const event = JSON.stringify(dialOut()).replace('"CalledNumber":"', `"CalledNumber":"${lone}`);
    const res = await intake(event);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).errors[0]).toMatchObject({ field: 'data.CalledNumber', rule: 'unicode' });
    const batch = await intake(`{"events":[${event}]}`, 'application/json', '/api/ver1.0/pbx/event/batch/');
    expect(JSON.parse(batch.body).errors[0]).toMatchObject({ field: 'events.0.data.CalledNumber' });
    expect(((await (await s.api('/extension/175/event/')).json()) as unknown[]).length).toBe(0);
  });

  test('a pair (an emoji) is text like any other and comes back unchanged', async () => {
    const url = 'https://example.com/\u{1F4DE}?x=\u{1F600}';
    const res = await s.api('/extension/175/event/', {
      method: 'POST',
      json: { url, method: 'GET', event_type: 'hangup' },
    });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: number };
    expect(((await (await s.api(`/extension/175/event/${id}`)).json()) as { url: string }).url).toBe(url);
    await s.api('/extension/175/event/', { method: 'DELETE' });
  });

  test('a lone surrogate in a form body or query is refused too', async () => {
    const token = await rawRequest(s.url, {
      method: 'POST',
      path: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=%ED%A0%80&client_secret=x',
    });
    expect(token.status).toBeGreaterThanOrEqual(400);
    expect(token.status).toBeLessThan(500);
    const sub = await s.subscribe('https://example.com/hook', 'hangup');
    const q = await s.api(`/extension/175/event/${sub.id}/delivery/?since=%ED%A0%80`);
    expect(q.status).toBe(400);
    await s.api('/extension/175/event/', { method: 'DELETE' });
  });
});

describe('the batch intake takes as many events as its schema allows', () => {
  test('500 events of the size one event may have fit in one batch; one byte per event more is 413', async () => {
    // A small single-event limit keeps the batch small; the rule is the same at the default.
    const small = await startTestServer({ config: { maxBodyBytes: 2048, dispatcher: false } });
    try {
      const post = (path: string, body: string) =>
        rawRequest(small.url, {
          method: 'POST',
          path,
          headers: { 'content-type': 'application/json', 'x-pbx-key': small.pbxKey },
          body,
        });
      const padded = (size: number) => {
        const event = dialOut();
        const base = JSON.stringify({ ...event, data: { ...event.data, Pad: '' } }).length;
        event.data.Pad = 'x'.repeat(size - base);
        const text = JSON.stringify(event);
        expect(text.length).toBe(size);
        return text;
      };
      const largest = padded(2048);
      expect((await post('/api/ver1.0/pbx/event/', largest)).status).toBe(202);
      expect((await post('/api/ver1.0/pbx/event/', padded(2049))).status).toBe(413);
      const batch = `{"events":[${Array(500).fill(largest).join(',')}]}`;
      const res = await post('/api/ver1.0/pbx/event/batch/', batch);
      expect(res.status, res.body.slice(0, 200)).toBe(202);
      expect(JSON.parse(res.body)).toMatchObject({ accepted: 500 });
      const over = `{"events":[${Array(500)
        .fill(padded(2048 + 200))
        .join(',')}]}`;
      expect((await post('/api/ver1.0/pbx/event/batch/', over)).status).toBe(413);
    } finally {
      await small.stop();
    }
  }, 90_000);

  test('at the default limits, a batch of 500 small events is accepted', async () => {
    const events = Array.from({ length: 250 }, () => callEvents(175, 2)).flat();
    expect(events.length).toBe(500);
    const res = await intake(JSON.stringify({ events }), 'application/json', '/api/ver1.0/pbx/event/batch/');
    expect(res.status).toBe(202);
  });
});
