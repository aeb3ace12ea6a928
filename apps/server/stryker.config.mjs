// Mutation testing of the modules that carry the README's delivery promises (issue 18):
// `npm run test:mutation` at the root. Each mutant is run against test/unit (vitest.mutation.config.ts).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: [
    // Retry schedule, jitter, Retry-After.
    'src/delivery/schedule.ts',
    // SSRF target checks: at creation (checkUrl) and at delivery (lookup on the address connected to).
    'src/delivery/target.ts',
    // The sender's part of both: which secrets sign (rotation), the literal-address check per delivery.
    'src/delivery/sender.ts:44-47',
    'src/delivery/sender.ts:61-74',
    // Signing.
    'src/delivery/signing.ts',
    // Intake encoding (form body, GET query).
    'src/delivery/encoding.ts',
    // Token throttling.
    'src/auth/ratelimit.ts',
    // The outbox claim's ordering condition and the order key (URL without its query).
    'src/store/outbox.ts:91-95',
    'src/store/outbox.ts:313-336',
  ],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  timeoutMS: 10_000,
};
