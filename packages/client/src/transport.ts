import { CallhookNetworkError, CallhookTimeoutError } from './errors.js';
import type { TokenSource } from './token.js';

export type FetchLike = (request: Request) => Promise<Response>;

export interface RetryOptions {
  /** Further tries after the first, for idempotent calls (GET, PUT, DELETE). Default 2. */
  retries?: number;
  /** The first backoff; it doubles on each retry, with jitter. Default 250 ms. */
  minDelayMs?: number;
  /** The longest backoff, also the most of a `Retry-After` that is honoured. Default 5000 ms. */
  maxDelayMs?: number;
}

export interface TransportOptions {
  fetch: FetchLike;
  /** Per attempt, from sending to the whole answer read. */
  timeoutMs: number;
  retry: Required<RetryOptions> | false;
  tokens: TokenSource | undefined;
  /** Whether this request carries the bearer token (API calls do; the token endpoint does not). */
  authenticate: (request: Request) => boolean;
  /** Whether sending this request twice is harmless. */
  retryable: (request: Request) => boolean;
}

const NO_BODY = new Set([101, 204, 205, 304]);

/**
 * The one place requests go out: adds the token, applies the timeout, turns failures into typed
 * errors, renews the token once on a 401 and retries what is safe to retry. Everything openapi-fetch
 * sends passes through here.
 */
export function createTransport(options: TransportOptions): FetchLike {
  const { tokens, timeoutMs, retry } = options;

  async function attempt(request: Request, token: string | undefined): Promise<Response> {
    const headers = new Headers(request.headers);
    if (token !== undefined) headers.set('Authorization', `Bearer ${token}`);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([request.signal, timeout]);
    try {
      const response = await options.fetch(new Request(request.clone(), { headers, signal }));
      // Read the whole answer under the same timeout, so a stalled body is a timeout too.
      const body = NO_BODY.has(response.status) ? null : await response.arrayBuffer();
      const copy = new Response(body, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
      // A constructed Response has no URL; errors name the URL they came from.
      Object.defineProperty(copy, 'url', { value: response.url || request.url });
      return copy;
    } catch (error) {
      if (request.signal.aborted) throw error; // the caller's own abort stays what it is
      if (timeout.aborted) throw new CallhookTimeoutError(request.url, timeoutMs);
      throw new CallhookNetworkError(request.url, error);
    }
  }

  return async (request) => {
    let token = tokens && options.authenticate(request) ? await tokens.get() : undefined;
    let renewed = false;
    const retries = retry && options.retryable(request) ? retry.retries : 0;
    for (let failures = 0; ; ) {
      let response: Response;
      try {
        response = await attempt(request, token);
      } catch (error) {
        const transient = error instanceof CallhookNetworkError || error instanceof CallhookTimeoutError;
        if (!transient || failures >= retries || !retry) throw error;
        await sleep(backoff(retry, failures++, null));
        continue;
      }
      if (response.status === 401 && tokens && token !== undefined && !renewed) {
        // The provider's advice: after an auth error, get a new token even if it should still be
        // valid. One renewal per call; a second 401 is the answer.
        const fresh = await tokens.renew(token);
        if (fresh !== undefined) {
          renewed = true;
          token = fresh;
          continue;
        }
      }
      if (response.status >= 500 && retry && failures < retries) {
        await sleep(backoff(retry, failures++, response.headers.get('Retry-After')));
        continue;
      }
      return response;
    }
  };
}

/** Exponential backoff with "equal jitter": half the step fixed, half random, so retries spread out. */
function backoff(retry: Required<RetryOptions>, failures: number, retryAfter: string | null): number {
  const step = Math.min(retry.maxDelayMs, retry.minDelayMs * 2 ** failures);
  const jittered = step / 2 + Math.random() * (step / 2);
  const asked = retryAfter !== null && /^[0-9]+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 0;
  return Math.min(retry.maxDelayMs, Math.max(jittered, asked));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
