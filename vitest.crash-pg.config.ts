import { defineConfig } from 'vitest/config';

/**
 * `npm run test:crash:pg`: the multi-instance crash test on its own (not part of `npm test`),
 * with the run's embedded PostgreSQL server as the main project has it.
 */
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/instances/crash-pg.test.ts'],
    globalSetup: ['test/setup/postgres.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
