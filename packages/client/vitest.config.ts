import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The CLI tests spawn dist/cli.js: build it from the sources under test first.
    globalSetup: ['test/build.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Every file starts its own servers; two cores run two files at a time.
    maxWorkers: 2,
  },
});
