/**
 * A value the store cannot keep the same way on every backend: PostgreSQL's text refuses the NUL
 * character, so neither backend accepts it. Carries `status` 400 and the field, as the request
 * validator's errors do, so the API answers it as a bad request rather than a 500.
 */
export class StoreInputError extends Error {
  readonly status = 400;
  readonly errors: Array<{ path: string; message: string; errorCode: string }>;
  constructor(path: string, message: string) {
    super(message);
    this.errors = [{ path, message, errorCode: 'pattern' }];
  }
}

/** Throws a StoreInputError naming `path` if `value` holds a NUL character. */
export function refuseNul(path: string, value: string | null | undefined): void {
  if (value?.includes('\u0000'))
    throw new StoreInputError(path, 'must not contain the NUL character (U+0000)');
}
