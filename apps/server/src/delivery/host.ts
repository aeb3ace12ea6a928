/**
 * The receiving host (`host:port`) of a delivery's URL: what the caps per host, the circuit
 * breaker and the sending threads' queues are kept by.
 *
 * Each delivery's host is asked for three times (lease, schedule, result) from the few URLs its
 * subscriptions have: parsed once per URL (0.43 us each), not per ask. Bounded: emptied when full.
 */
const hosts = new Map<string, string>();

export function hostOf(url: string): string {
  let host = hosts.get(url);
  if (host === undefined) {
    try {
      host = new URL(url).host;
    } catch {
      host = url;
    }
    if (hosts.size >= 10_000) hosts.clear();
    hosts.set(url, host);
  }
  return host;
}

/**
 * What an attempt's outcome says of its host, for the circuit breaker: `unreachable` (it did not
 * answer at all), `answered` (an HTTP status, whatever it is), or nothing (`refused_target` and
 * `invalid_url` never reached it, and a crashed attempt may not have).
 */
export function hostVerdict(outcome: string): 'unreachable' | 'answered' | undefined {
  if (outcome === 'connection_error' || outcome === 'timeout') return 'unreachable';
  if (outcome === 'refused_target' || outcome === 'invalid_url' || outcome === 'crashed') return undefined;
  return 'answered';
}
