import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/store/postgres/index.ts';
import type { Store } from '../../src/store/types.ts';
import { createTestPgDatabase, type TestPgDatabase } from '../helpers/postgres.ts';
import { DAY, LEAD_MS, MINUTE, T0, createOneShot } from './fixtures.ts';

/*
 * What only PostgreSQL's row locks can show (the contract suite covers the outcomes): a claim
 * never waits for a row another transaction holds, it takes the next free ones (SKIP LOCKED);
 * a write to a send locks its campaign first (the lock order of src/store/postgres/write.ts).
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

  it('locks a send\'s campaign before the send when recording an outcome: waiting for the campaign, it holds no lock on the send', async () => {
    const { campaign, send } = await createOneShot(store, T0);
    await store.sends.claim({ connectionId: 'conn_a', owner: 'sync-1', now: T0 + DAY, leaseMs: MINUTE, limit: 1 });
    const pool = database.open(2).$client;
    const [other, probe] = [await pool.connect(), await pool.connect()];
    try {
      // A campaign mutation in progress elsewhere: the campaign row is locked until COMMIT.
      await other.query('BEGIN');
      await other.query('SELECT id FROM campaigns WHERE id = $1 FOR UPDATE', [campaign.id]);
      const { pid } = (await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!;

      const recording = store.sends.recordOutcome(send.id, 'sync-1', T0 + DAY, () => ({ changes: { lastError: 'checked' } }));
      const blockedByOther = async () => (await probe.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))', [pid])).rows[0]!.n;
      await expect.poll(blockedByOther).toBe(1);

      // Meanwhile the send is free: another session locks it without waiting.
      await probe.query('BEGIN');
      await expect(probe.query('SELECT id FROM sends WHERE id = $1 FOR UPDATE NOWAIT', [send.id])).resolves.toMatchObject({ rowCount: 1 });
      await probe.query('ROLLBACK');

      await other.query('COMMIT');
      expect((await recording)!.send).toMatchObject({ id: send.id, lastError: 'checked', leaseOwner: null });
    } finally {
      other.release();
      probe.release();
    }
  });
});
