/**
 * Why a webhook request was refused. Every refusal is a `WebhookError` with the HTTP status a
 * receiver should answer, so adapters never need to know the subclasses; integrators who do care
 * can tell them apart with `instanceof` or `code`.
 */
export abstract class WebhookError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
}

/** Missing or malformed signature headers, or no signature made with any of the secrets. */
export class SignatureError extends WebhookError {
  override readonly name = 'SignatureError';
  readonly code = 'bad_signature';
  readonly status = 401;
}

/**
 * A correctly formed `webhook-timestamp` too far from now: a replayed capture, or a clock that is
 * off. Checked before the signature so a replay costs no HMAC.
 */
export class StaleTimestampError extends WebhookError {
  override readonly name = 'StaleTimestampError';
  readonly code = 'stale_timestamp';
  readonly status = 401;
  constructor(
    /** Unix seconds the request says it was signed at. */
    readonly timestamp: number,
    /** Unix seconds on this receiver's clock. */
    readonly now: number,
    readonly toleranceSeconds: number,
  ) {
    super(
      `webhook-timestamp ${timestamp} is ${Math.abs(now - timestamp)} s ${timestamp < now ? 'old' : 'in the future'}, beyond the ${toleranceSeconds} s tolerance`,
    );
  }
}

/** The request is not a webhook delivery at all: wrong method, media type, or an unreadable body. */
export class MalformedRequestError extends WebhookError {
  override readonly name = 'MalformedRequestError';
  readonly code = 'malformed_request';
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export interface FieldIssue {
  /** The event field (or own parameter) at fault. */
  field: string;
  /** The rule it breaks, in words. */
  rule: string;
}

/**
 * The event data does not fit the spec's schema for its event type. `field` and `rule` name the
 * first problem; `issues` has them all.
 */
export class InvalidFieldError extends WebhookError {
  override readonly name = 'InvalidFieldError';
  readonly code = 'invalid_field';
  readonly status = 422;
  readonly field: string;
  readonly rule: string;
  constructor(readonly issues: readonly [FieldIssue, ...FieldIssue[]]) {
    const [first] = issues;
    super(issues.map((i) => `${i.field}: ${i.rule}`).join('; '));
    this.field = first.field;
    this.rule = first.rule;
  }
}

/** A retry arrived while the first attempt of the same delivery is still being handled here. */
export class InProgressError extends WebhookError {
  override readonly name = 'InProgressError';
  readonly code = 'in_progress';
  readonly status = 409;
  constructor(readonly deliveryId: string) {
    super(`delivery ${deliveryId} is still being handled; try again later`);
  }
}
