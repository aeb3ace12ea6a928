import { createHash } from 'node:crypto';

/**
 * Identifiers of the page's events for a call the switch saw. They are derived from the SIP
 * Call-ID, never drawn at random: every message of a call (and a message delivered twice) must
 * give the same `CallID`, `CallAPIID` and `SubCallID`, which the intake's keys rely on.
 */
export interface CallIds {
  /** 32 lowercase hex digits, like the page's: a name-based (version 5) UUID without dashes. */
  callId: string;
  /** `<32-bit number>-<CallID as a dashed UUID>`, the page's form. */
  callApiId: string;
}

/** The namespace the SIP Call-IDs of callhook's Kamailio source are named in (RFC 4122 §4.3). */
const NAMESPACE = Buffer.from('6f1c1d0e8e7a4a5b9c3d2e1f0a9b8c7d', 'hex');

function dashed(hex32: string): string {
  return `${hex32.slice(0, 8)}-${hex32.slice(8, 12)}-${hex32.slice(12, 16)}-${hex32.slice(16, 20)}-${hex32.slice(20)}`;
}

export function callIds(sipCallId: string): CallIds {
  const digest = createHash('sha1').update(NAMESPACE).update(sipCallId, 'utf8').digest();
  const b = Buffer.from(digest.subarray(0, 16));
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x50;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const callId = b.toString('hex');
  // The number before the UUID: the digest's bytes the UUID did not use.
  const number = digest.readUInt32BE(16);
  return { callId, callApiId: `${number}-${dashed(callId)}` };
}

/** The page's `SubCallID` (and `RecID`): `<extension id>-<CallID>`, `-n` for its n-th leg. */
export function legId(extensionId: number, callId: string, leg = 1): string {
  return leg <= 1 ? `${extensionId}-${callId}` : `${extensionId}-${callId}-${leg}`;
}
