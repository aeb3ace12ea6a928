// A random mix of calls at a rate, for demos and load: each call one `POST /pbx/simulate/` on a
// server whose simulated PBX plays it. What `callhook simulate --mix` runs; usable from a script.
import {
  cryptoRandom,
  type ExtensionSummary,
  type HangupStatus,
  hangupStatuses,
  type Random,
  type SimulationRequest,
  type SimulationResult,
  type SimulationScenario,
} from '@callhook/contract';
import { CallhookApiError } from './errors.js';

/** An extension calls are made for, as `GET /client/{client_id}/extension/` lists it. */
export type LoadExtension = Pick<ExtensionSummary, 'id' | 'name' | 'kind' | 'agents'>;

/** What starts each call: a `CallhookClient` (its `simulate`), or anything with its shape. */
export interface LoadTarget {
  simulate(req: SimulationRequest): Promise<SimulationResult>;
}

export interface LoadOptions {
  target: LoadTarget;
  /** The extensions calls are made for (each call picks one, and a scenario its kind allows). */
  extensions: readonly LoadExtension[];
  /** Calls started per second. */
  rate: number;
  /** Stop after this many calls… */
  count?: number;
  /** …or after this long (whichever comes first; one of them is needed). */
  durationMs?: number;
  /** Passed to every call: how much faster than real time the server plays it. Default 1. */
  speed?: number;
  random?: Random;
  /** Milliseconds; for tests. */
  now?: () => number;
  /** Calls `fn` after `ms`; returns its cancel. For tests (`setTimeout` by default). */
  setTimer?: (fn: () => void, ms: number) => () => void;
  /** Stops starting calls. */
  signal?: AbortSignal;
  /** Told of each call once the server started it (or refused it: `result` is then the error). */
  onCall?: (req: SimulationRequest, result: SimulationResult | CallhookApiError) => void;
}

export interface LoadResult {
  started: number;
  /** Calls the server refused (400, or 404 for an extension removed meanwhile). */
  refused: number;
  /** Events the started calls generate (the server plays them at the calls' own times). */
  events: number;
  byScenario: Partial<Record<SimulationScenario, number>>;
  byOutcome: Partial<Record<HangupStatus, number>>;
  elapsedMs: number;
}

/** Three calls in four are answered, as on a working PBX; the rest end in any other way. */
const ANSWERED_SHARE = 0.75;

function pick<T>(items: readonly T[], random: Random): T | undefined {
  return items[Math.floor(random() * items.length)];
}

function weighted<T>(choices: ReadonlyArray<readonly [T, number]>, random: Random): T {
  const total = choices.reduce((sum, [, w]) => sum + w, 0);
  let r = random() * total;
  for (const [value, w] of choices) {
    r -= w;
    if (r < 0) return value;
  }
  return choices[choices.length - 1]![0];
}

function outsideNumber(random: Random): string {
  return `+7${String(Math.floor(random() * 1e10)).padStart(10, '0')}`;
}

function randomOutcome(random: Random): HangupStatus {
  if (random() < ANSWERED_SHARE) return 'ANSWER';
  return pick(
    hangupStatuses.filter((s) => s !== 'ANSWER'),
    random,
  )!;
}

/**
 * One random scenario for `ext` that its kind allows, with realistic durations (ring 0.5–4.5 s,
 * talk 1–60 s) before `speed`. Outgoing calls sometimes go to another phone of the same client
 * (`all`), so internal calls are part of the mix; a forwarded call names the number it goes to,
 * so it plays whatever forwarding rule the extension has.
 */
export function randomRequest(
  ext: LoadExtension,
  all: readonly LoadExtension[],
  random: Random,
  speed = 1,
): SimulationRequest {
  const timing = {
    ring_ms: Math.round(500 + random() * 4000),
    talk_ms: Math.round(1000 + random() * 59_000),
    speed,
  };
  const caller = outsideNumber(random);
  const did = random() < 0.5 ? outsideNumber(random) : undefined;
  const base = { extension_id: ext.id, ...timing, ...(did ? { did } : {}) };
  if (ext.kind === 'ivr') return { scenario: 'ivr', number: caller, outcome: randomOutcome(random), ...base };
  if (ext.kind === 'queue') {
    const outcome = randomOutcome(random);
    const agent = outcome === 'ANSWER' ? pick(ext.agents ?? [], random) : undefined;
    return { scenario: 'queue', number: caller, outcome, ...(agent ? { answered_by: agent } : {}), ...base };
  }
  const scenario = weighted<SimulationScenario>(
    [
      ['outgoing', 40],
      ['incoming', 30],
      ['forward', 10],
      ['voicemail', 8],
      ['message-in', 6],
      ['message-out', 6],
    ],
    random,
  );
  switch (scenario) {
    case 'outgoing': {
      const peers = all.filter((e) => e.kind === 'phone' && e.id !== ext.id);
      const peer = random() < 0.2 ? pick(peers, random) : undefined;
      return {
        scenario,
        extension_id: ext.id,
        number: peer ? peer.name : outsideNumber(random),
        outcome: randomOutcome(random),
        ...timing,
      };
    }
    case 'forward':
      return {
        scenario,
        number: caller,
        forward_to: outsideNumber(random),
        outcome: randomOutcome(random),
        ...base,
      };
    case 'voicemail':
      return { scenario, number: caller, outcome: random() < 0.5 ? 'NOANSWER' : 'BUSY', ...base };
    case 'message-in':
    case 'message-out':
      return { scenario, number: caller, text: `Load test message ${Math.floor(random() * 1e6)}`, ...base };
    default:
      return { scenario, number: caller, outcome: randomOutcome(random), ...base };
  }
}

/**
 * A refusal of one call (counted; the run goes on): the server found the request wrong (400), or
 * the extension is gone (404). Anything else (the simulator off, the server unreachable or
 * overloaded, a token refused) ends the run.
 */
function refusal(err: unknown): err is CallhookApiError {
  return (
    err instanceof CallhookApiError &&
    (err.status === 400 || (err.status === 404 && err.code !== 'no_simulator'))
  );
}

/**
 * Starts random calls at `rate` per second, evenly spaced, until `count` calls or `durationMs`
 * (or `signal`); resolves once the server answered every start. Counts what it started.
 */
export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  if (opts.count === undefined && opts.durationMs === undefined) {
    throw new Error('runLoad needs a bound: count or durationMs');
  }
  if (!(opts.rate > 0)) throw new Error('runLoad needs a rate above 0 calls per second');
  const callers = opts.extensions;
  if (callers.length === 0) throw new Error('runLoad needs at least one extension');
  const random = opts.random ?? cryptoRandom;
  const now = opts.now ?? Date.now;
  const setTimer =
    opts.setTimer ??
    ((fn: () => void, ms: number) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    });
  const result: LoadResult = {
    started: 0,
    refused: 0,
    events: 0,
    byScenario: {},
    byOutcome: {},
    elapsedMs: 0,
  };
  const interval = 1000 / opts.rate;
  const t0 = now();
  let issued = 0;
  let fatal: { err: unknown } | undefined;
  const pending = new Set<Promise<void>>();
  const over = () =>
    fatal !== undefined ||
    (opts.count !== undefined && issued >= opts.count) ||
    (opts.durationMs !== undefined && now() - t0 >= opts.durationMs) ||
    opts.signal?.aborted === true;

  const started = (req: SimulationRequest, res: SimulationResult) => {
    result.started++;
    result.events += res.events;
    result.byScenario[req.scenario] = (result.byScenario[req.scenario] ?? 0) + 1;
    if (req.outcome) result.byOutcome[req.outcome] = (result.byOutcome[req.outcome] ?? 0) + 1;
    opts.onCall?.(req, res);
  };
  const failed = (req: SimulationRequest, err: unknown) => {
    if (refusal(err)) {
      result.refused++;
      opts.onCall?.(req, err);
    } else {
      fatal ??= { err };
    }
  };

  for (let i = 0; !over(); i++) {
    // A start due at the end of the duration or later is not the run's: the count for a duration
    // is at most rate × duration, however early a timer fires.
    if (opts.durationMs !== undefined && i * interval >= opts.durationMs) break;
    const wait = t0 + i * interval - now();
    if (wait > 0) {
      await new Promise<void>((resolve) => {
        const cancel = setTimer(done, wait);
        function done() {
          cancel();
          opts.signal?.removeEventListener('abort', done);
          resolve();
        }
        opts.signal?.addEventListener('abort', done, { once: true });
      });
      if (over()) break;
    }
    const req = randomRequest(pick(callers, random)!, callers, random, opts.speed ?? 1);
    issued++;
    // The next call starts on time whatever this one's answer takes.
    const settled: Promise<void> = new Promise<SimulationResult>((resolve) =>
      resolve(opts.target.simulate(req)),
    ).then(
      (r) => started(req, r),
      (err: unknown) => failed(req, err),
    );
    pending.add(settled);
    settled.then(() => pending.delete(settled));
  }
  await Promise.all([...pending]);
  if (fatal) throw fatal.err;
  result.elapsedMs = now() - t0;
  return result;
}
