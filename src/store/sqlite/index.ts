import { closeDatabase, type Db } from '../../db/sqlite/client.ts';
import type { LifecycleSettings } from '../../sends/lifecycle.ts';
import type { Store } from '../types.ts';
import { createSqliteCampaignStore } from './campaigns.ts';
import { sqliteWriterOf } from './durability.ts';
import { createSqliteInstanceStore } from './instances.ts';
import { createSqliteConnectionStore, createSqliteRunStore } from './connections.ts';
import { createSqliteSendStore } from './sends.ts';
import { createSqliteStatsStore } from './stats.ts';
import { createSqliteTokenStore } from './tokens.ts';

/**
 * The embedded store: one SQLite file (or :memory:) through drizzle on better-sqlite3. Its
 * transactions are synchronous (better-sqlite3 cannot span an await), which is why every
 * decision passed to a store method is a pure synchronous function.
 */
export function createSqliteStore(db: Db, settings: LifecycleSettings): Store & { db: Db } {
  return {
    backend: 'sqlite',
    db,
    campaigns: createSqliteCampaignStore(db, settings),
    instances: createSqliteInstanceStore(db),
    sends: createSqliteSendStore(db, settings),
    stats: createSqliteStatsStore(db, settings),
    connections: createSqliteConnectionStore(db),
    runs: createSqliteRunStore(db),
    tokens: createSqliteTokenStore(db),
    async ping() {
      try {
        db.$client.prepare('SELECT 1').get();
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      sqliteWriterOf(db).close();
      closeDatabase(db);
    },
  };
}
