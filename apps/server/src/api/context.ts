import type { SimulatorSource } from '@callhook/pbx';
import type { Logger } from 'pino';
import type { Principal, TokenService } from '../auth/tokens.js';
import type { Config } from '../config.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { Intake } from '../delivery/intake.js';
import type { TargetPolicy } from '../delivery/target.js';
import type { Extension, Store } from '../store/index.js';
import { notFound } from './errors.js';
import type { StreamHub } from './stream.js';

/** What the request handlers work with. */
export interface ServerContext {
  config: Config;
  store: Store;
  tokens: TokenService;
  targets: TargetPolicy;
  logger: Logger;
  /** The API's base path from the spec's servers (`/api/ver1.0`). */
  basePath: string;
  /** Where every PBX source's events go (the HTTP intake's among them). */
  intake: Intake;
  /** This instance's dispatcher, when it runs one: a retry or recovery tells it work is due. */
  dispatcher?: Pick<Dispatcher, 'nudge'>;
  /** The simulated PBX, when enabled (demo mode): the API starts its calls. */
  pbx?: SimulatorSource;
  /** The live event streams of this instance (the console's calls view). */
  streams: StreamHub;
}

/**
 * The extension a path names, if the token's client owns it. `@me` is the application's own
 * extension. Anything else is "not found", whether or not it exists for another client.
 */
export async function resolveExtension(
  ctx: ServerContext,
  principal: Principal,
  raw: string,
): Promise<Extension> {
  let id: number;
  if (raw === '@me') {
    if (principal.extensionId === null) {
      throw notFound('This application has no extension of its own: use a numeric extension_id');
    }
    id = principal.extensionId;
  } else {
    id = Number(raw);
  }
  // The store remembers extensions it has found (they never change).
  const ext = await ctx.store.tenants.getExtension(id);
  if (!ext || ext.clientId !== principal.clientId) throw notFound();
  return ext;
}

export function resolveClientId(principal: Principal, raw: string): number {
  if (raw === '@me' || Number(raw) === principal.clientId) return principal.clientId;
  throw notFound();
}
