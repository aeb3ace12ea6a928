import type { IntakeEvent } from '@callhook/contract';
import { type CallTiming, createDirectory, type PbxDirectory, Simulator } from '@callhook/pbx';
import type { PbxPort, ServerContext } from '../api/context.js';

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
    simulate: (req) => simulator.run(req),
    callback: (owner, req) => simulator.callback(owner, req),
    idle: () => simulator.idle(),
    stop: () => simulator.stop(),
    finish: () => simulator.finish(),
  };
}
