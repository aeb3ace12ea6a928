import type { CallbackRequest, CallbackResponse, Random, SimulationRequest } from '@callhook/contract';
import type { EventSource, SourceContext } from '../source.js';
import { createDirectory, type PbxDirectory } from './directory.js';
import type { CallTiming } from './scenarios.js';
import { type SetTimer, type SimulationResult, Simulator } from './simulator.js';

export interface SimulatorSourceOptions {
  /** How callbacks (which carry no timing) are played; default: the page's real timing. */
  callbackTiming?: CallTiming;
  now?: () => number;
  setTimer?: SetTimer;
  random?: Random;
}

/**
 * The simulated PBX as an event source: its calls' events go to the sink the server hosts (the
 * same intake as a real switch's), and its directory is the server's extensions, re-read on
 * `refresh()`. Calls are started by `simulate`/`callback` (the API's `/pbx/simulate/` and
 * `/extension/{id}/callback/`).
 */
export class SimulatorSource implements EventSource {
  readonly name = 'simulator';
  private current: PbxDirectory = createDirectory([]);
  private ctx: SourceContext | undefined;
  private simulator: Simulator | undefined;

  constructor(private readonly opts: SimulatorSourceOptions = {}) {}

  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
    this.current = createDirectory(await ctx.directory.list());
    // The simulator keeps this view; `refresh()` swaps what is behind it.
    const view: PbxDirectory = {
      byId: (id) => this.current.byId(id),
      byNumber: (n) => this.current.byNumber(n),
    };
    this.simulator = new Simulator({
      ...this.opts,
      directory: view,
      sink: async (events) => {
        await ctx.sink.ingest(events);
      },
      onError: (err, call) =>
        ctx.logger.error({ err, callId: call.callId }, 'simulated call could not be delivered to the intake'),
    });
  }

  async refresh(): Promise<void> {
    if (this.ctx) this.current = createDirectory(await this.ctx.directory.list());
  }

  /** Starts a scenario; throws a `ScenarioError` when it cannot be played. */
  simulate(req: SimulationRequest): SimulationResult {
    return this.started().run(req);
  }

  /** Starts a callback on behalf of `ownerExtensionId`. */
  callback(ownerExtensionId: number, req: CallbackRequest): CallbackResponse {
    return this.started().callback(ownerExtensionId, req);
  }

  /** Resolves once every call under way has fed all its events to the sink. */
  idle(): Promise<void> {
    return this.simulator?.idle() ?? Promise.resolve();
  }

  /** Drops the calls under way (their remaining events are never fed) and refuses new ones. */
  drop(): void {
    this.simulator?.stop();
  }

  /**
   * Refuses new calls, plays the rest of the calls under way at once and resolves once all their
   * events are in the sink: the API answered each call with the events it makes, so a stop keeps
   * that promise.
   */
  async stop(): Promise<void> {
    await this.simulator?.finish();
  }

  private started(): Simulator {
    if (!this.simulator) throw new Error('the simulator source is not started');
    return this.simulator;
  }
}
