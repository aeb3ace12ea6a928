import { DomainError } from '@callhook/contract';

/**
 * A value the store cannot keep the same way on every backend: PostgreSQL's text refuses the NUL
 * character, so neither backend accepts it. Throws the domain's `invalid` error naming `field`
 * (the API's dotted name), which the API answers as a 400 rather than a 500.
 */
export function refuseNul(field: string, value: string | null | undefined): void {
  if (value?.includes('\u0000')) {
    throw new DomainError('invalid', 'must not contain the NUL character (U+0000)', {
      field,
      rule: 'pattern',
    });
  }
}
