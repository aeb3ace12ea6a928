import type { ApiError } from '@callhook/contract';

/** Every error this package throws on purpose. */
export class CallhookError extends Error {
  override name = 'CallhookError';
}

/**
 * The API answered with a non-2xx status. `body` is the spec's `Error` object (built from the
 * status text when the answer was not JSON, e.g. from a proxy in between).
 */
export class CallhookApiError extends CallhookError {
  override name = 'CallhookApiError';
  readonly status: number;
  readonly body: ApiError;
  /** The server's id for the request (`X-Request-Id`), to quote when asking about it. */
  readonly requestId: string | undefined;
  readonly method: string;
  readonly url: string;

  constructor(init: { status: number; body: ApiError; requestId?: string; method: string; url: string }) {
    const fields = (init.body.errors ?? []).map((e) => `${e.field}: ${e.message}`);
    const detail =
      fields.length > 0 && !init.body.message.includes(fields[0]!) ? ` (${fields.join('; ')})` : '';
    super(`${init.method} ${init.url} answered ${init.status}: ${init.body.message}${detail}`);
    this.status = init.status;
    this.body = init.body;
    this.requestId = init.requestId ?? init.body.request_id;
    this.method = init.method;
    this.url = init.url;
  }

  /** The stable machine-readable code (`limit_reached`, `target_refused`, ...), when there is one. */
  get code(): string | undefined {
    return this.body.code ?? this.body.error;
  }
}

/**
 * The token endpoint refused the credentials. For `invalid_client` the message says plainly that
 * the client id or secret is wrong, which is what a person needs to hear.
 */
export class CallhookAuthError extends CallhookApiError {
  override name = 'CallhookAuthError';

  constructor(init: ConstructorParameters<typeof CallhookApiError>[0], origin: string) {
    super(init);
    const why =
      init.body.error === 'invalid_client'
        ? `wrong client secret (or unknown client id): ${origin} refused the credentials`
        : `${origin} refused the token request (${init.body.error ?? init.status}): ${init.body.message}`;
    this.message = `Authentication failed: ${why}`;
  }
}

/** No answer: the server could not be reached (refused, DNS, reset, TLS...). */
export class CallhookNetworkError extends CallhookError {
  override name = 'CallhookNetworkError';
  readonly url: string;

  constructor(url: string, cause: unknown) {
    super(`Cannot reach the callhook server at ${originOf(url)}: ${describeCause(cause)}`, { cause });
    this.url = url;
  }
}

/** No answer within the configured timeout. */
export class CallhookTimeoutError extends CallhookError {
  override name = 'CallhookTimeoutError';
  readonly url: string;
  readonly timeoutMs: number;

  constructor(url: string, timeoutMs: number) {
    super(`The callhook server at ${originOf(url)} did not answer within ${timeoutMs} ms`);
    this.url = url;
    this.timeoutMs = timeoutMs;
  }
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND...) is in its cause chain. */
function describeCause(cause: unknown): string {
  let current: unknown = cause;
  let text = 'network error';
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    text = typeof code === 'string' ? code : current.message;
    if (typeof code === 'string') break;
    current = current.cause;
  }
  return text;
}
