import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import { createTestDb } from '../helpers/app.ts';
import { defineStoreContract, type StoreBackend } from './contract-suite.ts';
import { LEAD_MS } from './fixtures.ts';

/*
 * One contract, every backend: a new store implementation joins by adding its entry here. The
 * suite itself (./contract-suite.ts) speaks only the Store interface.
 */

const settings = { recurrenceLeadMs: LEAD_MS };

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
];

describe.each(backends)('$name store contract', (backend) => {
  defineStoreContract(backend);
});
