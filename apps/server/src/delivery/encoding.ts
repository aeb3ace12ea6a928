/**
 * The event data as the provider sends it: `application/x-www-form-urlencoded`, UTF-8, only the
 * fields that have a value, in the order the PBX gave them.
 */
export function encodeEventData(data: Record<string, unknown>): string {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(data)) {
    if (value === undefined || value === null || value === '') continue;
    form.append(name, String(value));
  }
  return form.toString();
}

/**
 * Where a GET delivery goes: the subscription URL with the event data added to its own query,
 * which is kept as it was written (`?myid=175` arrives beside the event fields).
 */
export function getRequestUrl(subscriptionUrl: string, payload: string): string {
  const hash = subscriptionUrl.indexOf('#');
  const url = hash === -1 ? subscriptionUrl : subscriptionUrl.slice(0, hash);
  if (payload === '') return url;
  if (!url.includes('?')) return `${url}?${payload}`;
  return url.endsWith('?') || url.endsWith('&') ? `${url}${payload}` : `${url}&${payload}`;
}

/**
 * What a GET delivery signs: the raw query string as sent (after `?`), the subscription's own
 * parameters included, so the receiver can verify the exact bytes it got.
 */
export function signedGetPayload(requestUrl: string): string {
  const q = requestUrl.indexOf('?');
  return q === -1 ? '' : requestUrl.slice(q + 1);
}
