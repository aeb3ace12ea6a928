import type { Random } from '@callhook/contract';

const UINT32 = 2 ** 32;

function randomHex(random: Random, bytes: number): number[] {
  return Array.from({ length: bytes }, () => Math.floor(random() * 256) & 0xff);
}

/**
 * A `CallID` as in the page's log (`31845fca85624b7a94cf7b4036fd6d52`): 32 lowercase hex digits.
 * The page's is a version-4 UUID without dashes (its `CallAPIID` shows it dashed), so ours are too.
 */
export function newCallId(random: Random): string {
  const b = randomHex(random, 16);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  return b.map((x) => x.toString(16).padStart(2, '0')).join('');
}

/** `31845fca85624b7a…` → `31845fca-8562-4b7a-…`: the 8-4-4-4-12 form of a 32-hex id. */
export function dashedUuid(hex32: string): string {
  return `${hex32.slice(0, 8)}-${hex32.slice(8, 12)}-${hex32.slice(12, 16)}-${hex32.slice(16, 20)}-${hex32.slice(20)}`;
}

/**
 * A `CallAPIID` as in the page's log: `3584705177-31845fca-8562-4b7a-94cf-7b4036fd6d52`, a number
 * (the page's fits 32 bits, so ours is a random unsigned 32-bit one) and the call's id as a UUID.
 */
export function newCallApiId(callId: string, random: Random): string {
  return `${Math.floor(random() * UINT32)}-${dashedUuid(callId)}`;
}

/**
 * A `SubCallID`: `<extension id>-<CallID>` as in the page's log for an extension's first leg in a
 * call. When the same extension is reached again in that call (a queue agent rung in a second
 * round, a forward after the ring, the owner of a callback calling twice), the n-th leg gets the
 * suffix `-n` (`201-<CallID>-2`), so every component stays apart and the first keeps the page's form.
 */
export function subCallId(extensionId: number, callId: string, leg: number): string {
  return leg <= 1 ? `${extensionId}-${callId}` : `${extensionId}-${callId}-${leg}`;
}

/** A `RecID` as in the page's log: one recording per extension and call, `<extension id>-<CallID>`. */
export function recId(extensionId: number, callId: string): string {
  return `${extensionId}-${callId}`;
}
