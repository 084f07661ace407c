import pg from 'pg';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import * as schema from './schema.ts';

export type PgDb = NodePgDatabase<typeof schema> & { $client: pg.Pool };
/** A transaction handle, as drizzle's node-postgres driver passes it to a transaction callback. */
export type PgTx = Parameters<Parameters<PgDb['transaction']>[0]>[0];
/** Where a query can run: the pool (each statement on its own) or an open transaction. */
export type PgExecutor = PgDb | PgTx;

/** How the service connects; validated by src/config.ts (DATABASE_*). */
export interface PostgresOptions {
  url: string;
  poolSize: number;
  /** Any statement running longer is cancelled by the server; 0: no limit. */
  statementTimeoutMs: number;
  /** disable: plain TCP; require: TLS without checking the certificate; verify-full: TLS, certificate and host checked. */
  ssl: 'disable' | 'require' | 'verify-full';
  /** Shown in pg_stat_activity, so an operator can tell Fanout's connections (and its instances) apart. */
  applicationName?: string;
  /** An idle pooled connection failed (the server restarted, say): the pool drops it and opens another. */
  onIdleError?: (error: Error) => void;
}

const sslOption = (ssl: PostgresOptions['ssl']): pg.PoolConfig['ssl'] => (ssl === 'disable' ? false : { rejectUnauthorized: ssl === 'verify-full' });

/**
 * A connection pool through drizzle's node-postgres driver. Nothing connects until the first
 * query. Rows map to the same domain types as SQLite's (see ./schema.ts).
 */
export function openPostgres(options: PostgresOptions): PgDb {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    ssl: sslOption(options.ssl),
    statement_timeout: options.statementTimeoutMs || undefined,
    // A transaction left open (a bug, a hung await) would hold its row locks, and with them
    // every other instance's claims of those rows: the server ends such a session instead.
    idle_in_transaction_session_timeout: 60_000,
    // A down database answers /health with an error instead of hanging it.
    connectionTimeoutMillis: 10_000,
    application_name: options.applicationName ?? 'fanout',
  });
  // Without a listener, an idle client's error would be an uncaught 'error' event and end the process.
  pool.on('error', options.onIdleError ?? (() => {}));
  return drizzle({ client: pool, schema }) as PgDb;
}

/** Ends the pool once its clients are released; safe to call twice. */
export async function closePostgres(db: PgDb): Promise<void> {
  if (!db.$client.ending) await db.$client.end();
}

export { redactUrl } from './redact-url.ts';
