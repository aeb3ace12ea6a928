import { type IntakeEvent, type SimulationRequest, webhookPayloadSchemas } from '@callhook/contract';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { randomRequest, runLoad } from '../src/simulator/load.js';
import { planScenario, ScenarioError } from '../src/simulator/scenarios.js';
import { Simulator } from '../src/simulator/simulator.js';
import { checkPlan, directory, extensions, seeded } from './world.js';

describe('randomRequest', () => {
  test('picks scenarios each extension kind allows; every one plays and passes the contract', () => {
    const random = seeded(11);
    const seen = new Set<string>();
    for (let i = 0; i < 600; i++) {
      const ext = extensions[i % extensions.length]!;
      const req = randomRequest(ext, extensions, random, 100);
      seen.add(req.scenario);
      if (ext.kind !== 'phone') expect(req.scenario).toBe(ext.kind);
      const plan = planScenario(req, directory, { startUs: 1_700_000_000_000_000, random });
      checkPlan(plan, 1_700_000_000_000_000);
    }
    expect([...seen].sort()).toEqual(
      ['forward', 'incoming', 'ivr', 'message-in', 'message-out', 'outgoing', 'queue', 'voicemail'].sort(),
    );
  });
});

describe('runLoad', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function simulator() {
    const fed: IntakeEvent[] = [];
    const sim = new Simulator({
      directory,
      now: () => Date.now() * 1000,
      random: seeded(5),
      sink: async (events) => {
        fed.push(...events);
      },
    });
    return { sim, fed };
  }

  test('a bounded count at a rate: evenly spaced starts, then waits for the calls to end', async () => {
    const { sim, fed } = simulator();
    const starts: number[] = [];
    const run = sim.run.bind(sim);
    sim.run = (req) => {
      starts.push(Date.now());
      return run(req);
    };
    const done = runLoad({ simulator: sim, extensions, rate: 50, count: 100, speed: 100, random: seeded(9) });
    await vi.advanceTimersByTimeAsync(5_000);
    const result = await done;
    expect(result.started + result.refused).toBe(100);
    expect(result.refused).toBe(0);
    expect(starts).toEqual(Array.from({ length: 100 }, (_, i) => i * 20));
    expect(result.events).toBe(fed.length);
    expect(Object.values(result.byScenario).reduce((a, b) => a + b, 0)).toBe(100);
    for (const e of fed) webhookPayloadSchemas[e.event_type].parse(e.data);
  });

  test('a bounded duration', async () => {
    const { sim } = simulator();
    const done = runLoad({
      simulator: sim,
      extensions,
      rate: 10,
      durationMs: 1000,
      speed: 1000,
      random: seeded(1),
    });
    await vi.advanceTimersByTimeAsync(2_000);
    expect((await done).started).toBe(10);
  });

  test('a duration bounds the starts at rate × duration, even when timers fire early', async () => {
    const { sim } = simulator();
    // Timers that fire 2 ms before their time, as a loaded machine's sometimes do: the start due
    // at the very end of the duration would otherwise slip in as one too many.
    const early = (fn: () => void, ms: number) => {
      const t = setTimeout(fn, Math.max(0, ms - 2));
      return () => clearTimeout(t);
    };
    const done = runLoad({
      simulator: sim,
      extensions,
      rate: 20,
      durationMs: 500,
      speed: 1000,
      random: seeded(1),
      setTimer: early,
    });
    await vi.advanceTimersByTimeAsync(2_000);
    expect((await done).started).toBe(10);
  });

  test('an abort signal stops starting calls', async () => {
    const { sim } = simulator();
    const ac = new AbortController();
    const done = runLoad({
      simulator: sim,
      extensions,
      rate: 10,
      count: 1000,
      speed: 1000,
      signal: ac.signal,
    });
    await vi.advanceTimersByTimeAsync(250);
    ac.abort();
    await vi.advanceTimersByTimeAsync(100);
    expect((await done).started).toBe(3);
  });

  test('an asynchronous target (a server over HTTP): starts stay on time, answers are counted as they come', async () => {
    const starts: number[] = [];
    const target = {
      run: (req: SimulationRequest) => {
        starts.push(Date.now());
        // The server takes longer to answer than the interval between starts.
        return new Promise<{ call_id: string; events: number }>((resolve, reject) =>
          setTimeout(() => {
            if (req.scenario === 'ivr') reject(new ScenarioError(400, 'refused by the server'));
            else resolve({ call_id: 'x', events: 2 });
          }, 250),
        );
      },
      idle: async () => {},
    };
    const seen: Array<string> = [];
    const done = runLoad({
      simulator: target,
      extensions,
      rate: 20,
      count: 40,
      random: seeded(4),
      onCall: (req, res) =>
        seen.push(res instanceof ScenarioError ? `refused ${req.scenario}` : req.scenario),
    });
    await vi.advanceTimersByTimeAsync(3_000);
    const result = await done;
    expect(starts).toEqual(Array.from({ length: 40 }, (_, i) => i * 50));
    expect(result.started + result.refused).toBe(40);
    expect(result.refused).toBe(seen.filter((x) => x === 'refused ivr').length);
    expect(result.refused).toBeGreaterThan(0);
    expect(result.events).toBe(2 * result.started);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(39 * 50 + 250);
  });

  test('a stopped simulator (503) or a failing server ends the run with its error', async () => {
    const { sim } = simulator();
    sim.stop();
    await expect(runLoad({ simulator: sim, extensions, rate: 10, count: 5 })).rejects.toMatchObject({
      status: 503,
    });
    let calls = 0;
    const failing = {
      run: () => {
        calls++;
        return Promise.reject(new Error('POST /pbx/simulate/ answered 500'));
      },
      idle: async () => {},
    };
    const done = runLoad({ simulator: failing, extensions, rate: 100, count: 50 });
    const settled = expect(done).rejects.toThrow(/answered 500/);
    await vi.advanceTimersByTimeAsync(1_000);
    await settled;
    expect(calls).toBeLessThan(5);
  });

  test('needs a bound and a rate', async () => {
    const { sim } = simulator();
    await expect(runLoad({ simulator: sim, extensions, rate: 10 })).rejects.toThrow(/count or durationMs/);
    await expect(runLoad({ simulator: sim, extensions, rate: 0, count: 1 })).rejects.toThrow(/rate/);
  });
});
