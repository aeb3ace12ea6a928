import { createHash, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';

const ALPHANUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Digits, then upper, then lower case: ASCII order, so fixed-width numbers sort as text. */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

// Random bytes are drawn from the CSPRNG in blocks (as crypto.randomUUID does): one call per id
// was a measurable share of the cost of accepting an event.
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

function randomByte(): number {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const byte = pool[poolAt]!;
  // Used bytes do not stay behind on the heap (they became tokens and secrets).
  pool[poolAt++] = 0;
  return byte;
}

/** Random letters and digits, like the provider's tokens (`8SNsrS0jV35vfmKqKeKtRrHfpbg4UX`). */
export function randomAlphanumeric(length: number): string {
  // 248 = the largest multiple of 62 under 256: rejecting bytes above it keeps every letter equally likely.
  let out = '';
  while (out.length < length) {
    const byte = randomByte();
    if (byte < 248) out += ALPHANUM[byte % 62];
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

/**
 * A delivery id for `webhook-id`: `msg_`, the time in milliseconds as 8 base62 digits, and 18
 * random base62 characters (~107 bits). Ids made later sort later (as text compared by code
 * unit: SQLite's BINARY, the "C" collation the PostgreSQL column is declared with), so the
 * store's unique index on them grows at its end instead of taking a write on a random page for
 * every delivery. The id shows when the delivery was created, which the first attempt's
 * `webhook-timestamp` tells anyway.
 */
export function newDeliveryId(now = Date.now()): string {
  let time = '';
  for (let t = Math.floor(now), i = 0; i < 8; i++, t = Math.floor(t / 62)) time = BASE62[t % 62] + time;
  return `msg_${time}${randomAlphanumeric(18)}`;
}
