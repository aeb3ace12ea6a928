import type { components } from './openapi.gen.js';

type FieldError = components['schemas']['FieldError'];

/** What went wrong, in the domain's words; the HTTP API answers each kind with its status. */
export type DomainErrorKind =
  /** The input breaks a rule (400). */
  | 'invalid'
  /** What it names does not exist, or is not the caller's (404). */
  | 'not_found'
  /** The thing cannot take this now; trying later may work (503). */
  | 'unavailable';

/**
 * callhook's one error for a refusal that its callers must be told about: thrown by the store,
 * the intake and the simulator, translated by the HTTP API into the spec's `Error` body. `field`
 * uses the API's dotted names (`data.CallID`, `events.3.extension_id`).
 */
export class DomainError extends Error {
  override readonly name: string = 'DomainError';
  readonly field: string | undefined;
  readonly rule: string;
  readonly location: NonNullable<FieldError['location']>;
  /** A stable code for the body's `code` (e.g. `simulator_stopped`). */
  readonly code: string | undefined;

  constructor(
    readonly kind: DomainErrorKind,
    message: string,
    opts: { field?: string; rule?: string; location?: FieldError['location']; code?: string } = {},
  ) {
    super(message);
    this.field = opts.field;
    this.rule = opts.rule ?? 'invalid';
    this.location = opts.location ?? 'body';
    this.code = opts.code;
  }

  /** The error as the spec's field error, when it names a field. */
  toFieldError(): FieldError | undefined {
    if (this.field === undefined) return undefined;
    return { field: this.field, location: this.location, rule: this.rule, message: this.message };
  }
}
