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
    // The sender's literal-address check per delivery; which secrets sign (rotation, per endpoint).
    'src/delivery/sender.ts:68-74',
    'src/store/endpoints.ts:145-166',
    // Signing lives in @callhook/receiver (signWebhook), one implementation for both ends: its own
    // tests and the server's interop test with the standardwebhooks package cover it.
    // Intake encoding (form body, GET query).
    'src/delivery/encoding.ts',
    // Token throttling.
    'src/auth/ratelimit.ts',
    // The outbox claim's ordering condition and the order key (URL without its query).
    'src/store/outbox.ts:43-53',
    'src/store/outbox-sql.ts:111-123',
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
