import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // `npm start` installs and builds before the server answers: minutes on a busy 2-core machine.
    testTimeout: 180_000,
    hookTimeout: 420_000,
  },
});
