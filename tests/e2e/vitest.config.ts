import { defineConfig } from 'vitest/config';

// Browser end-to-end suite: runs headless Chromium against the built, zipped and unzipped site
// (release/iov-lab-<version>.zip), from file:// and over a local static server.
// One file at a time in one fork: the machines here have 2 cores and Chromium wants both.
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.e2e.test.ts'],
    environment: 'node',
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
