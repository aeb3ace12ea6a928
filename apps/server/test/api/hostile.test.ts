import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { hashSecret } from '../../src/store/secrets.js';
import { callEvents } from '../events.js';
import { startTestServer, type TestServer } from '../harness.js';
import { type RawResponse, rawRequest } from '../raw.js';
import {
  fieldPaths,
  fill,
  hostileBody,
  hostileParam,
  isPathOf,
  mutate,
  mutations,
  operationsOf,
  pathVariants,
  type SpecOperation,
  sample,
} from './spec-walk.js';

// Keeps the class of hole closed where a request reached a handler past its checks: every
// operation of the spec (read now, not listed here) gets hostile variants of every part of a
// request, generated from its own schemas. Whatever comes, no 5xx, the server keeps answering,
// a path that is not exactly the spec's is a 404, and an operation the spec secures never runs
// without its credentials: no store method is called and nothing changes.

const ops = operationsOf();
const secured = ops.filter((op) => op.auth !== 'none');
// Requests per operation and phase: about 350 in all, half a minute on a loaded 2-core machine.
// HOSTILE_RUNS=200 digs deeper; HOSTILE_SEED replays a failure's seed.
const RUNS = Number(process.env.HOSTILE_RUNS ?? 10);
const SEED = process.env.HOSTILE_SEED === undefined ? undefined : Number(process.env.HOSTILE_SEED);

let s: TestServer;
let token: string;
let expired: string;
let paramValues: Record<string, string>;
const bodyKnown: Record<string, unknown> = { extension_id: 175, url: 'https://93.184.215.14/hook' };
/** Calls of every store method, by `part.method`, since `countCalls()`. */
const calls = new Map<string, number>();

function countCalls(server: TestServer): void {
  for (const part of ['tenants', 'subscriptions', 'outbox'] as const) {
    const target = server.store[part] as unknown as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(target))) {
      const fn = target[name];
      if (name === 'constructor' || typeof fn !== 'function') continue;
      target[name] = function (this: unknown, ...args: unknown[]) {
        calls.set(`${part}.${name}`, (calls.get(`${part}.${name}`) ?? 0) + 1);
        return (fn as (...a: unknown[]) => unknown).apply(this, args);
      };
    }
  }
}

beforeAll(async () => {
  // No dispatcher: nothing but requests touches the store. The simulator on: its operations run.
  s = await startTestServer({ config: { simulator: true, dispatcher: false } });
  token = await s.token();
  const sub = await s.subscribe('https://93.184.215.14/hook', 'dial-out', 'POST');
  await s.ingest(callEvents(175, 2));
  const list = await s.api(`/extension/175/event/${sub.id}/delivery/`);
  const deliveryId = ((await list.json()) as { items: Array<{ id: string }> }).items[0]!.id;
  paramValues = { extension_id: '175', id: String(sub.id), delivery_id: deliveryId, client_id: '@me' };
  expired = 'ExpiredTokenExpiredTokenExpire';
  const app = await s.store.tenants.findApplication('demo');
  await s.store.tenants.saveToken(hashSecret(expired), {
    applicationId: app!.id,
    clientId: app!.clientId,
    extensionId: app!.extensionId,
    expiresAt: Date.now() - 1000,
  });
  countCalls(s);
}, 60_000);
afterAll(() => s?.stop());

type Credential =
  | 'none'
  | 'forged'
  | 'expired'
  | 'malformed'
  | 'basic'
  | 'wrong-key'
  | 'token-for-pbx'
  | 'key-for-token'
  | 'valid';

function credentialHeaders(op: SpecOperation, c: Credential): Record<string, string> {
  switch (c) {
    case 'none':
      return {};
    case 'forged':
      return { authorization: `Bearer ${'F'.repeat(30)}`, 'x-pbx-key': 'F'.repeat(32) };
    case 'expired':
      return { authorization: `Bearer ${expired}` };
    case 'malformed':
      return { authorization: 'Bearer a b' };
    case 'basic':
      return { authorization: `Basic ${Buffer.from('demo:demo-secret-for-tests-only').toString('base64')}` };
    case 'wrong-key':
      return { 'x-pbx-key': `${s.pbxKey}x` };
    case 'token-for-pbx':
      return { authorization: `Bearer ${token}` };
    case 'key-for-token':
      return { 'x-pbx-key': s.pbxKey };
    case 'valid':
      return op.auth === 'pbx'
        ? { 'x-pbx-key': s.pbxKey }
        : op.auth === 'token'
          ? { authorization: `Bearer ${token}` }
          : {};
  }
}

const invalidCredentials = (op: SpecOperation): Credential[] =>
  op.auth === 'pbx'
    ? ['none', 'forged', 'wrong-key', 'token-for-pbx', 'malformed']
    : ['none', 'forged', 'expired', 'malformed', 'basic', 'key-for-token'];

/** Whose path a request's is: this operation's, another's (a hostile id can make one), none. */
type PathKind = 'own' | 'other' | 'none';

interface Attempt {
  path: string;
  /** `none`: no path of the spec, so it must be 404 whatever else the request has. */
  kind: PathKind;
  query: string;
  type: string | undefined;
  body: string | undefined;
}

const TYPES = [
  'application/json',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/json; charset=latin1',
];

function asForm(text: string): string {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null) return text;
    return new URLSearchParams(
      Object.entries(value).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    ).toString();
  } catch {
    return text;
  }
}

/** A request to `op`, every part of it valid or hostile, as the spec's schemas allow or not. */
function attempts(op: SpecOperation): fc.Arbitrary<Attempt> {
  const pathParams = op.params.filter((p) => p.in === 'path');
  const queryParams = op.params.filter((p) => p.in === 'query');
  const values = fc.record(
    Object.fromEntries(
      pathParams.map((p) => [
        p.name,
        fc.oneof({ weight: 3, arbitrary: fc.constant(paramValues[p.name]!) }, hostileParam),
      ]),
    ) as Record<string, fc.Arbitrary<string>>,
  );
  // A hostile parameter or variant can land on another operation's path (an empty id makes
  // `.../event/{id}` the list, `.../delivery/RECOVER/` is a delivery id): that one answers.
  const kindOf = (p: string): PathKind =>
    isPathOf(op.served, p) ? 'own' : ops.some((o) => isPathOf(o.served, p)) ? 'other' : 'none';
  const canonical = values.chain((v) => {
    const path = fill(op.served, v);
    const toggled = path.endsWith('/') ? path.slice(0, -1) : `${path}/`;
    return fc.oneof(
      { weight: 4, arbitrary: fc.constant(path) },
      { weight: 1, arbitrary: fc.constant(toggled) },
      { weight: 2, arbitrary: fc.constantFrom(...pathVariants(op.served, v)) },
    );
  });
  const query = fc
    .array(
      fc.tuple(
        fc.constantFrom(...queryParams.map((p) => p.name), 'page', 'x', '__proto__'),
        fc.oneof(hostileParam, fc.constantFrom('1', '200', 'failed', '2020-01-01T00:00:00Z')),
      ),
      { maxLength: queryParams.length > 0 ? 4 : 1 },
    )
    .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
  const ownType = op.body?.types[0];
  const type = fc.oneof(
    { weight: 4, arbitrary: fc.constant(ownType ?? 'application/json') },
    { weight: 1, arbitrary: fc.constantFrom<string | undefined>(...TYPES, undefined) },
  );
  const valid = op.body ? (op.body.example ?? sample(op.body.schema, bodyKnown)) : undefined;
  const body: fc.Arbitrary<string | undefined> = op.body
    ? fc.oneof(
        { weight: 1, arbitrary: fc.constant(JSON.stringify(valid)) },
        { weight: 4, arbitrary: mutations(fieldPaths(op.body.schema)).map((m) => mutate(valid, m)) },
        { weight: 1, arbitrary: hostileBody },
      )
    : fc.option(hostileBody, { nil: undefined });
  return fc.record({ path: canonical, query, type, body }).map(({ path, query, type, body }) => ({
    path,
    kind: kindOf(path),
    query,
    type,
    body: body !== undefined && type?.startsWith('application/x-www-form-urlencoded') ? asForm(body) : body,
  }));
}

async function send(op: SpecOperation, a: Attempt, credential: Credential): Promise<RawResponse> {
  const headers: Record<string, string> = { ...credentialHeaders(op, credential) };
  if (a.type !== undefined && a.body !== undefined) headers['content-type'] = a.type;
  return rawRequest(s.url, {
    method: op.method,
    path: a.query ? `${a.path}?${a.query}` : a.path,
    headers,
    ...(a.body !== undefined ? { body: a.body } : {}),
  });
}

function describeAttempt(op: SpecOperation, a: Attempt, c: Credential, res: RawResponse): string {
  return `${op.id} ${op.method} ${a.path.slice(0, 120)}?${a.query.slice(0, 80)} [${c}] ${a.type} ${String(a.body).slice(0, 120)} -> ${res.status} ${res.body.slice(0, 200)}`;
}

function expectErrorShape(label: string, res: RawResponse): void {
  if (res.status < 400) return;
  const body = JSON.parse(res.body) as { message?: unknown };
  expect(typeof body.message, label).toBe('string');
}

const params = (runs: number) => ({
  numRuns: runs,
  endOnFailure: true,
  ...(SEED !== undefined ? { seed: SEED } : {}),
});

describe('hostile variants of every operation of the spec', () => {
  test('without valid credentials, no secured operation runs: 401 on its path, 404 off it, nothing stored', async () => {
    expect(secured.length).toBeGreaterThan(10);
    const before = await snapshot();
    calls.clear();
    for (const op of secured) {
      await fc.assert(
        fc.asyncProperty(attempts(op), fc.constantFrom(...invalidCredentials(op)), async (a, c) => {
          const res = await send(op, a, c);
          const label = describeAttempt(op, a, c, res);
          if (a.kind === 'other') expect([401, 404, 405], label).toContain(res.status);
          else expect(res.status, label).toBe(a.kind === 'none' ? 404 : 401);
          expectErrorShape(label, res);
        }),
        params(RUNS),
      );
    }
    // Forged and expired tokens are looked up; nothing else of the store was touched.
    const touched = [...calls].filter(([name]) => name !== 'tenants.findToken');
    expect(touched).toEqual([]);
    expect(await snapshot()).toEqual(before);
    // The counting itself works: an authenticated request is seen.
    expect(calls.get('subscriptions.list')).toBeGreaterThan(0);
  }, 120_000);

  test('with valid credentials: no 5xx, an error body on every 4xx, 404 for paths that are not the spec', async () => {
    const seen = new Map<number, number>();
    for (const op of ops) {
      await fc.assert(
        fc.asyncProperty(
          attempts(op),
          fc.constantFrom<Credential>(
            'valid',
            'valid',
            'valid',
            ...(op.auth === 'none' ? (['basic'] as const) : []),
          ),
          async (a, c) => {
            const res = await send(op, a, c);
            const label = describeAttempt(op, a, c, res);
            seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
            expect(res.status, label).toBeGreaterThanOrEqual(200);
            expect(res.status, label).toBeLessThan(500);
            if (a.kind === 'none') expect(res.status, label).toBe(404);
            expectErrorShape(label, res);
          },
        ),
        params(RUNS),
      );
    }
    // The variants reached past validation too, not only into 400s.
    expect([...seen.keys()].some((status) => status < 300)).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 120_000);

  // Found by the test above (seed -148488355): the validator coerced `1e400` to Infinity, which
  // passed `integer` and `maximum: 200`, and the store failed on it as a LIMIT.
  test('a query number past what a double holds is refused by name, on every list that takes one', async () => {
    // Its own subscription: the variants above may have deleted the others.
    const sub = [await s.subscribe('https://93.184.215.14/finite', 'hangup', 'POST')];
    for (const path of [
      '/extension/175/delivery/?per_page=1e400',
      '/extension/175/delivery/?per_page=-1e400&call_id=x',
      `/extension/175/event/${sub[0]!.id}/delivery/?page=1e400`,
      `/extension/175/event/${sub[0]!.id}/delivery/?per_page=1e400`,
    ]) {
      const res = await s.api(path);
      expect(res.status, path).toBe(400);
      const field = new URL(path, 'http://x').searchParams.keys().next().value;
      expect(await res.json(), path).toMatchObject({ errors: [{ field, location: 'query' }] });
    }
  });

  test('the server still answers', async () => {
    const res = await fetch(`${s.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok' });
  });
});

/** What a secured operation could change: the demo client's subscriptions and their deliveries. */
async function snapshot() {
  const subs = await s.api('/extension/175/event/');
  const list = (await subs.json()) as Array<{ id: number; url: string; enabled: boolean }>;
  const deliveries = [];
  for (const sub of list) {
    const res = await s.api(`/extension/175/event/${sub.id}/delivery/?per_page=200`);
    deliveries.push(await res.json());
  }
  const limits = await (await s.api('/client/@me/limit/')).json();
  return { list, deliveries, limits };
}
