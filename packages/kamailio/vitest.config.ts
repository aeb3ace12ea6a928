import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Real NATS and, in the lab tests, a real switch: generous limits on two shared cores.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
