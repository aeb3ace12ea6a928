import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { SignatureError, SignatureVerifier, StaleTimestampError } from '../src/index.js';
import { HmacSha256 } from '../src/signature.js';
import { OTHER_SECRET, SECRET, signedHeaders } from './support.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const clock = { now: () => NOW.getTime() };
const body = 'EventType=hangup&CallID=abc&EventTime=1&CallFlow=in&CallStatus=ANSWER';

function headersOf(h: Record<string, string>) {
  return { id: h['webhook-id'], timestamp: h['webhook-timestamp'], signature: h['webhook-signature'] };
}

describe('SignatureVerifier', () => {
  test('accepts a signature made by the standardwebhooks package, over bytes or a string', () => {
    const verifier = new SignatureVerifier(SECRET, clock);
    const headers = headersOf(signedHeaders(body, { at: NOW }));
    expect(() => verifier.verify(headers, body)).not.toThrow();
    expect(() => verifier.verify(headers, Buffer.from(body))).not.toThrow();
  });

  test('verifies a non-ASCII body on its exact bytes', () => {
    const raw = 'text=при';
    const verifier = new SignatureVerifier(SECRET, clock);
    const headers = headersOf(signedHeaders(raw, { at: NOW }));
    expect(() => verifier.verify(headers, new TextEncoder().encode(raw))).not.toThrow();
    expect(() => verifier.verify(headers, Buffer.from(raw, 'latin1'))).toThrow(SignatureError);
  });

  test('refuses a tampered body, a wrong secret, a changed id or timestamp', () => {
    const verifier = new SignatureVerifier(SECRET, clock);
    const headers = headersOf(signedHeaders(body, { at: NOW }));
    expect(() => verifier.verify(headers, body.replace('ANSWER', 'BUSY'))).toThrow(SignatureError);
    expect(() => verifier.verify({ ...headers, id: 'msg_other' }, body)).toThrow(SignatureError);
    expect(() =>
      verifier.verify({ ...headers, timestamp: String(Number(headers.timestamp) + 1) }, body),
    ).toThrow(SignatureError);
    const wrong = headersOf(signedHeaders(body, { at: NOW, secret: OTHER_SECRET }));
    expect(() => verifier.verify(wrong, body)).toThrow('no webhook-signature entry matches');
  });

  test('refuses timestamps beyond the tolerance either way, with the figures', () => {
    const verifier = new SignatureVerifier(SECRET, clock);
    const old = headersOf(signedHeaders(body, { at: new Date(NOW.getTime() - 301_000) }));
    const error = (() => {
      try {
        verifier.verify(old, body);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(StaleTimestampError);
    expect(error).toMatchObject({ status: 401, code: 'stale_timestamp', toleranceSeconds: 300 });
    const future = headersOf(signedHeaders(body, { at: new Date(NOW.getTime() + 301_000) }));
    expect(() => verifier.verify(future, body)).toThrow(/in the future/);
    const edge = headersOf(signedHeaders(body, { at: new Date(NOW.getTime() - 299_000) }));
    expect(() => verifier.verify(edge, body)).not.toThrow();
    const lenient = new SignatureVerifier(SECRET, { ...clock, toleranceSeconds: 3600 });
    expect(() => lenient.verify(old, body)).not.toThrow();
  });

  test('during a rotation, either secret and either entry of the header is enough', () => {
    const oldSigned = signedHeaders(body, { at: NOW, secret: OTHER_SECRET });
    const newSigned = signedHeaders(body, { at: NOW });
    const both = {
      ...headersOf(newSigned),
      signature: `${newSigned['webhook-signature']} ${oldSigned['webhook-signature']}`,
    };
    expect(() => new SignatureVerifier(SECRET, clock).verify(both, body)).not.toThrow();
    expect(() => new SignatureVerifier(OTHER_SECRET, clock).verify(both, body)).not.toThrow();
    expect(() =>
      new SignatureVerifier([OTHER_SECRET, SECRET], clock).verify(headersOf(newSigned), body),
    ).not.toThrow();
  });

  test('missing or malformed headers are signature errors, not crashes', () => {
    const verifier = new SignatureVerifier(SECRET, clock);
    const good = headersOf(signedHeaders(body, { at: NOW }));
    expect(() => verifier.verify({ ...good, signature: undefined }, body)).toThrow(SignatureError);
    expect(() => verifier.verify({ ...good, id: undefined }, body)).toThrow(SignatureError);
    expect(() => verifier.verify({ ...good, timestamp: '2026-03-01' }, body)).toThrow('not unix seconds');
    expect(() => verifier.verify({ ...good, signature: 'v1a,abc v2,xyz' }, body)).toThrow('no v1 signature');
    expect(() => verifier.verify({ ...good, signature: 'v1,short' }, body)).toThrow('no v1 signature');
  });

  test('a secret must hold key bytes', () => {
    expect(() => new SignatureVerifier('whsec_')).toThrow(TypeError);
    expect(() => new SignatureVerifier([])).toThrow(TypeError);
  });
});

describe('HmacSha256', () => {
  const viaCreateHmac = (key: Uint8Array, prefix: string, payload: string | Uint8Array) =>
    createHmac('sha256', key).update(prefix).update(payload).digest('base64');
  // Keys shorter than, as long as and longer than SHA-256's 64-byte block (hashed first), and
  // messages of any text, lone surrogates included, or of any bytes; some longer than the shared
  // buffer's first size, which must grow, and past its limit, where createHmac takes over.
  const key = fc.uint8Array({ minLength: 1, maxLength: 200 });
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: 'grapheme-ascii', minLength: 1000, maxLength: 5000 }),
    fc.string({ unit: 'binary', minLength: 22_000, maxLength: 23_000 }),
  );
  const payload = fc.oneof(text, fc.uint8Array({ maxLength: 3000 }));

  test('is HMAC-SHA256: equal to createHmac for any key, prefix and payload', () => {
    fc.assert(
      fc.property(key, fc.string({ unit: 'binary', maxLength: 60 }), payload, (k, prefix, p) => {
        expect(new HmacSha256(k).base64(prefix, p)).toBe(viaCreateHmac(k, prefix, p));
      }),
      { numRuns: 300 },
    );
  });

  test('keys used in turns do not see one another’s pads or messages', () => {
    const a = new HmacSha256(Buffer.from('key one'));
    const b = new HmacSha256(Buffer.alloc(100, 7));
    const long = 'x'.repeat(5000);
    expect(a.base64('p.', long)).toBe(viaCreateHmac(Buffer.from('key one'), 'p.', long));
    expect(b.base64('q.', 'short')).toBe(viaCreateHmac(Buffer.alloc(100, 7), 'q.', 'short'));
    expect(a.base64('', 'short')).toBe(viaCreateHmac(Buffer.from('key one'), '', 'short'));
  });
});
