import { sql } from 'drizzle-orm';
import { closePostgres, type PgDb } from '../../db/postgres/client.ts';
import type { LifecycleSettings } from '../../sends/lifecycle.ts';
import type { Store } from '../types.ts';
import { createPostgresCampaignStore } from './campaigns.ts';
import { createPostgresInstanceStore } from './instances.ts';
import { createPostgresConnectionStore, createPostgresRunStore } from './connections.ts';
import { createPostgresSendStore } from './sends.ts';
import { createPostgresStatsStore } from './stats.ts';
import { createPostgresTokenStore } from './tokens.ts';

/**
 * The server store: PostgreSQL through drizzle on node-postgres, for several instances on one
 * database. Same interfaces, same contract suite as the SQLite store; each method is one
 * transaction that locks the rows it decides on (see ./write.ts for the lock order), and no
 * transaction outlives the method, so none is ever open across an OFAuth call.
 */
export function createPostgresStore(db: PgDb, settings: LifecycleSettings): Store & { db: PgDb } {
  return {
    backend: 'postgres',
    db,
    campaigns: createPostgresCampaignStore(db, settings),
    instances: createPostgresInstanceStore(db),
    sends: createPostgresSendStore(db, settings),
    stats: createPostgresStatsStore(db, settings),
    connections: createPostgresConnectionStore(db),
    runs: createPostgresRunStore(db),
    tokens: createPostgresTokenStore(db),
    async ping() {
      if (db.$client.ending) return false;
      try {
        await db.execute(sql`SELECT 1`);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await closePostgres(db);
    },
  };
}
