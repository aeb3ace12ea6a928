import { createHmac } from 'node:crypto';

/** The base64 key inside a `whsec_` secret. */
function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
}

const keys = new Map<string, Buffer>();

/**
 * Standard Webhooks signature: `v1,` + base64(HMAC-SHA256(key, `${id}.${timestamp}.${payload}`)),
 * one entry per secret, space-separated (two while a rotated-out secret is still in its grace
 * period). Interoperability with the `standardwebhooks` package is proven in the tests.
 */
export function sign(id: string, timestamp: number, payload: string, secrets: readonly string[]): string {
  const content = `${id}.${timestamp}.${payload}`;
  return secrets
    .map((secret) => {
      let key = keys.get(secret);
      if (!key) {
        if (keys.size > 10_000) keys.clear();
        key = keyOf(secret);
        keys.set(secret, key);
      }
      return `v1,${createHmac('sha256', key).update(content, 'utf8').digest('base64')}`;
    })
    .join(' ');
}
