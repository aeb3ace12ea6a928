import { type SimulationRequest, type SimulationResult, seededRandom } from '@callhook/contract';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { CallhookApiError } from '../src/errors.js';
import { type LoadExtension, type LoadTarget, randomRequest, runLoad } from '../src/load.js';

// The demo's extensions as `GET /client/@me/extension/` lists them.
const extensions: LoadExtension[] = [
  { id: 175, name: '000*099', kind: 'phone' },
  { id: 200, name: '000*200', kind: 'phone' },
  { id: 300, name: '000*300', kind: 'ivr' },
  { id: 400, name: '000*400', kind: 'queue', agents: [200, 201] },
];

const apiError = (status: number, message: string, code?: string) =>
  new CallhookApiError({
    status,
    body: { message, ...(code ? { code } : {}) },
    method: 'POST',
    url: 'http://127.0.0.1/api/ver1.0/pbx/simulate/',
  });

/** A server that starts every call at once (or as `answer` says), recording when each came. */
function server(
  answer: (req: SimulationRequest) => Promise<SimulationResult> = async () => ({
    call_id: 'c',
    events: 3,
  }),
) {
  const starts: number[] = [];
  const requests: SimulationRequest[] = [];
  const target: LoadTarget = {
    simulate(req) {
      starts.push(Date.now());
      requests.push(req);
      return answer(req);
    },
  };
  return { target, starts, requests };
}

describe('randomRequest', () => {
  test('each extension kind gets only its scenarios; queues are answered by one of their agents', () => {
    const random = seededRandom(11);
    const seen = new Set<string>();
    for (let i = 0; i < 800; i++) {
      const ext = extensions[i % extensions.length]!;
      const req = randomRequest(ext, extensions, random, 100);
      seen.add(req.scenario);
      expect(req.extension_id).toBe(ext.id);
      expect(req.speed).toBe(100);
      if (ext.kind !== 'phone') expect(req.scenario).toBe(ext.kind);
      if (req.answered_by !== undefined) expect(ext.agents).toContain(req.answered_by);
      if (req.scenario === 'forward') expect(req.forward_to).toMatch(/^\+7\d{10}$/);
      if (req.scenario === 'outgoing' && !req.number?.startsWith('+')) {
        // An internal call goes to another phone of the client, by its name.
        expect(extensions.filter((e) => e.kind === 'phone' && e.id !== ext.id).map((e) => e.name)).toContain(
          req.number,
        );
      }
    }
    expect([...seen].sort()).toEqual(
      ['forward', 'incoming', 'ivr', 'message-in', 'message-out', 'outgoing', 'queue', 'voicemail'].sort(),
    );
  });

  test('a seed gives the same calls again', () => {
    const a = Array.from({ length: 20 }, (_, i) =>
      randomRequest(extensions[i % 4]!, extensions, seededRandom(3)),
    );
    const b = Array.from({ length: 20 }, (_, i) =>
      randomRequest(extensions[i % 4]!, extensions, seededRandom(3)),
    );
    expect(a).toEqual(b);
  });
});

describe('runLoad', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test('a bounded count at a rate: evenly spaced starts; every answer counted', async () => {
    const { target, starts, requests } = server();
    const done = runLoad({ target, extensions, rate: 50, count: 100, speed: 100, random: seededRandom(9) });
    await vi.advanceTimersByTimeAsync(5_000);
    const result = await done;
    expect(result.started).toBe(100);
    expect(result.refused).toBe(0);
    expect(starts).toEqual(Array.from({ length: 100 }, (_, i) => i * 20));
    expect(result.events).toBe(300);
    expect(Object.values(result.byScenario).reduce((a, b) => a + b, 0)).toBe(100);
    const outcomes = requests.filter((r) => r.outcome !== undefined).length;
    expect(Object.values(result.byOutcome).reduce((a, b) => a + b, 0)).toBe(outcomes);
  });

  test('a bounded duration', async () => {
    const { target } = server();
    const done = runLoad({ target, extensions, rate: 10, durationMs: 1000, random: seededRandom(1) });
    await vi.advanceTimersByTimeAsync(2_000);
    expect((await done).started).toBe(10);
  });

  test('a duration bounds the starts at rate × duration, even when timers fire early', async () => {
    const { target } = server();
    // Timers that fire 2 ms before their time, as a loaded machine's sometimes do: the start due
    // at the very end of the duration would otherwise slip in as one too many.
    const early = (fn: () => void, ms: number) => {
      const t = setTimeout(fn, Math.max(0, ms - 2));
      return () => clearTimeout(t);
    };
    const done = runLoad({ target, extensions, rate: 20, durationMs: 500, setTimer: early });
    await vi.advanceTimersByTimeAsync(2_000);
    expect((await done).started).toBe(10);
  });

  test('an abort signal stops starting calls', async () => {
    const { target } = server();
    const ac = new AbortController();
    const done = runLoad({ target, extensions, rate: 10, count: 1000, signal: ac.signal });
    await vi.advanceTimersByTimeAsync(250);
    ac.abort();
    await vi.advanceTimersByTimeAsync(100);
    expect((await done).started).toBe(3);
  });

  test('a slow server: starts stay on time; refusals (400, a 404 for a removed extension) are counted and the run goes on', async () => {
    const { target, starts } = server(
      (req) =>
        new Promise((resolve, reject) =>
          // The server takes longer to answer than the interval between starts.
          setTimeout(() => {
            if (req.scenario === 'ivr') reject(apiError(400, 'refused by the server'));
            else if (req.scenario === 'queue') reject(apiError(404, 'Record not found'));
            else resolve({ call_id: 'x', events: 2 });
          }, 250),
        ),
    );
    const seen: string[] = [];
    const done = runLoad({
      target,
      extensions,
      rate: 20,
      count: 40,
      random: seededRandom(4),
      onCall: (req, res) =>
        seen.push(res instanceof CallhookApiError ? `refused ${res.status}` : req.scenario),
    });
    await vi.advanceTimersByTimeAsync(3_000);
    const result = await done;
    expect(starts).toEqual(Array.from({ length: 40 }, (_, i) => i * 50));
    expect(result.started + result.refused).toBe(40);
    expect(seen.filter((x) => x === 'refused 400').length).toBeGreaterThan(0);
    expect(seen.filter((x) => x === 'refused 404').length).toBeGreaterThan(0);
    expect(result.refused).toBe(seen.filter((x) => x.startsWith('refused')).length);
    expect(result.events).toBe(2 * result.started);
    expect(result.elapsedMs).toBeGreaterThanOrEqual(39 * 50 + 250);
  });

  test('the simulator off (404 no_simulator), an overloaded or failing server end the run with its error', async () => {
    for (const err of [
      apiError(404, 'The simulator is off', 'no_simulator'),
      apiError(503, 'Store unavailable'),
      new Error('fetch failed'),
    ]) {
      const { target, starts } = server(() => Promise.reject(err));
      const done = runLoad({ target, extensions, rate: 100, count: 50 });
      const settled = expect(done).rejects.toBe(err);
      await vi.advanceTimersByTimeAsync(1_000);
      await settled;
      expect(starts.length).toBeLessThan(5);
    }
  });

  test('a target that throws at once ends the run too', async () => {
    const target: LoadTarget = {
      simulate() {
        throw new Error('not signed in');
      },
    };
    const settled = expect(runLoad({ target, extensions, rate: 10, count: 3 })).rejects.toThrow(
      'not signed in',
    );
    await vi.advanceTimersByTimeAsync(1_000);
    await settled;
  });

  test('needs a bound, a rate and an extension', async () => {
    const { target } = server();
    await expect(runLoad({ target, extensions, rate: 10 })).rejects.toThrow(/count or durationMs/);
    await expect(runLoad({ target, extensions, rate: 0, count: 1 })).rejects.toThrow(/rate/);
    await expect(runLoad({ target, extensions: [], rate: 1, count: 1 })).rejects.toThrow(/extension/);
  });
});
