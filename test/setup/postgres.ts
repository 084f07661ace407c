import type { TestProject } from 'vitest/node';
import { startTestPostgres } from '../helpers/postgres-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's server, or why there is none. */
    postgres: { adminUrl: string; template: string } | { error: string };
  }
}

/**
 * One PostgreSQL server for the whole run (vitest globalSetup), stopped in teardown however the
 * tests end. A server that cannot start is not thrown here: vitest 4 ends a run whose
 * globalSetup throws with exit code 0. Instead every test that asks for a database fails with
 * the reason (test/helpers/postgres.ts), so the run fails and says why; nothing is skipped.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  try {
    const server = await startTestPostgres({ externalUrl: process.env.FANOUT_TEST_POSTGRES_URL || undefined });
    project.provide('postgres', { adminUrl: server.adminUrl, template: server.template });
    return () => server.stop();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    console.error(`\n${reason}\n`);
    project.provide('postgres', { error: reason });
    return async () => {};
  }
}
