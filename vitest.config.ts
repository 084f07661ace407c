import { defineConfig } from 'vitest/config';

/**
 * Tests that assert on wall-clock time (the rate limiter's 200-call burst) run as a second
 * project, alone, after everything else: on a 2-core CI machine a crash test or a busy file in
 * parallel would otherwise steal the CPU they are measuring.
 */
const wallClockTests = ['test/ofauth/client-rate-limit.test.ts'];
/** The dashboard in headless Chromium: its own run after the rest, one file at a time (a browser is heavy on 2 cores). */
const browserTests = ['test/dashboard/browser.test.ts'];

export default defineConfig({
  test: {
    // Native better-sqlite3 handles and loopback servers are per test file; forks keep
    // one file's crash (or leaked handle) from taking the others down.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      // One PostgreSQL server for the run (test/setup/postgres.ts); the wall-clock and browser projects need none.
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'], exclude: [...wallClockTests, ...browserTests], globalSetup: ['test/setup/postgres.ts'] } },
      { extends: true, test: { name: 'wall-clock', include: wallClockTests, fileParallelism: false } },
      { extends: true, test: { name: 'browser', include: browserTests, fileParallelism: false, testTimeout: 180_000 } },
    ],
  },
});
