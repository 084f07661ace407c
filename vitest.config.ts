import { defineConfig } from 'vitest/config';

/**
 * Tests that assert on wall-clock time (the rate limiter's 200-call burst) run as a second
 * project, alone, after everything else: on a 2-core CI machine a crash test or a busy file in
 * parallel would otherwise steal the CPU they are measuring.
 */
const wallClockTests = ['test/ofauth/client-rate-limit.test.ts'];
/** The dashboard in headless Chromium: its own run after the rest, one file at a time (a browser is heavy on 2 cores). */
const browserTests = ['test/dashboard/browser.test.ts'];
/**
 * The API, sync and stats integration tests, run a second time on PostgreSQL (project main-pg):
 * FANOUT_TEST_BACKEND=postgres makes buildTestApp and the harnesses build each app on a fresh
 * database copied from the run's migrated template (test/helpers/backend.ts). Left out: the
 * crash test (its server processes run on SQLite files; npm run test:crash:pg is its PostgreSQL twin),
 * and the files that never build an app on a database (pure plans, the OFAuth client, config,
 * the migrations and the store suite, which covers both backends itself).
 */
const postgresIntegrationTests = ['test/campaigns/**/*.test.ts', 'test/sync/**/*.test.ts', 'test/stats/**/*.test.ts', 'test/http/**/*.test.ts', 'test/tokens/**/*.test.ts', 'test/audience/**/*.test.ts', 'test/dashboard/pages.test.ts', 'test/dashboard/sends.test.ts', 'test/dashboard/form-audience.test.ts', 'test/dashboard/preview.test.ts'];
const notOnPostgres = ['test/sync/crash.test.ts', 'test/sync/crash-follow-ups.test.ts'];

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
      {
        extends: true,
        test: {
          name: 'main-pg',
          include: postgresIntegrationTests,
          exclude: notOnPostgres,
          globalSetup: ['test/setup/postgres.ts'],
          // Drops the databases a file's tests emptied for reuse (test/helpers/postgres.ts).
          setupFiles: ['test/setup/postgres-file.ts'],
          env: { FANOUT_TEST_BACKEND: 'postgres' },
        },
      },
      { extends: true, test: { name: 'wall-clock', include: wallClockTests, fileParallelism: false } },
      { extends: true, test: { name: 'browser', include: browserTests, fileParallelism: false, testTimeout: 180_000 } },
    ],
  },
});
