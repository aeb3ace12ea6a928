/** When to try again, or null when the schedule is used up. `attempts` counts the failed ones so far. */
export function nextDelayMs(
  attempts: number,
  schedule: readonly number[],
  jitter: number,
  retryAfterSeconds: number | undefined,
  random: () => number = Math.random,
): number | null {
  const base = schedule[attempts - 1];
  if (base === undefined) return null;
  // The receiver knows best when it will be back: Retry-After replaces the scheduled delay,
  // within 1 s and 10 h. The number of attempts stays bounded by the schedule either way.
  if (retryAfterSeconds !== undefined)
    return Math.round(Math.min(Math.max(retryAfterSeconds, 1), 36_000) * 1000);
  const spread = 1 + jitter * (2 * random() - 1);
  return Math.max(0, Math.round(base * 1000 * spread));
}

/** `Retry-After` as seconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}
