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
