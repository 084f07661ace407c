import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import type { PgDb } from './client.ts';

export const migrationsFolder = fileURLToPath(new URL('../../../migrations/postgres', import.meta.url));

/**
 * The advisory lock migrations run under (an arbitrary constant: 0x46616e6f7574, "Fanout" in ASCII). Any other
 * advisory lock this service takes must use another key.
 */
export const MIGRATIONS_LOCK_KEY = '77384278570356';

/**
 * Applies pending migrations; a second run is a no-op. Instances that start together queue on a
 * session advisory lock, so one applies the migrations and the others find nothing left to do
 * (drizzle's migrator alone would have them all create its table and run the same SQL). The lock
 * goes with the connection, so a crashed migrator never leaves it held.
 */
export async function runPostgresMigrations(db: PgDb): Promise<void> {
  const client = await db.$client.connect();
  let isBroken = false;
  try {
    // A migration (an index on a large table) or the wait for another instance's may outlast
    // DATABASE_STATEMENT_TIMEOUT: no limit on this connection while it migrates.
    await client.query('SET statement_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATIONS_LOCK_KEY]);
    try {
      await migrate(drizzle({ client }), { migrationsFolder });
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATIONS_LOCK_KEY]);
    }
    await client.query('RESET statement_timeout');
  } catch (error) {
    isBroken = true;
    throw error;
  } finally {
    // A connection in an unknown state (a failed unlock, say) is closed rather than pooled.
    client.release(isBroken);
  }
}
