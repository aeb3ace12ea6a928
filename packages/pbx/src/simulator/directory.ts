import type { PbxExtension } from '../source.js';

/** An extension's kind (phone, IVR, queue): with its agents and forwarding rule, it decides which
 * generation rules a call to it follows. */
export type ExtensionKind = PbxExtension['kind'];
export type { PbxExtension };

export interface PbxDirectory {
  byId(id: number): PbxExtension | undefined;
  /** An extension by what someone would dial: its name, `name@domain`, id, or short number. */
  byNumber(numberOrName: string): PbxExtension | undefined;
}

/** `000*099@sip.domain`: how the page writes an extension in `CallerExtension`/`CalledExtension`. */
export function extensionAddress(ext: PbxExtension): string {
  return `${ext.name}@${ext.domain}`;
}

/**
 * A fixed directory (tests, load runs, tools). Lookups by number accept what people dial: the
 * full name (`000*099`), `name@domain`, the id as text, and the short number after `*` (`099`)
 * when no other extension claims it first.
 */
export function createDirectory(extensions: readonly PbxExtension[]): PbxDirectory {
  const byId = new Map<number, PbxExtension>();
  const byNumber = new Map<string, PbxExtension>();
  for (const ext of extensions) {
    byId.set(ext.id, ext);
    byNumber.set(ext.name, ext);
    byNumber.set(extensionAddress(ext), ext);
    byNumber.set(String(ext.id), ext);
  }
  // Short numbers last, so that they never shadow a full name or an id.
  for (const ext of extensions) {
    const short = ext.name.split('*')[1];
    if (short && !byNumber.has(short)) byNumber.set(short, ext);
  }
  return {
    byId: (id) => byId.get(id),
    byNumber: (n) => byNumber.get(n),
  };
}
