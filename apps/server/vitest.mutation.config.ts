import { defineConfig } from 'vitest/config';

/**
 * What `npm run test:mutation` (StrykerJS) runs against each mutant: the fast tests of the
 * modules that carry the README's delivery promises (no server start, so a mutant takes
 * milliseconds). The same files run in `npm test` with everything else.
 */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
