import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { createPostgresStore } from '../../src/store/postgres/index.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/types.ts';
import { createTestDb } from '../helpers/app.ts';
import { createTestPgDatabase } from '../helpers/postgres.ts';
import { defineFollowUpContract } from './contract-follow-ups.ts';
import { defineInstanceContract } from './contract-instances.ts';
import { defineViewReadContract } from './contract-views.ts';
import { defineAudienceContract } from './contract-audience.ts';
import { defineRaceContract } from './contract-races.ts';
import { defineSendWorkflowContract } from './contract-send-workflows.ts';
import { defineStoreContract, type StoreBackend } from './contract-suite.ts';
import { LEAD_MS } from './fixtures.ts';

/*
 * One contract, every backend: a new store implementation joins by adding its entry here. The
 * suite itself (./contract-suite.ts) speaks only the Store interface.
 */

const settings = { recurrenceLeadMs: LEAD_MS };

/** A store whose close also drops its database (the suite closes every store it opens). */
function droppingOnClose(store: Store, drop: () => Promise<void>): Store {
  return { ...store, close: async () => { await store.close(); await drop(); } };
}

const backends: StoreBackend[] = [
  {
    name: 'sqlite',
    open: async () => createSqliteStore(createTestDb(), settings),
    // Two handles on one file, as two processes would hold it (:memory: is private to one handle).
    openPeers: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fanout-store-contract-'));
      const path = join(dir, 'fanout.db');
      const stores = [createSqliteStore(createTestDb(path), settings), createSqliteStore(createTestDb(path), settings)] as const;
      return {
        stores: [stores[0], stores[1]],
        async dispose() {
          await Promise.all(stores.map((s) => s.close()));
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    // A fresh database per test, copied from the run's migrated template (test/setup/postgres.ts).
    open: async () => {
      const database = await createTestPgDatabase();
      return droppingOnClose(createPostgresStore(database.open(), settings), database.drop);
    },
    // Two pools on one database, as two instances hold it.
    openPeers: async () => {
      const database = await createTestPgDatabase();
      return {
        stores: [createPostgresStore(database.open(), settings), createPostgresStore(database.open(), settings)],
        dispose: database.drop,
      };
    },
  },
];

describe.each(backends)('$name store contract', (backend) => {
  defineStoreContract(backend);
  defineRaceContract(backend);
  defineInstanceContract(backend);
  defineFollowUpContract(backend);
  defineAudienceContract(backend);
  defineSendWorkflowContract(backend);
  defineViewReadContract(backend);
});
