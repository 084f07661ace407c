import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/store/postgres/index.ts';
import type { Store } from '../../src/store/types.ts';
import { createTestPgDatabase, type TestPgDatabase } from '../helpers/postgres.ts';
import { DAY, LEAD_MS, MINUTE, T0, createOneShot } from './fixtures.ts';

/*
 * What only PostgreSQL's row locks can show (the contract suite covers the outcomes): a claim
 * never waits for a row another transaction holds, it takes the next free ones (SKIP LOCKED).
 */
describe('PostgreSQL row locks', () => {
  let database: TestPgDatabase;
  let store: Store;
  beforeEach(async () => {
    database = await createTestPgDatabase();
    store = createPostgresStore(database.open(), { recurrenceLeadMs: LEAD_MS });
  });
  afterEach(async () => {
    await store.close();
    await database.drop();
  });

  it('lets a claim pass over a send another transaction has locked, without waiting for it, and take it once released', async () => {
    const sends = await Promise.all([0, 1, 2].map((i) => createOneShot(store, T0 + i)));
    const [locked, ...free] = sends.map((s) => s.send.id) as [string, ...string[]];
    const other = await database.open(1).$client.connect();
    try {
      // A mutation of that send's campaign in progress elsewhere: its row is locked until COMMIT.
      await other.query('BEGIN');
      await other.query('SELECT id FROM sends WHERE id = $1 FOR UPDATE', [locked]);

      const first = await store.sends.claim({ connectionId: 'conn_a', owner: 'sync-1', now: T0 + DAY, leaseMs: MINUTE, limit: 10 });
      expect(first.work.map((w) => w.send.id).sort()).toEqual([...free].sort());

      await other.query('COMMIT');
      const second = await store.sends.claim({ connectionId: 'conn_a', owner: 'sync-1', now: T0 + DAY, leaseMs: MINUTE, limit: 10 });
      expect(second.work.map((w) => w.send.id)).toEqual([locked]);
    } finally {
      other.release();
    }
  });
});
