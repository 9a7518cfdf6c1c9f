import { defineConfig } from 'vitest/config';

// Unit, property, calibration, lab and grader tests (Node). The browser e2e suite has its own
// config (tests/e2e/vitest.config.ts) and runs against the built, unzipped site.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/e2e/**', 'node_modules/**'],
    environment: 'node',
    testTimeout: 60_000,
    pool: 'forks',
  },
});
