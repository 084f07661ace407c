import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeDatabase, openDatabase, type Db } from '../../src/db/sqlite/client.ts';
import { runMigrations } from '../../src/db/sqlite/migrate.ts';
import { plannedSendsSql } from '../../src/store/sqlite/campaigns.ts';

/*
 * The calendar's queries must stay on sends_planned_idx, and its counts on the index alone: a
 * busy month is a few hundred thousand sends, and a row read each would make the page slow.
 * Leaving test sends out must not cost that (kind is the index's last column).
 */
describe('calendar query plans', () => {
  let db: Db;
  beforeEach(() => {
    db = openDatabase(':memory:');
    runMigrations(db);
  });
  afterEach(() => {
    closeDatabase(db);
  });

  const planOf = (sql: string, params: unknown[]) =>
    db.$client
      .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
      .all(...params)
      .map((row) => row.detail);

  it('counts a window from the covering index, in any scope', () => {
    expect(planOf(plannedSendsSql(null).counts, [0, 1])).toContain('SEARCH s USING COVERING INDEX sends_planned_idx (<expr>>? AND <expr><?)');
    expect(planOf(plannedSendsSql(2).counts, [0, 1, 'conn_a', 'conn_b'])).toContain('SEARCH s USING COVERING INDEX sends_planned_idx (<expr>>? AND <expr><?)');
  });

  it('lists a window by a range on the index', () => {
    expect(planOf(plannedSendsSql(1).sends, [0, 1, 'conn_a', 10])[0]).toBe('SEARCH s USING INDEX sends_planned_idx (<expr>>? AND <expr><?)');
  });
});
