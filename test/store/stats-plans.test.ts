import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeDatabase, openDatabase, type Db } from '../../src/db/sqlite/client.ts';
import { runMigrations } from '../../src/db/sqlite/migrate.ts';
import { connectionsToPollSql, trackedPageSql } from '../../src/store/sqlite/stats.ts';

/*
 * The poller's two queries must stay on sends_tracked_id_idx: on any other index a million
 * tracked sends cost a sort per page (quadratic paging) or a row read per send sent long ago.
 * Without ANALYZE the plan depends on the schema only, so an empty database shows the plan a
 * full one gets.
 */
describe('stats store query plans', () => {
  let db: Db;
  beforeEach(() => {
    db = openDatabase(':memory:');
    runMigrations(db);
  });
  afterEach(() => {
    closeDatabase(db);
  });

  const planOf = (sql: string, params: Record<string, unknown>) =>
    db.$client
      .prepare<Record<string, unknown>, { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
      .all(params)
      .map((row) => row.detail);

  it('pages tracked sends by a range on sends_tracked_id_idx, with no sort', () => {
    const plan = planOf(trackedPageSql, { connectionId: 'conn_a', since: 0, afterId: '', limit: 5_000 });
    expect(plan).toEqual(['SEARCH sends USING INDEX sends_tracked_id_idx (connection_id=? AND id>?)']);
  });

  it('finds the connections to poll by seeks on sends_tracked_id_idx, never a scan of sends', () => {
    const plan = planOf(connectionsToPollSql, { since: 0 });
    expect(plan.filter((step) => step.includes('sends'))).toEqual([
      'SEARCH sends USING INDEX sends_tracked_id_idx',
      'SEARCH s USING INDEX sends_tracked_id_idx (connection_id>?)',
      'SEARCH s EXISTS USING INDEX sends_tracked_id_idx (connection_id=?)',
    ]);
  });
});
