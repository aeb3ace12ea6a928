import type { IntakeEvent } from '@callhook/contract';
import type { PbxPort, ServerContext } from '../api/context.js';
import { HttpError } from '../api/errors.js';
import { createDirectory, type PbxDirectory } from './directory.js';
import { type CallTiming, ScenarioError } from './scenarios.js';
import { Simulator } from './simulator.js';

export interface SimulatorPortOptions {
  /**
   * How callbacks (`POST /extension/{id}/callback/`, which carries no timing) are played. Default:
   * the page's real timing. A callback is something a person watches (their phone rings first,
   * then the number is dialled), so a demo server plays it as it would happen: ~1.8 s of ringing
   * per leg, then ~4.2 s of talk. No setting is needed for that; tests pass a faster timing here.
   */
  callbackTiming?: CallTiming;
}

/**
 * A 503 from a stopped simulator (the server is shutting down) is no fault of the request: it is
 * answered as such, with a hint to come back, rather than as a 500.
 */
function answerable<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ScenarioError && err.status === 503) {
      throw new HttpError(503, err.message, { code: 'simulator_stopped' }, { 'Retry-After': '5' });
    }
    throw err;
  }
}

/**
 * Plugs the simulator into a server: its events go through the same intake as a real PBX's
 * (one transaction per batch), and the directory is the store's extensions, re-read on `refresh()`.
 */
export async function createSimulatorPort(
  ctx: ServerContext,
  opts: SimulatorPortOptions = {},
): Promise<PbxPort> {
  let current: PbxDirectory = createDirectory(await ctx.store.tenants.listExtensions());
  // The simulator keeps this view; `refresh()` swaps what is behind it.
  const directory: PbxDirectory = {
    byId: (id) => current.byId(id),
    byNumber: (n) => current.byNumber(n),
  };
  const simulator = new Simulator({
    directory,
    sink: async (events: IntakeEvent[]) => {
      await ctx.intake.ingest(events);
    },
    onError: (err: unknown, call) =>
      ctx.logger.error({ err, callId: call.callId }, 'simulated call could not be delivered to the intake'),
    callbackTiming: opts.callbackTiming ?? {},
  });
  return {
    async refresh() {
      current = createDirectory(await ctx.store.tenants.listExtensions());
    },
    simulate: (req) => answerable(() => simulator.run(req)),
    callback: (owner, req) => answerable(() => simulator.callback(owner, req)),
    idle: () => simulator.idle(),
    stop: () => simulator.stop(),
    finish: () => simulator.finish(),
  };
}
