import { isAscii } from 'node:buffer';
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { SignatureError, StaleTimestampError } from './errors.js';

/** The Standard Webhooks headers of one delivery attempt, as received (absent when not sent). */
export interface SignatureHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

export interface VerifierOptions {
  /** How far `webhook-timestamp` may be from now, either way. Default 300 (the spec's ±5 min). */
  toleranceSeconds?: number;
  /** The clock, in milliseconds like `Date.now`; injectable so tests can be anywhere in time. */
  now?: () => number;
}

const DIGITS = /^[0-9]+$/;
/** A SHA-256 HMAC in base64: 32 bytes, 44 characters with its padding. */
const SIGNATURE_CHARS = 44;

/**
 * Whether `text` holds `expected` at `at`, in time that does not depend on where they differ (the
 * length is public: a SHA-256 HMAC's base64).
 */
function holdsAt(text: string, at: number, expected: string): boolean {
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= text.charCodeAt(at + i) ^ expected.charCodeAt(i);
  return diff === 0;
}

function keyOf(secret: string): KeyObject {
  const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
  if (key.length === 0) throw new TypeError('a webhook secret must be `whsec_` followed by base64 key bytes');
  return createSecretKey(key);
}

const signingKeys = new Map<string, KeyObject>();

/**
 * Signs one delivery the Standard Webhooks way: `v1,` + base64(HMAC-SHA256(key,
 * `${id}.${timestamp}.${payload}`)) for each secret, space-separated (two while a rotated-out secret
 * is still in its grace period). callhook's server signs with this; `SignatureVerifier` checks it.
 * `payload` is the form body (POST) or the query string (GET) as sent.
 */
export function signWebhook(
  id: string,
  timestamp: number,
  payload: string,
  secrets: readonly string[],
): string {
  const content = `${id}.${timestamp}.${payload}`;
  return secrets
    .map((secret) => {
      let key = signingKeys.get(secret);
      if (!key) {
        // A sender signs with the same few secrets again and again: derive each key once.
        if (signingKeys.size > 10_000) signingKeys.clear();
        key = keyOf(secret);
        signingKeys.set(secret, key);
      }
      return `v1,${createHmac('sha256', key).update(content, 'utf8').digest('base64')}`;
    })
    .join(' ');
}

/**
 * Checks the Standard Webhooks signature of a delivery against one or more secrets (several while a
 * rotation's grace period lets the old secret sign beside the new one).
 */
export class SignatureVerifier {
  private readonly keys: readonly KeyObject[];
  private readonly toleranceSeconds: number;
  private readonly now: () => number;

  constructor(secrets: string | readonly string[], options: VerifierOptions = {}) {
    const list = typeof secrets === 'string' ? [secrets] : secrets;
    if (list.length === 0) throw new TypeError('SignatureVerifier needs at least one secret');
    this.keys = list.map(keyOf);
    this.toleranceSeconds = options.toleranceSeconds ?? 300;
    this.now = options.now ?? Date.now;
  }

  /**
   * Throws unless one `v1` entry of `webhook-signature` is the HMAC of `${id}.${timestamp}.${payload}`
   * under one of the secrets. `payload` is the raw POST body or the raw GET query string; it must be
   * the bytes received, before any decoding, or a valid signature will not match.
   */
  verify(headers: SignatureHeaders, payload: Uint8Array | string): void {
    const { id, timestamp, signature } = headers;
    if (!id || !timestamp || !signature) {
      throw new SignatureError('missing webhook-id, webhook-timestamp or webhook-signature header');
    }
    if (!DIGITS.test(timestamp)) throw new SignatureError('webhook-timestamp is not unix seconds');
    const signedAt = Number(timestamp);
    const now = Math.floor(this.now() / 1000);
    if (Math.abs(now - signedAt) > this.toleranceSeconds) {
      throw new StaleTimestampError(signedAt, now, this.toleranceSeconds);
    }

    // Where the `v1` entries' base64 starts: they are compared as text with the expected
    // signature's base64, as the Standard Webhooks reference libraries do (no decoding, no copies).
    const candidates: number[] = [];
    for (let from = 0; from < signature.length; ) {
      let end = signature.indexOf(' ', from);
      if (end === -1) end = signature.length;
      // Other versions (`v1a,` for asymmetric keys) may come beside ours; they are not ours to judge.
      if (end - from === SIGNATURE_CHARS + 3 && signature.startsWith('v1,', from)) candidates.push(from + 3);
      from = end + 1;
    }
    if (candidates.length === 0) throw new SignatureError('webhook-signature has no v1 signature');

    const prefix = `${id}.${timestamp}.`;
    // One string update is markedly faster than two; it is only the same bytes when the body is ASCII.
    const text =
      typeof payload === 'string'
        ? payload
        : isAscii(payload)
          ? Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('latin1')
          : undefined;
    for (const key of this.keys) {
      const hmac = createHmac('sha256', key);
      if (text === undefined) hmac.update(prefix).update(payload);
      else hmac.update(prefix + text);
      const expected = hmac.digest('base64');
      for (const at of candidates) if (holdsAt(signature, at, expected)) return;
    }
    throw new SignatureError('no webhook-signature entry matches the secret');
  }
}
