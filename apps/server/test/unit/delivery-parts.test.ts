import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventType } from '@callhook/contract';
import fc from 'fast-check';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FailureLimiter } from '../../src/auth/ratelimit.js';
import { answerIn, answerOut, attemptIn, attemptOut } from '../../src/delivery/crossing.js';
import { encodeEventData, getRequestUrl } from '../../src/delivery/encoding.js';
import { type Answer, AnswerReader, Sender } from '../../src/delivery/sender.js';
import { sign } from '../../src/delivery/signing.js';
import { TargetPolicy } from '../../src/delivery/target.js';
import { type ClaimedDelivery, openStore, orderKey, type Store } from '../../src/store/index.js';
import { freshDatabase, pgAdminUrl } from '../pg.js';
import { type Receiver, startReceiver } from '../receivers.js';
import { claimedDelivery } from './delivery-rows.js';

/**
 * The parts that carry the README's delivery promises, each on its own and fast (these are the
 * tests `npm run test:mutation` runs against mutants of these modules).
 */
const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const OLD = `whsec_${Buffer.from('fedcba9876543210fedcba9876543210').toString('base64')}`;

describe('signing (README: v1,<base64 HMAC-SHA256> over id.timestamp.payload; two entries during a rotation)', () => {
  test('the standardwebhooks package verifies it, for each secret of a rotation', () => {
    const sig = sign('msg_1', 1_700_000_000, 'a=1&b=J%C3%BCrgen', [SECRET, OLD]);
    const [first, second, ...rest] = sig.split(' ');
    expect(rest).toEqual([]);
    expect(first).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(second).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(first).not.toBe(second);
    const at = new Date(1_700_000_000_000);
    expect(first).toBe(new Webhook(SECRET).sign('msg_1', at, 'a=1&b=J%C3%BCrgen'));
    expect(second).toBe(new Webhook(OLD).sign('msg_1', at, 'a=1&b=J%C3%BCrgen'));
    expect(first).not.toBe(new Webhook(SECRET).sign('msg_1', at, 'a=2'));
    expect(first).not.toBe(new Webhook(SECRET).sign('msg_2', at, 'a=1&b=J%C3%BCrgen'));
    expect(first).not.toBe(
      new Webhook(SECRET).sign('msg_1', new Date(1_700_000_001_000), 'a=1&b=J%C3%BCrgen'),
    );
  });

  test('the exact bytes: HMAC of the key inside whsec_, over id.timestamp.payload in UTF-8', async () => {
    const { createHmac } = await import('node:crypto');
    const key = Buffer.from('0123456789abcdef0123456789abcdef');
    const expected = createHmac('sha256', key).update('msg_2.1700000001.x=é', 'utf8').digest('base64');
    expect(sign('msg_2', 1_700_000_001, 'x=é', [SECRET])).toBe(`v1,${expected}`);
    // A secret without the prefix is the base64 key itself.
    expect(sign('msg_2', 1_700_000_001, 'x=é', [SECRET.slice(6)])).toBe(`v1,${expected}`);
    // The cached key is per secret: another secret signs differently.
    expect(sign('msg_2', 1_700_000_001, 'x=é', [OLD])).not.toBe(`v1,${expected}`);
    expect(sign('msg_2', 1_700_000_001, 'x=é', [])).toBe('');
  });
});

describe('intake encoding (README: form-encoded UTF-8, only fields with a value, GET appends to the URL’s own query)', () => {
  test('fields with a value, in order, form-encoded', () => {
    expect(
      encodeEventData({ a: 'x y', b: '', c: null, d: undefined, e: 0, f: false, g: 'é&=+', h: 17 }),
    ).toBe('a=x+y&e=0&f=false&g=%C3%A9%26%3D%2B&h=17');
    expect(encodeEventData({})).toBe('');
  });

  test('byte for byte what URLSearchParams writes, for any names and values (spaces, symbols, non-ASCII, lone surrogates)', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({
        unit: fc.constantFrom('a', 'Z', '0', '*', '.', '_', '-', ' ', '~', '!', '+', '%', '&', '='),
      }),
    );
    const value = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(''));
    fc.assert(
      fc.property(fc.array(fc.tuple(text, value)), (pairs) => {
        const data = Object.fromEntries(pairs);
        const expected = new URLSearchParams();
        for (const [name, v] of Object.entries(data)) {
          if (v !== undefined && v !== null && v !== '') expected.append(name, String(v));
        }
        expect(encodeEventData(data)).toBe(expected.toString());
      }),
      { numRuns: 2000 },
    );
  });

  test('GET: appended to the subscription URL’s own query, the fragment dropped', () => {
    expect(getRequestUrl('http://h/show.php?myid=175', 'a=1')).toBe('http://h/show.php?myid=175&a=1');
    expect(getRequestUrl('http://h/show.php', 'a=1')).toBe('http://h/show.php?a=1');
    expect(getRequestUrl('http://h/x?', 'a=1')).toBe('http://h/x?a=1');
    expect(getRequestUrl('http://h/x?y=2&', 'a=1')).toBe('http://h/x?y=2&a=1');
    expect(getRequestUrl('http://h/x?y=2#frag', 'a=1')).toBe('http://h/x?y=2&a=1');
    expect(getRequestUrl('http://h/x#frag?z', 'a=1')).toBe('http://h/x?a=1');
    expect(getRequestUrl('http://h/x?y=2#f', '')).toBe('http://h/x?y=2');
    expect(getRequestUrl('http://h/x', '')).toBe('http://h/x');
  });
});

describe('token throttling (README: failed token requests are throttled per address, and per client from that address)', () => {
  test('after `limit` failures inside the window, refused until the oldest leaves it', () => {
    const l = new FailureLimiter(3, 60_000);
    const t0 = 1_000_000;
    expect(l.retryAfter('a', t0)).toBe(0);
    l.fail('a', t0);
    l.fail('a', t0 + 10_000);
    expect(l.retryAfter('a', t0 + 10_000)).toBe(0);
    l.fail('a', t0 + 20_000);
    // Three failures: wait until the first (t0) is 60 s old.
    expect(l.retryAfter('a', t0 + 20_000)).toBe(40);
    expect(l.retryAfter('a', t0 + 59_500)).toBe(1);
    expect(l.retryAfter('a', t0 + 59_999)).toBe(1);
    expect(l.retryAfter('a', t0 + 60_000)).toBe(0);
    // Other keys are not affected.
    expect(l.retryAfter('b', t0 + 20_000)).toBe(0);
    // A success resets the key.
    l.fail('a', t0 + 60_000);
    // t0 left the window; t0+10 s, t0+20 s and this one count: wait until t0+10 s is 60 s old.
    expect(l.retryAfter('a', t0 + 60_000)).toBe(10);
    l.reset('a');
    expect(l.retryAfter('a', t0 + 60_000)).toBe(0);
  });

  test('failures older than the window do not count; a fractional second rounds up', () => {
    const l = new FailureLimiter(2, 1_000);
    l.fail('k', 0);
    l.fail('k', 999);
    expect(l.retryAfter('k', 999)).toBe(1);
    expect(l.retryAfter('k', 1_000)).toBe(0);
    l.fail('k', 1_500);
    expect(l.retryAfter('k', 1_500)).toBe(1);
    const long = new FailureLimiter(1, 10_500);
    long.fail('k', 0);
    expect(long.retryAfter('k', 0)).toBe(11);
    expect(long.retryAfter('k', 500)).toBe(10);
  });

  test('the map is pruned past 100000 keys, keeping the keys still within their window', () => {
    const l = new FailureLimiter(1, 1_000);
    for (let i = 0; i < 100_001; i++) l.fail(`old${i}`, 0);
    l.fail('fresh', 5_000);
    // Pruning ran when the map grew past the limit: old keys went, the fresh one stays.
    const size = (l as unknown as { failures: Map<string, number[]> }).failures.size;
    expect(size).toBe(1);
    expect(l.retryAfter('fresh', 5_000)).toBe(1);
  });
});

describe('order keys (README: events of one call reach one endpoint — URL without its query — in order)', () => {
  test('the query and fragment do not make another endpoint; path, host, client and call do', () => {
    const k = orderKey(1, 'http://h/hook?type=dial-out', 'c1');
    expect(orderKey(1, 'http://h/hook?type=hangup', 'c1')).toBe(k);
    expect(orderKey(1, 'http://h/hook#x', 'c1')).toBe(k);
    expect(orderKey(1, 'http://h/hook', 'c1')).toBe(k);
    expect(orderKey(1, 'http://h/other?type=dial-out', 'c1')).not.toBe(k);
    expect(orderKey(1, 'http://h2/hook', 'c1')).not.toBe(k);
    expect(orderKey(2, 'http://h/hook', 'c1')).not.toBe(k);
    expect(orderKey(1, 'http://h/hook', 'c2')).not.toBe(k);
    expect(k.startsWith('1:')).toBe(true);
    expect(k.endsWith(':c1')).toBe(true);
  });
});

describe('the outbox claim keeps per-call order per endpoint, and nothing else waits (real store: SQLite, or PostgreSQL in its pass)', () => {
  let dir: string;
  let store: Store;
  let database: Awaited<ReturnType<typeof freshDatabase>> | undefined;
  let clientId: number;
  const subs: Record<string, number> = {};
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'callhook-order-'));
    database = pgAdminUrl ? await freshDatabase() : undefined;
    store = await openStore({ dataDir: dir, databaseUrl: database?.url ?? '', poolSize: 1 });
    clientId = await store.tenants.createClient('Acme');
    await store.tenants.createExtension({
      id: 175,
      clientId,
      name: '000*099',
      domain: 'd',
      recording: false,
      kind: 'phone',
    });
    const limits = { perExtension: 20, perClient: 100 };
    for (const [name, url, type] of [
      ['dialOut', 'http://93.184.216.34/hook?type=dial-out', 'dial-out'],
      ['hangup', 'http://93.184.216.34/hook?type=hangup', 'hangup'],
      ['other', 'http://93.184.216.34/other', 'hangup'],
    ] as const) {
      subs[name] = (
        await store.subscriptions.create(clientId, 175, { url, method: 'POST', eventType: type }, limits)
      ).id;
    }
  });
  afterAll(async () => {
    await store.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ev = (type: EventType, call: string) => ({
    extensionId: 175,
    eventType: type,
    callId: call,
    data: { EventType: type, CallID: call },
    payload: `EventType=${type}&CallID=${call}`,
  });
  const now = 1_800_000_000_000;
  const claim = (owner: string, at = now) => store.outbox.claim(owner, at, at + 60_000, 100);
  const done = (owner: string, ds: ClaimedDelivery[], at = now) =>
    store.outbox.complete(
      owner,
      ds.map((delivery) => ({
        delivery,
        result: {
          kind: 'succeeded' as const,
          attempt: {
            attemptedAt: at,
            outcome: 'success',
            statusCode: 200,
            latencyMs: 1,
            error: null,
            responseBody: null,
          },
        },
      })),
      at,
    );

  test('a later event of a call waits for the earlier one at the same endpoint (another query), not at another endpoint or call', async () => {
    await store.outbox.ingest([ev('dial-out', 'A'), ev('hangup', 'A'), ev('hangup', 'B')], now);
    const first = await claim('one');
    const got = first.map((d) => `${d.callId}:${d.eventType}:${d.subscriptionId}`).sort();
    // A's dial-out (hook), A's hangup at /other (another endpoint), B's hangups at both endpoints;
    // A's hangup at /hook waits behind A's dial-out there, though its subscription's query differs.
    expect(got).toEqual(
      [
        `A:dial-out:${subs.dialOut}`,
        `A:hangup:${subs.other}`,
        `B:hangup:${subs.hangup}`,
        `B:hangup:${subs.other}`,
      ].sort(),
    );
    // Nothing more is due while those are leased, the waiting one included.
    expect(await claim('two')).toEqual([]);
    // Once A's dial-out is finished, A's hangup at /hook goes.
    await done(
      'one',
      first.filter((d) => d.callId === 'A' && d.eventType === 'dial-out'),
    );
    const next = await claim('two');
    expect(next.map((d) => `${d.callId}:${d.eventType}:${d.subscriptionId}`)).toEqual([
      `A:hangup:${subs.hangup}`,
    ]);
    await done(
      'one',
      first.filter((d) => !(d.callId === 'A' && d.eventType === 'dial-out')),
    );
    await done('two', next);
  });

  test('the intake leases the first of each call at each endpoint, not those behind an open one stored before (600 calls)', async () => {
    // The last two calls have a delivery still open at /hook from an earlier intake (leased by a
    // claim): their hangups there must not be leased by the intake, whatever the batch's size
    // (the leases are taken back 512 at a time: these two are in the third statement).
    await store.outbox.ingest([ev('dial-out', 'G598'), ev('dial-out', 'G599')], now);
    const earlier = await claim('one');
    const lease = { owner: 'intake', until: now + 60_000, accept: () => true };
    const calls = Array.from({ length: 600 }, (_, k) => `G${k}`);
    const stored = await store.outbox.ingest(
      calls.map((c) => ev('hangup', c)),
      now,
      lease,
    );
    // Each hangup goes to /hook (hangup) and /other: 1,200 deliveries. Those of G598 and G599 at
    // /hook wait behind their dial-outs; every other one, at either endpoint, is leased.
    expect(stored.deliveries).toBe(1200);
    const waiting = (d: { callId: string | null; subscriptionId: number }) =>
      (d.callId === 'G598' || d.callId === 'G599') && d.subscriptionId === subs.hangup;
    expect(stored.leased).toHaveLength(1198);
    expect(stored.leased.some(waiting)).toBe(false);
    // They come due as any other: once the dial-outs are done, a claim finds exactly those two.
    await done('one', earlier);
    const behind = await claim('two');
    expect(behind.every(waiting)).toBe(true);
    expect(behind).toHaveLength(2);
    await done('two', behind);
    await done('intake', stored.leased);
  });

  test("renewing leases moves the owner's own open leases on, and nothing else", async () => {
    await store.outbox.ingest([ev('hangup', 'R1'), ev('hangup', 'R2')], now);
    const mine = await claim('one');
    expect(mine.map((d) => d.callId).sort()).toEqual(['R1', 'R1', 'R2', 'R2']);
    const [finished, ...open] = mine;
    await done('one', [finished!]);
    const seqs = mine.map((d) => d.seq);
    // Another owner moves nothing; the owner moves its three still open, not the finished one.
    expect(await store.outbox.renewLeases('two', now + 120_000, seqs)).toBe(0);
    expect(await store.outbox.renewLeases('one', now + 120_000, seqs)).toBe(3);
    // Their leases (and due times) now end at +120 s: still held at +61 s, due again after +120 s.
    expect(await claim('two', now + 61_000)).toEqual([]);
    const after = await claim('two', now + 120_001);
    expect(after.map((d) => d.seq).sort()).toEqual(open.map((d) => d.seq).sort());
    await done('two', after, now + 120_001);
  });

  test('a retrying earlier event still holds the later one; a due time in the future is not claimed', async () => {
    await store.outbox.ingest([ev('dial-out', 'C'), ev('hangup', 'C')], now);
    const claimed = await claim('one');
    const dialOut = claimed.find((d) => d.eventType === 'dial-out');
    const others = claimed.filter((d) => d !== dialOut);
    expect(dialOut).toMatchObject({ callId: 'C', subscriptionId: subs.dialOut });
    expect(others.map((d) => d.subscriptionId)).toEqual([subs.other]);
    await store.outbox.complete('one', [
      {
        delivery: dialOut!,
        result: {
          kind: 'retry',
          nextAttemptAt: now + 5_000,
          attempt: {
            attemptedAt: now,
            outcome: 'http_error',
            statusCode: 500,
            latencyMs: 1,
            error: 'HTTP 500',
            responseBody: null,
          },
        },
      },
    ]);
    // Retrying, not yet due: neither it nor C's hangup at /hook is claimed.
    expect(await claim('one', now + 4_999)).toEqual([]);
    const again = await claim('one', now + 5_000);
    expect(again.map((d) => `${d.callId}:${d.eventType}`)).toEqual(['C:dial-out']);
    await done('one', again, now + 5_000);
    const last = await claim('one', now + 5_000);
    expect(last.map((d) => `${d.callId}:${d.eventType}:${d.subscriptionId}`)).toEqual([
      `C:hangup:${subs.hangup}`,
    ]);
    await done('one', [...others, ...last], now + 5_000);
  });

  test("a held receiver's due deliveries are moved to the end of its wait, a chunk at a time, others untouched", async () => {
    await store.outbox.ingest([ev('hangup', 'E1'), ev('hangup', 'E2'), ev('hangup', 'E3')], now);
    const until = now + 30_000;
    // Three due at /other; a limit of 2 moves the two oldest, a second call the last one.
    expect(await store.outbox.deferDue([subs.other!], until, 2, now)).toBe(2);
    expect(await store.outbox.deferDue([subs.other!], until, 2, now)).toBe(1);
    expect(await store.outbox.deferDue([subs.other!], until, 2, now)).toBe(0);
    // Only the other subscription's are due now; the held one's come due at the end of the wait.
    const due = await claim('one');
    expect(due.map((d) => d.subscriptionId)).toEqual([subs.hangup, subs.hangup, subs.hangup]);
    expect(await claim('one', until - 1)).toEqual([]);
    const later = await claim('one', until);
    expect(later.map((d) => `${d.callId}:${d.subscriptionId}`).sort()).toEqual(
      ['E1', 'E2', 'E3'].map((c) => `${c}:${subs.other}`),
    );
    // A leased delivery is not moved.
    expect(await store.outbox.deferDue([subs.other!], until + 60_000, 10, until)).toBe(0);
    await done('one', [...due, ...later], until);
  });

  test("a held endpoint's backlog is pushed ahead with every subscription sharing it, and brought back to now", async () => {
    await store.outbox.ingest([ev('hangup', 'F1'), ev('hangup', 'F2')], now);
    const far = now + 600_000;
    // Pushing the dial-out subscription's endpoint moves the hangup subscription's deliveries
    // (the same URL without its query), not /other's.
    expect(await store.outbox.deferDue([subs.dialOut!], far, 10, now)).toBe(2);
    const other = await claim('one');
    expect(other.map((d) => d.subscriptionId)).toEqual([subs.other, subs.other]);
    // Brought back: due now again; nothing beyond `far` or already due is touched.
    expect(await store.outbox.bringForward([subs.dialOut!], far - 1, 10, now)).toBe(0);
    expect(await store.outbox.bringForward([subs.dialOut!], far, 1, now)).toBe(1);
    expect(await store.outbox.bringForward([subs.dialOut!], far, 10, now)).toBe(1);
    const back = await claim('one');
    expect(back.map((d) => `${d.callId}:${d.subscriptionId}`).sort()).toEqual([
      `F1:${subs.hangup}`,
      `F2:${subs.hangup}`,
    ]);
    await done('one', [...other, ...back]);
  });

  test('subscriptions whose receiver has no free slot here are left for later', async () => {
    await store.outbox.ingest([ev('hangup', 'D')], now);
    const some = await store.outbox.claim('one', now, now + 60_000, 100, [subs.hangup!]);
    expect(some.map((d) => d.subscriptionId)).toEqual([subs.other]);
    const rest = await store.outbox.claim('one', now, now + 60_000, 100, []);
    expect(rest.map((d) => d.subscriptionId)).toEqual([subs.hangup]);
    await done('one', [...some, ...rest]);
  });

  test.each([
    ['queue by queue (a backlog left out)', 64, 0, 'Q'],
    ['in one scan (few left out)', 64, 1000, 'S'],
    ['in one scan (more subscriptions with work than it reads one by one)', 0, 0, 'M'],
  ])(
    'a claim that leaves some out takes the others by due time, with per-call order and its limit: %s',
    async (_, oneByOne, scanned, tag) => {
      store.outbox.queuesReadOneByOne = oneByOne;
      store.outbox.leftOutScanned = scanned;
      store.outbox.scanRowsPerQueueRow = 1;
      try {
        // Due 3 s, 2 s and 1 s ago: G1's hangup at /hook and /other, G2's dial-out at /hook, then
        // G2's hangup at /hook (behind its dial-out there) and at /other.
        await store.outbox.ingest([ev('hangup', `${tag}1`)], now - 3_000);
        await store.outbox.ingest([ev('dial-out', `${tag}2`)], now - 2_000);
        await store.outbox.ingest([ev('hangup', `${tag}2`)], now - 1_000);
        const key = (ds: ClaimedDelivery[]) => ds.map((d) => `${d.callId}:${d.subscriptionId}`);
        const leaving = (limit: number) =>
          store.outbox.claim('one', now, now + 60_000, limit, [subs.hangup!]);
        // The two oldest of the other subscriptions, merged across their queues.
        // The oldest of the other subscriptions first, one at a time across their queues (a
        // claim returns its deliveries by position, so a limit of one shows the due order).
        const first = await leaving(1);
        expect(key(first)).toEqual([`${tag}1:${subs.other}`]);
        const second = await leaving(1);
        expect(key(second)).toEqual([`${tag}2:${subs.dialOut}`]);
        const third = await leaving(10);
        expect(key(third)).toEqual([`${tag}2:${subs.other}`]);
        expect(await leaving(10)).toEqual([]);
        // What was left out is still there: G1's at /hook; G2's waits behind its dial-out.
        const rest = await claim('one');
        expect(key(rest)).toEqual([`${tag}1:${subs.hangup}`]);
        await done('one', [...first, ...second, ...third, ...rest]);
        const last = await claim('one');
        expect(key(last)).toEqual([`${tag}2:${subs.hangup}`]);
        await done('one', last);
      } finally {
        store.outbox.queuesReadOneByOne = 64;
        store.outbox.leftOutScanned = 1000;
        store.outbox.scanRowsPerQueueRow = 10;
      }
    },
  );

  test('with more subscriptions with work than a claim reads one by one, claims read them in turn, never the scan', async () => {
    // One queue per claim: /hook's hangups are left out (a backlog), /other and the dial-outs
    // at /hook have work. The scan would take both in one claim, by due time; here the queues are
    // always the cheaper (no row of a queue is worth a row of the scan).
    store.outbox.queuesReadOneByOne = 1;
    store.outbox.leftOutScanned = 0;
    store.outbox.scanRowsPerQueueRow = 0;
    try {
      await store.outbox.ingest([ev('hangup', 'T1')], now - 3_000);
      await store.outbox.ingest([ev('dial-out', 'T2')], now - 2_000);
      await store.outbox.ingest([ev('hangup', 'T3')], now - 1_000);
      const key = (ds: ClaimedDelivery[]) => ds.map((d) => `${d.callId}:${d.subscriptionId}`);
      const leaving = () => store.outbox.claim('one', now, now + 60_000, 10, [subs.hangup!]);
      const [a, b] = [subs.other!, subs.dialOut!].sort((x, y) => x - y);
      const byQueue: Record<number, string[]> = {
        [subs.other!]: [`T1:${subs.other}`, `T3:${subs.other}`],
        [subs.dialOut!]: [`T2:${subs.dialOut}`],
      };
      // The lower id first, then on from it, then round again (nothing left there).
      const first = await leaving();
      expect(key(first)).toEqual(byQueue[a!]);
      const second = await leaving();
      expect(key(second)).toEqual(byQueue[b!]);
      expect(await leaving()).toEqual([]);
      const rest = await claim('one');
      expect(key(rest).sort()).toEqual([`T1:${subs.hangup}`, `T3:${subs.hangup}`].sort());
      await done('one', [...first, ...second, ...rest]);
    } finally {
      store.outbox.queuesReadOneByOne = 64;
      store.outbox.leftOutScanned = 1000;
      store.outbox.scanRowsPerQueueRow = 10;
    }
  });

  test.runIf(pgAdminUrl)(
    'a claim reading queues skips a delivery another claim holds locked (PostgreSQL)',
    async () => {
      await store.outbox.ingest([ev('hangup', 'L1')], now - 2_000);
      await store.outbox.ingest([ev('hangup', 'L2')], now - 1_000);
      // Another instance's claim, mid-transaction, holds L1's row at /other.
      const other = new pg.Client({ connectionString: database!.url });
      await other.connect();
      try {
        await other.query('begin');
        const held = await other.query(
          "select seq from deliveries where call_id = 'L1' and subscription_id = $1 for update",
          [subs.other],
        );
        expect(held.rowCount).toBe(1);
        store.outbox.leftOutScanned = 0;
        store.outbox.scanRowsPerQueueRow = 1;
        // Two due left out (at /hook), the two at /other read from its queue: L1 is skipped.
        const got = await store.outbox.claim('one', now, now + 60_000, 2, [subs.hangup!]);
        expect(got.map((d) => `${d.callId}:${d.subscriptionId}`)).toEqual([`L2:${subs.other}`]);
        await other.query('rollback');
        const rest = await claim('one');
        expect(rest.map((d) => `${d.callId}:${d.subscriptionId}`).sort()).toEqual(
          [`L1:${subs.hangup}`, `L1:${subs.other}`, `L2:${subs.hangup}`].sort(),
        );
        await done('one', [...got, ...rest]);
      } finally {
        store.outbox.leftOutScanned = 1000;
        store.outbox.scanRowsPerQueueRow = 10;
        await other.end();
      }
    },
  );

  test('intakes of the largest batch (500 calls) to an extension with its most subscriptions (20 endpoints), six at once, are stored', async () => {
    // On PostgreSQL the intake locks each call so two intakes of one call cannot both find it
    // idle. A lock per call and endpoint made 10,000 per intake here, and six at once outgrew
    // PostgreSQL's shared lock table (max_locks_per_transaction 64 × connections by default):
    // "out of shared memory", a 500 for the caller.
    const ext = 176;
    await store.tenants.createExtension({
      id: ext,
      clientId,
      name: '000*176',
      domain: 'd',
      recording: false,
      kind: 'phone',
    });
    const limits = { perExtension: 20, perClient: 100 };
    for (let i = 0; i < 20; i++) {
      await store.subscriptions.create(
        clientId,
        ext,
        { url: `http://93.184.216.${i + 1}/wide`, method: 'POST', eventType: 'hangup' },
        limits,
      );
    }
    const batch = (n: number) =>
      Array.from({ length: 500 }, (_, i) => ({ ...ev('hangup', `W${n}.${i}`), extensionId: ext }));
    // Six such intakes at once, as two instances' pools would send them.
    const wide = database
      ? await openStore({ dataDir: dir, databaseUrl: database.url, poolSize: 6 })
      : undefined;
    try {
      const stored = await Promise.all(
        [0, 1, 2, 3, 4, 5].map((n) => (wide ?? store).outbox.ingest(batch(n), now)),
      );
      expect(stored.map((r) => r.deliveries)).toEqual(Array(6).fill(10_000));
    } finally {
      await wide?.close();
    }
    // Every one is first of its call at its endpoint: due at once, none waiting.
    let claimed = 0;
    for (;;) {
      const got = await store.outbox.claim('one', now, now + 60_000, 1000);
      if (got.length === 0) break;
      claimed += got.length;
      await done('one', got);
    }
    expect(claimed).toBe(60_000);
  });

  test('a claim that leaves out every subscription with work finds nothing, and leases nothing', async () => {
    await store.outbox.ingest([ev('hangup', 'H1')], now);
    const all = [subs.hangup!, subs.other!, subs.dialOut!];
    expect(await store.outbox.claim('one', now, now + 60_000, 100, all)).toEqual([]);
    store.outbox.leftOutScanned = 0;
    store.outbox.scanRowsPerQueueRow = 1;
    try {
      expect(await store.outbox.claim('one', now, now + 60_000, 100, all)).toEqual([]);
    } finally {
      store.outbox.leftOutScanned = 1000;
      store.outbox.scanRowsPerQueueRow = 10;
    }
    const both = await claim('one');
    expect(both.map((d) => d.subscriptionId).sort()).toEqual([subs.hangup, subs.other].sort());
    await done('one', both);
  });
});

describe('the sender: rotation and the literal-address check on every delivery', () => {
  let rx: Receiver;
  beforeAll(async () => {
    rx = await startReceiver();
  });
  afterAll(() => rx.close());

  const delivery = (over: Partial<ClaimedDelivery>): ClaimedDelivery =>
    claimedDelivery(`${rx.url}/hook`, SECRET, over);
  const sender = (allow: string[]) =>
    new Sender({
      targets: new TargetPolicy(allow),
      connectTimeoutMs: 2000,
      timeoutMs: 2000,
      perHostConnections: 4,
    });

  test('the previous secret signs too while its grace period lasts, and not after', async () => {
    const s = sender(['127.0.0.0/8']);
    try {
      const now = Date.now();
      await s.send(delivery({ previousSecret: OLD, previousSecretExpiresAt: now + 1 }), now);
      await s.send(delivery({ previousSecret: OLD, previousSecretExpiresAt: now }), now);
      await s.send(delivery({ previousSecret: null, previousSecretExpiresAt: now + 1000 }), now);
      await s.send(delivery({ previousSecret: OLD, previousSecretExpiresAt: null }), now);
      const sigs = rx.received.slice(-4).map((r) => String(r.headers['webhook-signature']).split(' ').length);
      expect(sigs).toEqual([2, 1, 1, 1]);
      const ts = Math.floor(now / 1000);
      expect(rx.received.at(-1)!.headers['webhook-signature']).toBe(
        sign('msg_test', ts, 'EventType=hangup', [SECRET]),
      );
      expect(rx.received.at(-4)!.headers['webhook-signature']).toBe(
        sign('msg_test', ts, 'EventType=hangup', [SECRET, OLD]),
      );
    } finally {
      await s.close();
    }
  });

  test('the deadline holds while the connection is still being made (a TLS handshake never answered)', async () => {
    // A server that takes the connection and never says a word: the TLS handshake waits for the
    // connect timeout (3 s here), which is longer than the attempt's whole deadline (300 ms).
    const sockets: Socket[] = [];
    const mute = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const { port } = mute.address() as AddressInfo;
    const s = new Sender({
      targets: new TargetPolicy(['127.0.0.1']),
      connectTimeoutMs: 3000,
      timeoutMs: 300,
      perHostConnections: 4,
    });
    try {
      const started = performance.now();
      const r = await s.send(delivery({ url: `https://127.0.0.1:${port}/hook` }));
      expect(r.attempt.outcome).toBe('timeout');
      expect(performance.now() - started).toBeLessThan(1500);
      // Nor does closing the sender (a server's shutdown) wait for that connection's timeout.
      const closing = performance.now();
      await s.close();
      expect(performance.now() - closing).toBeLessThan(1000);
    } finally {
      await s.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => mute.close(resolve));
    }
  });

  test('a literal non-global address in the URL is refused before any connection; form errors are invalid_url', async () => {
    const s = sender([]);
    try {
      const before = rx.received.length;
      const port = new URL(rx.url).port;
      for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]']) {
        const r = await s.send(delivery({ url: `http://${host}:${port}/hook` }));
        expect(r.attempt.outcome, host).toBe('refused_target');
        expect(r.gone).toBe(false);
        expect(r.attempt.error).toMatch(/loopback/);
      }
      expect((await s.send(delivery({ url: `ftp://127.0.0.1:${port}/` }))).attempt.outcome).toBe(
        'invalid_url',
      );
      const invalid = await s.send(delivery({ url: 'not a url' }));
      expect(invalid.attempt.outcome).toBe('invalid_url');
      expect(invalid.gone).toBe(false);
      expect(rx.received.length).toBe(before);
    } finally {
      await s.close();
    }
    // Allowed by the operator: the same literal is sent to.
    const allowed = sender(['127.0.0.1']);
    try {
      const r = await allowed.send(delivery({ url: `${rx.url}/allowed` }));
      expect(r.attempt.outcome).toBe('success');
    } finally {
      await allowed.close();
    }
  });
});

describe('an attempt and its outcome cross to a sending thread and back as flat arrays, unchanged', () => {
  // What the sender gives in-process is what the main thread rebuilds from what crosses: every
  // kind of outcome of a real Sender against a real receiver, each message copied as postMessage
  // copies it (structuredClone).
  let rx: Receiver;
  let closedPort: number;
  beforeAll(async () => {
    rx = await startReceiver((req, res) => {
      if (req.url.startsWith('/busy')) {
        res.writeHead(503, { 'retry-after': '7', 'x-trace': 'a'.repeat(2000) });
        res.end('later');
      } else if (req.url.startsWith('/gone')) {
        res.writeHead(410);
        res.end();
      } else if (req.url.startsWith('/big')) res.end('é'.repeat(5000));
      else res.end('ok');
    });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
  });
  afterAll(() => rx.close());

  test('success, GET with a rotation, 503 with Retry-After, 410, a cut body, refusals and no connection', async () => {
    const now = Date.now();
    const cases: ClaimedDelivery[] = [
      claimedDelivery(`${rx.url}/ok?myid=175`, SECRET),
      claimedDelivery(`${rx.url}/ok`, SECRET, {
        method: 'GET',
        payload: 'CallID=1&Name=Jos%C3%A9',
        previousSecret: OLD,
        previousSecretExpiresAt: now + 60_000,
      }),
      claimedDelivery(`${rx.url}/busy`, SECRET, { payload: null }),
      claimedDelivery(`${rx.url}/gone`, SECRET),
      claimedDelivery(`${rx.url}/big`, SECRET, { migratedSecret: OLD, migratedSecretExpiresAt: now + 1 }),
      claimedDelivery(`http://127.0.0.1:${closedPort}/hook`, SECRET),
      claimedDelivery('not a url', SECRET),
    ];
    const allowed = new Sender({
      targets: new TargetPolicy(['127.0.0.0/8']),
      connectTimeoutMs: 2000,
      timeoutMs: 2000,
      perHostConnections: 4,
    });
    const refusing = new Sender({
      targets: new TargetPolicy([]),
      connectTimeoutMs: 2000,
      timeoutMs: 2000,
      perHostConnections: 4,
    });
    try {
      const outcomes: string[] = [];
      for (const [i, d] of [...cases, cases[0]!].entries()) {
        const sender = i === cases.length ? refusing : allowed;
        // What the thread is given: the job's fields and no others.
        const job = attemptIn(structuredClone(attemptOut(i, d)));
        expect(job).toStrictEqual({
          id: d.id,
          url: d.url,
          method: d.method,
          payload: d.payload,
          secret: d.secret,
          previousSecret: d.previousSecret,
          previousSecretExpiresAt: d.previousSecretExpiresAt,
          migratedSecret: d.migratedSecret,
          migratedSecretExpiresAt: d.migratedSecretExpiresAt,
        });
        const result = await sender.send(job, now);
        const answer = structuredClone(answerOut(i, result));
        expect(answer[0]).toBe(i);
        expect(answerIn(answer, d)).toStrictEqual(result);
        outcomes.push(`${result.attempt.outcome} ${result.attempt.statusCode ?? ''}`.trim());
      }
      // Every kind of outcome was crossed, with a request, a response and a retry among them.
      expect(outcomes).toEqual([
        'success 200',
        'success 200',
        'http_error 503',
        'http_error 410',
        'success 200',
        'connection_error',
        'invalid_url',
        'refused_target',
      ]);
    } finally {
      await allowed.close();
      await refusing.close();
    }
  });
});

describe('reading an answer (its body kept to 4 KiB, read to 64 KiB, settled once whatever undici reports)', () => {
  /** An AnswerReader driven as undici drives it, with a controller that records aborts. */
  function reading() {
    let settled: { answer?: Answer; error?: unknown } | undefined;
    const aborted: Error[] = [];
    const controller = {
      aborted: false,
      paused: false,
      reason: null,
      abort: (reason: Error) => void aborted.push(reason),
      pause: () => {},
      resume: () => {},
    };
    const reader = new AnswerReader(
      (answer) => {
        expect(settled).toBeUndefined();
        settled = { answer };
      },
      (error) => {
        expect(settled).toBeUndefined();
        settled = { error };
      },
    );
    return { reader, controller, aborted, settled: () => settled };
  }

  test('the end: status, headers, the text, and whether it was cut', () => {
    const r = reading();
    r.reader.onRequestStart(r.controller);
    r.reader.onResponseStart(r.controller, 503, { 'retry-after': '5' });
    r.reader.onResponseData(r.controller, Buffer.from('a'.repeat(4000)));
    r.reader.onResponseData(r.controller, Buffer.from(`${'a'.repeat(96)}b`));
    expect(r.settled()).toBeUndefined();
    r.reader.onResponseEnd();
    expect(r.settled()).toEqual({
      answer: { statusCode: 503, headers: { 'retry-after': '5' }, text: 'a'.repeat(4096), truncated: true },
    });
    const empty = reading();
    empty.reader.onRequestStart(empty.controller);
    empty.reader.onResponseStart(empty.controller, 204, {});
    empty.reader.onResponseEnd();
    expect(empty.settled()?.answer).toMatchObject({ statusCode: 204, text: null, truncated: false });
    const full = reading();
    full.reader.onRequestStart(full.controller);
    full.reader.onResponseStart(full.controller, 200, {});
    full.reader.onResponseData(full.controller, Buffer.from('z'.repeat(4096)));
    full.reader.onResponseEnd();
    expect(full.settled()?.answer).toMatchObject({ text: 'z'.repeat(4096), truncated: false });
  });

  test('a multi-byte character cut at 4 KiB becomes U+FFFD, not a stray byte', () => {
    const r = reading();
    r.reader.onRequestStart(r.controller);
    r.reader.onResponseStart(r.controller, 200, {});
    r.reader.onResponseData(r.controller, Buffer.from(`${'a'.repeat(4095)}é`));
    r.reader.onResponseEnd();
    expect(r.settled()?.answer?.text).toBe(`${'a'.repeat(4095)}\uFFFD`);
  });

  test('past 64 KiB it settles with what it kept and aborts the rest', () => {
    const r = reading();
    r.reader.onRequestStart(r.controller);
    r.reader.onResponseStart(r.controller, 200, {});
    for (let i = 0; i < 4; i++) r.reader.onResponseData(r.controller, Buffer.alloc(16 * 1024, 120));
    expect(r.settled()).toBeUndefined();
    expect(r.aborted).toEqual([]);
    r.reader.onResponseData(r.controller, Buffer.alloc(16 * 1024, 120));
    expect(r.settled()?.answer).toMatchObject({ text: 'x'.repeat(4096), truncated: true });
    expect(r.aborted).toHaveLength(1);
    // What undici reports after the abort changes nothing.
    r.reader.onResponseError(r.controller, r.aborted[0]!);
    r.reader.onResponseData(r.controller, Buffer.from('more'));
  });

  test('an error before or during the body rejects with it', () => {
    const r = reading();
    r.reader.onRequestStart(r.controller);
    r.reader.onResponseStart(r.controller, 200, {});
    r.reader.onResponseData(r.controller, Buffer.from('partial'));
    const hangUp = new Error('other side closed');
    r.reader.onResponseError(r.controller, hangUp);
    expect(r.settled()).toEqual({ error: hangUp });
    r.reader.onResponseEnd();
  });

  test('the deadline aborts through the controller, or at the start when it came first', () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    const started = reading();
    started.reader.onRequestStart(started.controller);
    started.reader.abort(timeout);
    expect(started.aborted).toEqual([timeout]);
    // Before undici started it (queued behind the origin's busy connections): it settles at the
    // deadline, and the request is stopped when undici gets to it.
    const early = reading();
    early.reader.abort(timeout);
    expect(early.settled()).toEqual({ error: timeout });
    expect(early.aborted).toEqual([]);
    early.reader.onRequestStart(early.controller);
    expect(early.aborted).toEqual([timeout]);
    early.reader.onResponseError(early.controller, timeout);
    // Once settled, a late deadline does nothing.
    const done = reading();
    done.reader.onRequestStart(done.controller);
    done.reader.onResponseStart(done.controller, 200, {});
    done.reader.onResponseEnd();
    done.reader.abort(timeout);
    expect(done.aborted).toEqual([]);
  });
});
