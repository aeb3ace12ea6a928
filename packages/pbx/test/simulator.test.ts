import type { IntakeEvent } from '@callhook/contract';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { PAGE_RING_US, PAGE_TALK_US, ScenarioError } from '../src/simulator/scenarios.js';
import { type EventSink, type SetTimer, Simulator, systemClockUs } from '../src/simulator/simulator.js';
import { dataOf, directory, seeded } from './world.js';

/** Every batch the sink got, with the fake time it got it at. */
function recordingSink() {
  const batches: Array<{ atMs: number; events: IntakeEvent[] }> = [];
  const sink: EventSink = async (events) => {
    batches.push({ atMs: Date.now(), events });
  };
  const types = () => batches.flatMap((b) => b.events.map((e) => e.event_type));
  return { batches, sink, types };
}

const fakeNow = () => Date.now() * 1000;

describe('Simulator with fake timers', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2017-07-06T14:04:00.250Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test("plays the page's call in real time: dial-out now, answer after 1841 ms, hangup 4240 ms later", async () => {
    const rec = recordingSink();
    const sim = new Simulator({ directory, sink: rec.sink, now: fakeNow, random: seeded() });
    const t0 = Date.now();
    const result = sim.run({ scenario: 'outgoing', extension_id: 175, number: '00010005' });
    expect(result).toEqual({
      call_id: expect.stringMatching(/^[0-9a-f]{32}$/),
      call_api_id: expect.any(String),
      events: 3,
    });
    // The answer comes first; the first event follows right after.
    expect(rec.batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(0);
    expect(rec.types()).toEqual(['dial-out']);
    await vi.advanceTimersByTimeAsync(1840);
    expect(rec.types()).toEqual(['dial-out']);
    await vi.advanceTimersByTimeAsync(1);
    expect(rec.types()).toEqual(['dial-out', 'answer']);
    await vi.advanceTimersByTimeAsync(4239);
    expect(rec.types()).toEqual(['dial-out', 'answer']);
    await vi.advanceTimersByTimeAsync(1);
    expect(rec.types()).toEqual(['dial-out', 'answer', 'hangup']);
    // 1 840 985 µs and 6 080 885 µs, on a millisecond timer.
    expect(rec.batches.map((b) => b.atMs - t0)).toEqual([0, 1841, 6081]);
    // EventTime is the clock at the start plus the plan's offsets: the page's µs figures.
    const times = rec.batches.map((b) => dataOf(b.events[0]!).EventTime - t0 * 1000);
    expect(times).toEqual([0, PAGE_RING_US, PAGE_RING_US + PAGE_TALK_US]);
    expect(dataOf(rec.batches[2]!.events[0]!).CallID).toBe(result.call_id);
    await sim.idle();
  });

  test('speed scales the playing time and the event times', async () => {
    const rec = recordingSink();
    const sim = new Simulator({ directory, sink: rec.sink, now: fakeNow, random: seeded() });
    const t0 = Date.now();
    sim.run({ scenario: 'outgoing', extension_id: 175, number: '00010005', speed: 100 });
    await vi.advanceTimersByTimeAsync(18);
    expect(rec.types()).toEqual(['dial-out']);
    await vi.advanceTimersByTimeAsync(1);
    expect(rec.types()).toEqual(['dial-out', 'answer']);
    await vi.advanceTimersByTimeAsync(43);
    expect(rec.types()).toEqual(['dial-out', 'answer', 'hangup']);
    const last = dataOf(rec.batches[2]!.events[0]!);
    expect(last.EventTime - t0 * 1000).toBe(Math.round(PAGE_RING_US / 100) + Math.round(PAGE_TALK_US / 100));
    expect(last.Duration).toBe(Math.round(PAGE_TALK_US / 100));
  });

  test('a slow intake: one batch at a time per call, in order; what fell due meanwhile goes together', async () => {
    const fed: IntakeEvent[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const sink: EventSink = async (events) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      fed.push(events);
      // The first batch takes 10 s to store: answer and hangup fall due meanwhile.
      await new Promise((r) => setTimeout(r, fed.length === 1 ? 10_000 : 1));
      inFlight--;
    };
    const sim = new Simulator({ directory, sink, now: fakeNow, random: seeded() });
    sim.run({ scenario: 'outgoing', extension_id: 175, number: '00010005' });
    await vi.advanceTimersByTimeAsync(20_000);
    await sim.idle();
    expect(maxInFlight).toBe(1);
    expect(fed.map((b) => b.map((e) => e.event_type))).toEqual([['dial-out'], ['answer', 'hangup']]);
  });

  test('calls run side by side, each in its own order', async () => {
    const rec = recordingSink();
    const sim = new Simulator({ directory, sink: rec.sink, now: fakeNow, random: seeded() });
    const a = sim.run({ scenario: 'outgoing', extension_id: 175, number: '1', ring_ms: 1000, talk_ms: 1000 });
    await vi.advanceTimersByTimeAsync(500);
    const b = sim.run({ scenario: 'outgoing', extension_id: 200, number: '2', ring_ms: 1000, talk_ms: 1000 });
    await vi.advanceTimersByTimeAsync(3000);
    await sim.idle();
    const order = rec.batches.flatMap((x) =>
      x.events.map((e) => `${dataOf(e).CallID === a.call_id ? 'a' : 'b'}:${e.event_type}`),
    );
    expect(order).toEqual(['a:dial-out', 'b:dial-out', 'a:answer', 'b:answer', 'a:hangup', 'b:hangup']);
    expect(b.call_id).not.toBe(a.call_id);
  });

  test('idle() waits for every call under way, also ones started while waiting', async () => {
    const rec = recordingSink();
    const sim = new Simulator({ directory, sink: rec.sink, now: fakeNow, random: seeded() });
    sim.run({ scenario: 'outgoing', extension_id: 175, number: '1', ring_ms: 100, talk_ms: 100 });
    let idle = false;
    const waiting = sim.idle().then(() => {
      idle = true;
    });
    await vi.advanceTimersByTimeAsync(150);
    sim.run({ scenario: 'queue', extension_id: 400, ring_ms: 100, talk_ms: 100 });
    await vi.advanceTimersByTimeAsync(100);
    expect(idle).toBe(false);
    await vi.advanceTimersByTimeAsync(1000);
    await waiting;
    expect(rec.types()).toHaveLength(3 + 5);
  });

  test('stop() drops the rest of the calls under way and refuses new ones', async () => {
    const rec = recordingSink();
    const sim = new Simulator({ directory, sink: rec.sink, now: fakeNow, random: seeded() });
    sim.run({ scenario: 'outgoing', extension_id: 175, number: '1' });
    await vi.advanceTimersByTimeAsync(1000);
    sim.stop();
    await sim.idle();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(rec.types()).toEqual(['dial-out']);
    expect(() => sim.run({ scenario: 'outgoing', extension_id: 175, number: '1' })).toThrow(/stopped/);
    expect(vi.getTimerCount()).toBe(0);
  });

  test('finish() plays the rest of the calls under way at once, in order, and refuses new ones', async () => {
    const rec = recordingSink();
    const sim = new Simulator({ directory, sink: rec.sink, now: fakeNow, random: seeded() });
    const promised = [
      sim.run({ scenario: 'outgoing', extension_id: 175, number: '1' }),
      sim.run({ scenario: 'queue', extension_id: 400, ring_ms: 600_000, talk_ms: 3_600_000 }),
    ].reduce((n, r) => n + r.events, 0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(rec.types().length).toBeLessThan(promised);
    const t = Date.now();
    await sim.finish();
    // No time passed: nothing waited for its timer.
    expect(Date.now()).toBe(t);
    expect(rec.types()).toHaveLength(promised);
    const outgoing = rec.batches.flatMap((b) => b.events).filter((e) => e.extension_id === 175);
    expect(outgoing.map((e) => e.event_type)).toEqual(['dial-out', 'answer', 'hangup']);
    // Each call's events in the order of their times.
    const byCall = new Map<string, number[]>();
    for (const d of rec.batches.flatMap((b) => b.events).map(dataOf)) {
      byCall.set(d.CallID, [...(byCall.get(d.CallID) ?? []), d.EventTime]);
    }
    expect(byCall.size).toBe(2);
    for (const times of byCall.values()) expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(() => sim.run({ scenario: 'outgoing', extension_id: 175, number: '1' })).toThrow(/stopped/);
    expect(vi.getTimerCount()).toBe(0);
  });

  test('an intake failure is reported and ends that call', async () => {
    const errors: Array<{ err: unknown; callId: string }> = [];
    const fed: string[] = [];
    const sim = new Simulator({
      directory,
      random: seeded(),
      now: fakeNow,
      sink: async (events) => {
        if (events[0]?.event_type === 'answer') throw new Error('store down');
        fed.push(...events.map((e) => e.event_type));
      },
      onError: (err, call) => errors.push({ err, callId: call.callId }),
    });
    const { call_id } = sim.run({ scenario: 'outgoing', extension_id: 175, number: '1' });
    await vi.advanceTimersByTimeAsync(10_000);
    await sim.idle();
    expect(fed).toEqual(['dial-out']);
    expect(errors).toEqual([{ err: new Error('store down'), callId: call_id }]);
  });

  test('callback(): answers with the ids, plays with the configured timing, CallBackID on every event', async () => {
    const rec = recordingSink();
    const sim = new Simulator({
      directory,
      sink: rec.sink,
      now: fakeNow,
      random: seeded(),
      callbackTiming: { speed: 1000 },
    });
    const res = sim.callback(200, { dst_num: '+79817654321', src_num: ['200'], tag: 'x' });
    expect(
      res.call_api_id.endsWith(res.call_id.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5')),
    ).toBe(true);
    await vi.advanceTimersByTimeAsync(10);
    await sim.idle();
    expect(rec.types()).toEqual(['dial-out', 'answer', 'hangup']);
    const data = rec.batches.flatMap((b) => b.events.map(dataOf));
    expect(new Set(data.map((d) => d.CallBackID)).size).toBe(1);
    expect(
      data.every((d) => d.Tag === 'x' && d.CallID === res.call_id && d.CallAPIID === res.call_api_id),
    ).toBe(true);
  });

  test('a scenario that cannot be played throws at once and schedules nothing', () => {
    const rec = recordingSink();
    const sim = new Simulator({ directory, sink: rec.sink, now: fakeNow });
    expect(() => sim.run({ scenario: 'outgoing', extension_id: 175 })).toThrow(ScenarioError);
    expect(() => sim.callback(9999, { dst_num: '1', src_num: ['1'] })).toThrow(ScenarioError);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('Simulator with an injected clock and timer', () => {
  test('asks for the waits the plan needs, in ms, and feeds events when the clock says so', async () => {
    let nowUs = 5_000_000;
    const timers: Array<{ fn: () => void; ms: number }> = [];
    const setTimer: SetTimer = (fn, ms) => {
      const t = { fn, ms };
      timers.push(t);
      return () => timers.splice(timers.indexOf(t), 1);
    };
    const fed: string[] = [];
    const sim = new Simulator({
      directory,
      now: () => nowUs,
      setTimer,
      random: seeded(),
      sink: async (events) => {
        fed.push(...events.map((e) => `${e.event_type}@${dataOf(e).EventTime}`));
      },
    });
    sim.run({ scenario: 'outgoing', extension_id: 175, number: '1', ring_ms: 1500, talk_ms: 2000, speed: 2 });
    const fire = async () => {
      await vi.waitFor(() => expect(timers).toHaveLength(1));
      const t = timers.shift()!;
      nowUs += t.ms * 1000;
      t.fn();
      return t.ms;
    };
    expect(await fire()).toBe(750);
    expect(await fire()).toBe(1000);
    await sim.idle();
    expect(fed).toEqual(['dial-out@5000000', 'answer@5750000', 'hangup@6750000']);
  });
});

describe('Simulator on the real clock', () => {
  test('a fast call finishes in real time, with µs EventTimes near now', async () => {
    const fed: IntakeEvent[] = [];
    const sim = new Simulator({
      directory,
      sink: async (events) => {
        fed.push(...events);
      },
    });
    const before = Date.now() * 1000;
    sim.run({ scenario: 'queue', extension_id: 400, answered_by: 203, speed: 1000 });
    await sim.idle();
    expect(fed.map((e) => e.event_type)).toHaveLength(9);
    const times = fed.map((e) => dataOf(e).EventTime);
    expect(times[0]).toBeGreaterThanOrEqual(before - 1000);
    expect(times.at(-1)! - times[0]!).toBeLessThan(100_000);
    expect(Date.now() * 1000).toBeGreaterThanOrEqual(times.at(-1)! - 1000);
  });
});

describe('systemClockUs', () => {
  test('is the wall clock in µs, with sub-millisecond digits', () => {
    const samples = Array.from({ length: 50 }, () => systemClockUs());
    for (const s of samples) expect(Math.abs(s - Date.now() * 1000)).toBeLessThan(1_000_000);
    expect(samples.some((s) => s % 1000 !== 0)).toBe(true);
  });
});
