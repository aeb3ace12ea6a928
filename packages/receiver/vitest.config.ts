import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Property tests and real servers: generous limits, since CI shares two cores with builds.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
