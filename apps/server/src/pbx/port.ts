import type { IntakeEvent } from '@callhook/contract';
import type { PbxPort, ServerContext } from '../api/context.js';
import { ingest } from '../api/intake.js';
import type { Extension } from '../store/index.js';
import type { PbxDirectory, PbxExtension } from './directory.js';
import { Simulator } from './simulator.js';

/** The simulator's view of the extensions: all of them, read from the store when they change. */
class StoreDirectory implements PbxDirectory {
  private byIdMap = new Map<number, PbxExtension>();
  private byNumberMap = new Map<string, PbxExtension>();

  load(extensions: Extension[]): void {
    this.byIdMap = new Map(extensions.map((e) => [e.id, e]));
    this.byNumberMap = new Map();
    for (const e of extensions) {
      this.byNumberMap.set(e.name, e);
      this.byNumberMap.set(String(e.id), e);
      this.byNumberMap.set(`${e.name}@${e.domain}`, e);
      const short = e.name.split('*')[1];
      if (short && !this.byNumberMap.has(short)) this.byNumberMap.set(short, e);
    }
  }

  byId(id: number): PbxExtension | undefined {
    return this.byIdMap.get(id);
  }

  byNumber(numberOrName: string): PbxExtension | undefined {
    return this.byNumberMap.get(numberOrName);
  }
}

/**
 * Plugs the simulator into a server: its events go through the same intake as a real PBX's
 * (one transaction per batch), and the directory is the store's extensions.
 */
export async function createSimulatorPort(ctx: ServerContext): Promise<PbxPort> {
  const directory = new StoreDirectory();
  directory.load(await ctx.store.tenants.listExtensions());
  const simulator = new Simulator({
    directory,
    sink: async (events: IntakeEvent[]) => {
      await ingest(ctx, events);
    },
    onError: (err: unknown) =>
      ctx.logger.error({ err }, 'simulated call could not be delivered to the intake'),
  });
  return {
    async refresh() {
      directory.load(await ctx.store.tenants.listExtensions());
    },
    simulate: (req) => simulator.run(req),
    callback: (owner, req) => simulator.callback(owner, req),
    idle: () => simulator.idle(),
    stop: () => simulator.stop(),
  };
}
