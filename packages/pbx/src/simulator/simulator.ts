import {
  type CallbackRequest,
  type CallbackResponse,
  type components,
  cryptoRandom,
  type IntakeEvent,
  type Random,
  type SimulationRequest,
} from '@callhook/contract';
import type { PbxDirectory } from './directory.js';
import { type CallPlan, type CallTiming, planCallback, planScenario, ScenarioError } from './scenarios.js';

export type SimulationResult = components['schemas']['SimulationResult'];

/** Where the simulated PBX reports events: the server's intake (one transaction per batch). */
export type EventSink = (events: IntakeEvent[]) => Promise<void>;

/** Calls `fn` after `ms` milliseconds; the returned function cancels it. */
export type SetTimer = (fn: () => void, ms: number) => () => void;

export interface SimulatorOptions {
  directory: PbxDirectory;
  sink: EventSink;
  /** µs since the epoch; events' `EventTime` and their playing times come from it. */
  now?: () => number;
  setTimer?: SetTimer;
  random?: Random;
  /** A call whose events the sink refused; the rest of that call is dropped. */
  onError?: (err: unknown, call: { callId: string }) => void;
  /** The callback resource carries no timing: this one applies to callbacks (default: real time). */
  callbackTiming?: CallTiming;
}

let wallMinusMonotonicUs = performance.timeOrigin * 1000;

/**
 * Wall-clock µs with sub-millisecond precision (`Date.now()` only has milliseconds): the
 * monotonic clock anchored to the wall clock, re-anchored when they drift apart by more than a
 * second (a clock step, a suspended machine), so a long-running server keeps true EventTimes.
 */
export const systemClockUs = (): number => {
  const monotonicUs = performance.now() * 1000;
  const wallUs = Date.now() * 1000;
  if (Math.abs(wallMinusMonotonicUs + monotonicUs - wallUs) > 1_000_000) {
    wallMinusMonotonicUs = wallUs - monotonicUs;
  }
  return Math.round(wallMinusMonotonicUs + monotonicUs);
};

export const systemTimer: SetTimer = (fn, ms) => {
  const handle = setTimeout(fn, ms);
  return () => clearTimeout(handle);
};

interface Running {
  done: Promise<void>;
  cancelTimer?: () => void;
  wake?: () => void;
}

/**
 * The simulated PBX: plans a call, answers at once with its ids, then feeds its events to the
 * intake at their (scaled) times. A call's events go in order and one batch at a time (the next
 * batch waits for the previous one to be stored), so the intake sees them as the PBX made them;
 * events that fall due together (a fast `speed`, a slow intake) go in one batch.
 */
export class Simulator {
  private readonly directory: PbxDirectory;
  private readonly sink: EventSink;
  private readonly now: () => number;
  private readonly setTimer: SetTimer;
  private readonly random: Random;
  private readonly onError: (err: unknown, call: { callId: string }) => void;
  private readonly callbackTiming: CallTiming;
  private readonly running = new Set<Running>();
  /** No new calls (stopping or finishing). */
  private stopped = false;
  /** Calls under way are dropped (`stop`). */
  private dropping = false;
  /** Calls under way play their remaining events at once (`finish`). */
  private hurrying = false;

  constructor(opts: SimulatorOptions) {
    this.directory = opts.directory;
    this.sink = opts.sink;
    this.now = opts.now ?? systemClockUs;
    this.setTimer = opts.setTimer ?? systemTimer;
    this.random = opts.random ?? cryptoRandom;
    this.onError =
      opts.onError ??
      ((err, call) =>
        console.error(`callhook simulator: call ${call.callId} stopped, the intake refused it`, err));
    this.callbackTiming = opts.callbackTiming ?? {};
  }

  /**
   * Starts a scenario; throws a `ScenarioError` when it cannot be played (a 4xx for the API), or
   * with status 503 once the simulator is stopped.
   */
  run(req: SimulationRequest): SimulationResult {
    const startUs = this.startUs();
    const plan = planScenario(req, this.directory, { startUs, random: this.random });
    this.play(plan, startUs);
    return {
      call_id: plan.callId,
      ...(plan.callApiId ? { call_api_id: plan.callApiId } : {}),
      events: plan.events.length,
    };
  }

  /** Starts a callback on behalf of `ownerExtensionId` (`POST /extension/{id}/callback/`). */
  callback(ownerExtensionId: number, req: CallbackRequest): CallbackResponse {
    const startUs = this.startUs();
    const plan = planCallback(ownerExtensionId, req, this.directory, {
      startUs,
      random: this.random,
      timing: this.callbackTiming,
    });
    this.play(plan, startUs);
    return { call_api_id: plan.callApiId, call_id: plan.callId };
  }

  /** Resolves once every call under way (also ones started meanwhile) has fed all its events. */
  async idle(): Promise<void> {
    while (this.running.size > 0) {
      await Promise.all([...this.running].map((r) => r.done));
    }
  }

  /** Drops the calls under way (their remaining events are never fed) and refuses new ones. */
  stop(): void {
    this.stopped = true;
    this.dropping = true;
    this.wakeAll();
  }

  /**
   * Refuses new calls and plays what is left of the calls under way at once, each call's events
   * in order, resolving once all are in the intake. `run` answered with the number of events a
   * call makes; a server shutting down keeps that promise this way rather than drop them.
   * Their `EventTime`s stay the planned ones.
   */
  async finish(): Promise<void> {
    this.stopped = true;
    this.hurrying = true;
    this.wakeAll();
    await this.idle();
  }

  private wakeAll(): void {
    for (const r of this.running) {
      r.cancelTimer?.();
      r.wake?.();
    }
  }

  private startUs(): number {
    if (this.stopped) {
      throw new ScenarioError(
        503,
        'The simulator is stopped: the server is shutting down, try again once it is back',
      );
    }
    return this.now();
  }

  private play(plan: CallPlan, startUs: number): void {
    const running: Running = { done: Promise.resolve() };
    running.done = this.feed(plan, startUs, running).finally(() => this.running.delete(running));
    this.running.add(running);
  }

  private async feed(plan: CallPlan, startUs: number, running: Running): Promise<void> {
    // Never call the sink from inside run(): the caller gets its answer first.
    await Promise.resolve();
    const events = plan.events;
    let next = 0;
    while (next < events.length && !this.dropping) {
      const waitUs = startUs + events[next]!.atUs - this.now();
      if (waitUs > 0 && !this.hurrying) {
        await this.sleep(Math.ceil(waitUs / 1000), running);
        // A timer may fire a little before the µs clock says the event is due: look again.
        continue;
      }
      const dueUs = this.hurrying ? Number.POSITIVE_INFINITY : this.now() - startUs;
      const batch: IntakeEvent[] = [];
      while (next < events.length && events[next]!.atUs <= dueUs) batch.push(events[next++]!.event);
      try {
        await this.sink(batch);
      } catch (err) {
        // Later events of a call make no sense without the earlier ones (a hangup without its
        // dial-in): the call stops here, as a PBX that lost its link would.
        this.onError(err, { callId: plan.callId });
        return;
      }
    }
  }

  private sleep(ms: number, running: Running): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        running.cancelTimer = undefined;
        running.wake = undefined;
        resolve();
      };
      running.wake = wake;
      running.cancelTimer = this.setTimer(wake, ms);
    });
  }
}
