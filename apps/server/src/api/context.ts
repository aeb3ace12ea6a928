import type { CallbackRequest, CallbackResponse, components, SimulationRequest } from '@callhook/contract';
import type { Logger } from 'pino';
import type { Principal, TokenService } from '../auth/tokens.js';
import type { Config } from '../config.js';
import type { TargetPolicy } from '../delivery/target.js';
import type { ClaimedDelivery, Extension, IngestLease, Store } from '../store/index.js';
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
  /** Tells the dispatcher deliveries are due (it would find them on its next poll anyway). */
  nudge(): void;
  /**
   * How the intake may store fresh deliveries already leased to this instance's dispatcher
   * (undefined when it has none or it is stopping), and the hand-over of those it stored.
   */
  leaseForIntake(): IngestLease | undefined;
  take(leased: ClaimedDelivery[]): void;
  /** The live event streams of this instance (the console's calls view). */
  streams: StreamHub;
  /** The simulated PBX, when enabled (demo mode). */
  pbx?: PbxPort;
}

/** The calls the API makes on the (simulated) PBX. */
export interface PbxPort {
  /** Re-reads the extensions (an operator may have added some). */
  refresh(): Promise<void>;
  simulate(req: SimulationRequest): SimulationResult;
  callback(ownerExtensionId: number, req: CallbackRequest): CallbackResponse;
  /** Resolves once every call under way has fed all its events to the intake. */
  idle(): Promise<void>;
  /** Drops calls under way and refuses new ones. */
  stop(): void;
  /**
   * Refuses new calls, plays the rest of the calls under way at once and resolves once all their
   * events are in the intake (shutdown: the API promised them).
   */
  finish(): Promise<void>;
}

type SimulationResult = components['schemas']['SimulationResult'];

/** Extensions never change owner, so a found one can be remembered. */
const extensionCache = new WeakMap<Store, Map<number, Extension>>();

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
  let cache = extensionCache.get(ctx.store);
  if (!cache) {
    cache = new Map();
    extensionCache.set(ctx.store, cache);
  }
  let ext = cache.get(id);
  if (!ext) {
    ext = await ctx.store.tenants.getExtension(id);
    if (ext) cache.set(id, ext);
  }
  if (!ext || ext.clientId !== principal.clientId) throw notFound();
  return ext;
}

export function resolveClientId(principal: Principal, raw: string): number {
  if (raw === '@me' || Number(raw) === principal.clientId) return principal.clientId;
  throw notFound();
}
