import { afterEach, beforeEach, expect, test, vi } from 'vitest';
import { HostRamp, ProvenHost, rampShares, SLOW_MS } from '../../src/delivery/ramp.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function ramp(over: Partial<ConstructorParameters<typeof HostRamp>[0]> = {}) {
  const freed: number[] = [];
  const r = new HostRamp({
    cap: 16,
    first: 1,
    unprovenCap: 2,
    stuckCap: 100,
    onFree: () => freed.push(Date.now()),
    ...over,
  });
  return { r, freed };
}

test('a host that has not answered has one attempt at a time; each answer doubles it, up to the cap', () => {
  const { r } = ramp();
  expect(r.allows('a:1', 0)).toBe(true);
  expect(r.allows('a:1', 1)).toBe(false);
  const seen = [r.limitOf('a:1')];
  for (let i = 0; i < 6; i++) {
    r.answered('a:1');
    seen.push(r.limitOf('a:1'));
  }
  expect(seen).toEqual([1, 2, 4, 8, 16, 16, 16]);
  expect(r.allows('a:1', 15)).toBe(true);
  expect(r.allows('a:1', 16)).toBe(false);
});

test('an unreachable attempt takes the host back to one at a time', () => {
  const { r } = ramp();
  for (let i = 0; i < 4; i++) r.answered('a:1');
  expect(r.limitOf('a:1')).toBe(16);
  r.unreachable('a:1');
  expect(r.limitOf('a:1')).toBe(1);
  expect(r.allows('a:1', 1)).toBe(false);
});

test('hosts that have not answered share the unproven cap; a proven host does not count in it', () => {
  const { r } = ramp();
  const a = r.began('a:1');
  const b = r.began('b:1');
  expect(a).not.toBeNull();
  expect(b).not.toBeNull();
  // Two unproven attempts under way: a third host waits, however empty its own share.
  expect(r.allows('c:1', 0)).toBe(false);
  r.answered('p:1');
  const p = r.began('p:1');
  expect(p).toBeInstanceOf(ProvenHost);
  expect(r.allows('p:1', 1)).toBe(true);
  r.ended(p);
  r.ended(a);
  expect(r.allows('c:1', 0)).toBe(true);
  // An attempt counted as unproven leaves the count even if its host answered meanwhile.
  r.answered('b:1');
  r.ended(b);
  const c = r.began('c:1');
  const d = r.began('d:1');
  expect(r.allows('e:1', 0)).toBe(false);
  r.ended(c);
  r.ended(d);
});

test('an unproven attempt without an answer for SLOW_MS stops counting, and frees its slots', () => {
  const { r, freed } = ramp({ cap: 3 });
  const a = r.began('a:1');
  const b = r.began('b:1');
  expect(r.allows('c:1', 0)).toBe(false);
  expect(r.allows('a:1', 1)).toBe(false);
  vi.advanceTimersByTime(SLOW_MS - 1);
  expect(r.stuckCount).toBe(0);
  expect(freed).toHaveLength(0);
  vi.advanceTimersByTime(1);
  expect(r.stuckCount).toBe(2);
  expect(freed).toHaveLength(2);
  // The unproven share is free again, and each hanging host may try more: stuck from the start,
  // up to its cap of 3, stuck or not.
  expect(r.allows('c:1', 0)).toBe(true);
  const more = [r.began('a:1'), r.began('a:1')];
  expect(r.stuckCount).toBe(4);
  expect(r.allows('a:1', 3)).toBe(false);
  expect(r.allows('c:1', 0)).toBe(true);
  for (const x of [a, ...more]) r.ended(x);
  expect(r.stuckCount).toBe(1);
  r.ended(b);
  expect(r.stuckCount).toBe(0);
  // Nothing of it stuck any more: a host that has not answered is back to one at a time.
  expect(r.allows('a:1', 1)).toBe(false);
  // One that answers in time never counts as stuck.
  const c = r.began('c:1');
  vi.advanceTimersByTime(SLOW_MS / 2);
  r.ended(c);
  vi.advanceTimersByTime(SLOW_MS);
  expect(r.stuckCount).toBe(0);
  expect(freed).toHaveLength(2);
});

test('with a cap of 1 in all, a host that never answers leaves it to the others after a second', () => {
  const { r } = ramp({ unprovenCap: 1 });
  const dead = r.began('dead:1');
  expect(r.allows('ok:1', 0)).toBe(false);
  vi.advanceTimersByTime(SLOW_MS);
  // Its next attempts begin stuck: the one slot stays free for the healthy host.
  const again = [r.began('dead:1'), r.began('dead:1')];
  expect(r.stuckCount).toBe(3);
  expect(r.allows('ok:1', 0)).toBe(true);
  for (const x of [dead, ...again]) r.ended(x);
});

test('past stuckCap, an attempt that comes to SLOW_MS counts until a stuck one ends, then stops', () => {
  const { r, freed } = ramp({ unprovenCap: 10, stuckCap: 3 });
  const all = Array.from({ length: 5 }, (_, i) => r.began(`h${i}:1`));
  vi.advanceTimersByTime(SLOW_MS);
  expect(r.stuckCount).toBe(3);
  expect(freed).toHaveLength(3);
  // The other two still count in the unproven share: 2 of 10.
  const others = Array.from({ length: 8 }, (_, i) => r.began(`n${i}:1`));
  expect(r.allows('x:1', 0)).toBe(false);
  for (const a of others) r.ended(a);
  // Past the cap, a host with a stuck attempt begins its next one counted, in the share.
  const h0 = r.began('h0:1');
  expect(h0).toMatchObject({ stuck: false });
  r.ended(h0);
  // One stuck attempt ends: the oldest overdue one (h3) takes its place, however long after.
  vi.advanceTimersByTime(10 * SLOW_MS);
  r.ended(all[0]!);
  expect(r.stuckCount).toBe(3);
  expect(r.allows('x:1', 0)).toBe(true);
  // An overdue one that ended meanwhile is passed over.
  r.ended(all[4]!);
  r.ended(all[1]!);
  expect(r.stuckCount).toBe(2);
  for (const a of [all[2], all[3]]) r.ended(a!);
  expect(r.stuckCount).toBe(0);
});

test('a host that has not answered between two prunes (30 to 60 s) starts over', () => {
  const { r } = ramp();
  for (let i = 0; i < 4; i++) r.answered('a:1');
  r.answered('b:1');
  // Too soon: nothing is forgotten, however often it is called.
  vi.advanceTimersByTime(29_999);
  r.prune();
  expect(r.limitOf('a:1')).toBe(16);
  vi.advanceTimersByTime(1);
  r.prune();
  // Both answered before this prune: kept, and now they must answer again before the next.
  expect([r.limitOf('a:1'), r.limitOf('b:1')]).toEqual([16, 2]);
  r.answered('b:1');
  vi.advanceTimersByTime(30_000);
  r.prune();
  expect(r.limitOf('a:1')).toBe(1);
  expect(r.limitOf('b:1')).toBe(4);
});

test("the shares: half the slots in all for hosts that have not answered (one host's first at least), 16 times them stuck", () => {
  expect(rampShares(64, 1)).toEqual({ unprovenCap: 32, stuckCap: 1024 });
  expect(rampShares(512, 8)).toEqual({ unprovenCap: 256, stuckCap: 8192 });
  expect(rampShares(1, 1)).toEqual({ unprovenCap: 1, stuckCap: 16 });
  expect(rampShares(8, 8)).toEqual({ unprovenCap: 8, stuckCap: 128 });
});

/** A host proven to its cap of 16, and `n` of its attempts under way. */
function provenWith(r: HostRamp, host: string, n: number) {
  for (let i = 0; i < 4; i++) r.answered(host);
  return Array.from({ length: n }, () => r.began(host));
}

test('a proven host with attempts under way and no answer for SLOW_MS is unproven, and they stop counting', () => {
  const { r, freed } = ramp();
  const held = provenWith(r, 'h:1', 16);
  expect(r.stuckCount).toBe(0);
  vi.advanceTimersByTime(SLOW_MS - 1);
  expect(r.stuckCount).toBe(0);
  expect(r.limitOf('h:1')).toBe(16);
  // Seen by a sweep at most a quarter of a second past SLOW_MS.
  vi.advanceTimersByTime(251);
  expect(r.stuckCount).toBe(16);
  expect(freed).toHaveLength(1);
  expect(r.limitOf('h:1')).toBe(1);
  // It holds its cap of sockets, no more, and none of the unproven share.
  expect(r.allows('h:1', 16)).toBe(false);
  expect(r.allows('ok:1', 0)).toBe(true);
  for (const a of held.slice(0, 10)) r.ended(a);
  expect(r.stuckCount).toBe(6);
  // With attempts of it still stuck, its next ones begin stuck (up to its cap).
  const next = r.began('h:1');
  expect(next).toMatchObject({ stuck: true });
  expect(r.stuckCount).toBe(7);
  for (const a of [...held.slice(10), next]) r.ended(a);
  expect(r.stuckCount).toBe(0);
  // Nothing under way: the sweep's timer is gone.
  vi.advanceTimersByTime(1000);
  expect(vi.getTimerCount()).toBe(0);
});

test('a proven host that keeps answering, however slowly each request is, stays proven', () => {
  const { r } = ramp();
  const under = provenWith(r, 's:1', 16);
  // Every 900 ms one of its 16 requests is answered and another begins: each takes 14 s.
  for (let i = 0; i < 30; i++) {
    vi.advanceTimersByTime(900);
    r.answered('s:1');
    r.ended(under.shift()!);
    under.push(r.began('s:1'));
  }
  expect(r.stuckCount).toBe(0);
  expect(r.limitOf('s:1')).toBe(16);
  // An idle spell does not count against it: a new attempt after a minute of nothing is fresh.
  for (const a of under) r.ended(a);
  vi.advanceTimersByTime(60_000);
  r.answered('s:1');
  const late = r.began('s:1');
  vi.advanceTimersByTime(SLOW_MS / 2);
  expect(r.stuckCount).toBe(0);
  r.ended(late);
});

test('a hung host that answers again is proven anew; its hung attempts still leave the stuck count as they end', () => {
  const { r } = ramp();
  const held = provenWith(r, 'h:1', 4);
  vi.advanceTimersByTime(SLOW_MS + 250);
  expect(r.stuckCount).toBe(4);
  // One of them is answered at last: proven from the start (two at a time), not at its old cap.
  r.answered('h:1');
  r.ended(held.shift()!);
  expect(r.stuckCount).toBe(3);
  expect(r.limitOf('h:1')).toBe(2);
  const fresh = r.began('h:1');
  expect(fresh).toBeInstanceOf(ProvenHost);
  expect(fresh).not.toBe(held[0]);
  // The fresh attempt ends first: it was never stuck, and the count says so.
  r.answered('h:1');
  r.ended(fresh);
  expect(r.stuckCount).toBe(3);
  for (const a of held) r.ended(a);
  expect(r.stuckCount).toBe(0);
});

test("a hung host's attempts past stuckCap go on counting until they end", () => {
  const { r, freed } = ramp({ stuckCap: 3 });
  const held = provenWith(r, 'h:1', 5);
  vi.advanceTimersByTime(SLOW_MS + 250);
  expect(r.stuckCount).toBe(3);
  expect(freed).toHaveLength(1);
  for (const a of held) r.ended(a);
  expect(r.stuckCount).toBe(0);
});

test('a proven host idle for a while starts its clock at its next attempt, even while the sweep runs for others', () => {
  const { r } = ramp();
  provenWith(r, 'idle:1', 0);
  // Another host keeps the sweep going: it has a request under way and answers twice a second.
  const busy = provenWith(r, 'busy:1', 1);
  for (let i = 0; i < 6; i++) {
    vi.advanceTimersByTime(500);
    r.answered('busy:1');
  }
  const a = r.began('idle:1');
  vi.advanceTimersByTime(SLOW_MS / 2);
  r.answered('busy:1');
  vi.advanceTimersByTime(SLOW_MS / 2 - 1);
  expect(r.stuckCount).toBe(0);
  r.answered('busy:1');
  // Its own second without an answer, seen by the next sweep: it alone is stuck.
  vi.advanceTimersByTime(251);
  expect(r.stuckCount).toBe(1);
  r.ended(a);
  r.ended(busy[0]!);
  expect(r.stuckCount).toBe(0);
});

test('attempts of a proven host that is forgotten meanwhile (unreachable, pruned) are still watched', () => {
  const { r } = ramp();
  // It refuses a new connection while its 15 other requests hang: forgotten, they still stop counting.
  const held = provenWith(r, 'h:1', 16);
  vi.advanceTimersByTime(300);
  r.unreachable('h:1');
  r.ended(held.pop()!);
  vi.advanceTimersByTime(SLOW_MS);
  expect(r.stuckCount).toBe(15);
  for (const a of held) r.ended(a);
  expect(r.stuckCount).toBe(0);

  // Forgotten by a prune half a second after it began 16 requests (it last answered 60 s ago).
  const { r: r2 } = ramp();
  r2.answered('p:1');
  vi.advanceTimersByTime(30_000);
  r2.prune();
  vi.advanceTimersByTime(29_500);
  const pruned = Array.from({ length: 16 }, () => r2.began('p:1'));
  vi.advanceTimersByTime(500);
  r2.prune();
  expect(r2.limitOf('p:1')).toBe(1);
  expect(r2.stuckCount).toBe(0);
  vi.advanceTimersByTime(SLOW_MS);
  expect(r2.stuckCount).toBe(16);
  for (const a of pruned) r2.ended(a);
  expect(r2.stuckCount).toBe(0);
});

test('a forgotten entry whose attempts are still being answered is not made stuck', () => {
  const { r } = ramp();
  const under = provenWith(r, 'h:1', 8);
  r.unreachable('h:1');
  for (let i = 0; i < 6; i++) {
    vi.advanceTimersByTime(500);
    r.answered('h:1');
    r.ended(under.pop()!);
  }
  expect(r.stuckCount).toBe(0);
  for (const a of under) r.ended(a);
  vi.advanceTimersByTime(2000);
  expect(vi.getTimerCount()).toBe(0);
});
