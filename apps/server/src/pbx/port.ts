import { type CallTiming, SimulatorSource } from '@callhook/pbx';
import { extensionDirectory, type SourceHost } from './sources.js';

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
 * Hosts the simulator, the first PBX event source: its events go through the same intake as a
 * real switch's (one transaction per batch), and its directory is the store's extensions.
 */
export async function createSimulatorPort(
  ctx: SourceHost,
  opts: SimulatorPortOptions = {},
): Promise<SimulatorSource> {
  const source = new SimulatorSource({ callbackTiming: opts.callbackTiming ?? {} });
  await source.start({ sink: ctx.intake, directory: extensionDirectory(ctx), logger: ctx.logger });
  return source;
}
