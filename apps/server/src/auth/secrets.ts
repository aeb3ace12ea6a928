import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const ALPHANUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random letters and digits, like the provider's tokens (`8SNsrS0jV35vfmKqKeKtRrHfpbg4UX`). */
export function randomAlphanumeric(length: number): string {
  // 248 = the largest multiple of 62 under 256: rejecting bytes above it keeps every letter equally likely.
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHANUM[byte % 62];
    }
  }
  return out;
}

/**
 * Application secrets and tokens are high-entropy random strings, so a fast hash is enough to
 * make a stolen database useless (no dictionary to try); they are never stored in the clear.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

export function secretMatches(secret: string, hash: string): boolean {
  const a = Buffer.from(hashSecret(secret));
  const b = Buffer.from(hash);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A Standard Webhooks signing secret: `whsec_` and base64 of 32 random bytes. */
export function newSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** A delivery id for `webhook-id`: `msg_` and 26 random base62 characters (~155 bits). */
export function newDeliveryId(): string {
  return `msg_${randomAlphanumeric(26)}`;
}
