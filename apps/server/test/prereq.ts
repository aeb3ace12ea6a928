import { test } from 'vitest';

/** CI sets CI=true; there every prerequisite is installed or started by .ci/run. */
export const inCI = process.env.CI === 'true';

/**
 * Whether the tests of `what` must be skipped because `missing` (the reason) holds. Outside CI
 * this says so loudly and skips. In CI (CI=true) it registers a failing test naming the missing
 * prerequisite instead, so a CI run without it cannot go green.
 */
export function skipOrFail(what: string, missing: string | undefined): boolean {
  if (missing === undefined) return false;
  if (inCI) {
    test(`${what}: its prerequisite is here (CI=true does not skip)`, () => {
      throw new Error(`${what} cannot run in CI: ${missing}`);
    });
    return true;
  }
  const line = `*** SKIPPED: ${what} (${missing}) ***`;
  const bar = '*'.repeat(Math.min(line.length, 100));
  console.log(`\n${bar}\n${line}\n${bar}\n`);
  return true;
}
