import { afterEach, describe, expect, it } from 'vitest';
import { runMigrations } from '../../src/db/sqlite/migrate.ts';
import { createLegacyDatabase, insertRows, selectAll, type LegacyDatabase } from '../helpers/legacy-db.ts';

/*
 * Migration 0007 gives each sent original that still owes a follow-up its check (the next
 * follow-up's due time), so the materialiser, which now reads only checked sends, still makes
 * the follow-ups owed by sends that went out before the upgrade.
 */

const HOUR = 3_600_000;
const T0 = Date.UTC(2030, 0, 1, 12);
const followUp = (afterMs: number) => ({ afterMs, message: { text: 'Still thinking?', mediaIds: [], price: 4.99 }, audience: 'non_buyers' });

function campaign(id: string, overrides: Record<string, unknown> = {}) {
  return {
    id,
    name: id,
    connection_id: 'conn_1',
    message: JSON.stringify({ text: 'Drop', mediaIds: [], price: 9.99 }),
    audience: JSON.stringify({ userIds: [1], userLists: [], excludeUserLists: [] }),
    status: 'sent',
    created_by: 'tok_1',
    created_at: T0,
    updated_at: T0,
    ...overrides,
  };
}

const sentSend = (id: string, campaignId: string, overrides: Record<string, unknown> = {}) => ({
  id,
  campaign_id: campaignId,
  connection_id: 'conn_1',
  kind: 'scheduled',
  status: 'sent',
  remote_id: id.replace('snd_', '9'),
  sent_at: T0,
  created_at: T0,
  updated_at: T0,
  ...overrides,
});

describe('upgrading sends to follow-up checks (0007)', () => {
  let legacy: LegacyDatabase | undefined;
  afterEach(() => legacy?.cleanup());

  it('checks the sent originals that owe a follow-up at its due time, and no other send', () => {
    legacy = createLegacyDatabase('0006_test_sends_unsend');
    const two = JSON.stringify([followUp(HOUR), followUp(3 * HOUR)]);
    insertRows(legacy.db, 'campaigns', [
      campaign('cmp_owes', { follow_ups: two, follow_up_count: 2 }),
      campaign('cmp_plain'),
      campaign('cmp_stopped', { follow_ups: two, follow_up_count: 2, follow_ups_canceled_at: T0 + HOUR }),
      campaign('cmp_series', { follow_ups: two, follow_up_count: 2, status: 'scheduled' }),
    ]);
    insertRows(legacy.db, 'sends', [
      sentSend('snd_1', 'cmp_owes'),
      sentSend('snd_2', 'cmp_plain'),
      sentSend('snd_3', 'cmp_stopped'),
      sentSend('snd_4', 'cmp_series', { kind: 'occurrence', follow_ups_made: 1 }),
      sentSend('snd_5', 'cmp_series', { kind: 'occurrence', follow_ups_made: 2 }),
      sentSend('snd_6', 'cmp_series', { kind: 'test' }),
      sentSend('snd_7', 'cmp_series', { kind: 'occurrence', status: 'queued', sent_at: null }),
    ]);

    runMigrations(legacy.db);

    const checks = Object.fromEntries(selectAll(legacy.db, 'sends', 'id').map((r) => [r.id, r.follow_up_check_at]));
    expect(checks).toEqual({ snd_1: T0 + HOUR, snd_2: null, snd_3: null, snd_4: T0 + 3 * HOUR, snd_5: null, snd_6: null, snd_7: null });
  });
});
