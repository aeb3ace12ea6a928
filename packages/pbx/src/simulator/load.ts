import {
  type HangupStatus,
  hangupStatuses,
  type SimulationRequest,
  type SimulationScenario,
} from '@callhook/contract';
import type { PbxExtension } from './directory.js';
import { cryptoRandom, type Random } from './ids.js';
import { ScenarioError } from './scenarios.js';
import { type SetTimer, type SimulationResult, type Simulator, systemTimer } from './simulator.js';

/**
 * What a load run starts calls on: the in-process simulator, or a server's `POST /pbx/simulate/`
 * (the CLI), whose answer comes later. Refusals are `ScenarioError`s (counted, the run goes on);
 * anything else, a 503 included (a stopped simulator), ends the run.
 */
export interface LoadTarget {
  run(req: SimulationRequest): SimulationResult | Promise<SimulationResult>;
  /** Resolves once the calls started have played (or at once, when that cannot be known). */
  idle(): Promise<void>;
}

export interface LoadOptions {
  simulator: Pick<Simulator, 'run' | 'idle'> | LoadTarget;
  /** The extensions calls are made for (each call picks one, and a scenario its kind allows). */
  extensions: readonly PbxExtension[];
  /** Calls started per second. */
  rate: number;
  /** Stop after this many calls… */
  count?: number;
  /** …or after this long (whichever comes first; one of them is needed). */
  durationMs?: number;
  /** Passed to every call: how much faster than real time calls run. Default 1. */
  speed?: number;
  random?: Random;
  /** Milliseconds; for tests. */
  now?: () => number;
  setTimer?: SetTimer;
  /** Stops starting calls. */
  signal?: AbortSignal;
  /** Wait until every started call has fed all its events (default true). */
  wait?: boolean;
  /** Told of each call once it started (or was refused: `result` is then the error). */
  onCall?: (req: SimulationRequest, result: SimulationResult | ScenarioError) => void;
}

export interface LoadResult {
  started: number;
  /** Calls the simulator refused (a `ScenarioError`, e.g. an extension removed meanwhile). */
  refused: number;
  /** Events the started calls generate. */
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
 * talk 1–60 s) before `speed`. Outgoing calls sometimes go to another phone of the same client,
 * so internal calls are part of the mix.
 */
export function randomRequest(
  ext: PbxExtension,
  all: readonly PbxExtension[],
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
      ['forward', ext.forwardTo ? 10 : 0],
      ['voicemail', 8],
      ['message-in', 6],
      ['message-out', 6],
    ],
    random,
  );
  switch (scenario) {
    case 'outgoing': {
      const peers = all.filter((e) => e.clientId === ext.clientId && e.kind === 'phone' && e.id !== ext.id);
      const peer = random() < 0.2 ? pick(peers, random) : undefined;
      return {
        scenario,
        extension_id: ext.id,
        number: peer ? peer.name : outsideNumber(random),
        outcome: randomOutcome(random),
        ...timing,
      };
    }
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
 * Starts random calls at `rate` per second, evenly spaced, until `count` calls or `durationMs`
 * (or `signal`), then (by default) waits for them to finish. Counts what it started.
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
  const setTimer = opts.setTimer ?? systemTimer;
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
    // A refused scenario is counted, not fatal: a load run goes on through a bad pick. Anything
    // else (a stopped simulator, a server that went away) ends the run.
    if (err instanceof ScenarioError && err.status !== 503) {
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
          opts.signal?.removeEventListener('abort', onAbort);
          resolve();
        }
        function onAbort() {
          cancel();
          done();
        }
        opts.signal?.addEventListener('abort', onAbort, { once: true });
      });
      if (over()) break;
    }
    const req = randomRequest(pick(callers, random)!, callers, random, opts.speed ?? 1);
    issued++;
    try {
      const res = opts.simulator.run(req);
      if (res instanceof Promise) {
        // Over HTTP: the next call starts on time whatever this one's answer takes.
        const settled: Promise<void> = res.then(
          (r) => started(req, r),
          (err: unknown) => failed(req, err),
        );
        pending.add(settled);
        const forget = () => pending.delete(settled);
        settled.then(forget, forget);
      } else {
        started(req, res);
      }
    } catch (err) {
      failed(req, err);
    }
  }
  await Promise.all([...pending]);
  if (fatal) throw fatal.err;
  if (opts.wait ?? true) await opts.simulator.idle();
  result.elapsedMs = now() - t0;
  return result;
}
