import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // A machine missing bubblewrap, redis-server or Chromium fails at once, saying what to install.
    globalSetup: ['test/global-setup.ts'],
  },
});
