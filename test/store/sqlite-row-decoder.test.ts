import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Campaign } from '../../src/campaigns/model.ts';
import { closeDatabase, type Db } from '../../src/db/sqlite/client.ts';
import { campaigns, sends } from '../../src/db/sqlite/schema.ts';
import { sendDefaults, type Send } from '../../src/sends/model.ts';
import { rowDecoder } from '../../src/store/sqlite/row-decoder.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import { createTestDb } from '../helpers/app.ts';
import { audience, DAILY_NOON, HOUR, message, T0 } from './fixtures.ts';

/*
 * The SQLite store reads campaigns and their sends as raw rows and decodes them itself (see
 * row-decoder.ts): what it returns must be what drizzle's own select returns, JSON, booleans and
 * nulls included.
 */

const campaign = (id: string, overrides: Partial<Campaign> = {}): Campaign => ({
  id,
  name: 'Friday "PPV" drop 🔥',
  connectionId: 'conn_a',
  message: message({ unsendAfter: 3600 }),
  audience: audience({ userIds: [7, 8], subscribedAfterDate: '2029-01-01T00:00:00.000Z' }),
  scheduledAt: T0 + HOUR,
  recurrence: null,
  followUps: [{ afterMs: 2 * HOUR, message: message({ text: 'Still there?' }), audience: 'non_buyers' }],
  followUpCount: 1,
  followUpsCanceledAt: null,
  status: 'queued',
  revision: 3,
  failureReason: null,
  createdBy: 'alice',
  createdAt: T0,
  updatedAt: T0 + 5,
  seriesCursorAt: null,
  occurrenceCount: 0,
  nextOccurrenceAt: null,
  missedBefore: null,
  seriesDueAt: null,
  ...overrides,
});

const send = (campaignId: string, overrides: Partial<Send> = {}): Send => ({
  ...sendDefaults({ id: `snd_${campaignId}`, campaignId, connectionId: 'conn_a', kind: 'scheduled', occurrenceAt: null, dueAt: T0 + HOUR, revision: 3, status: 'queued', createdAt: T0, updatedAt: T0 + 5 }),
  syncState: 'synced',
  remoteId: 'mm_1',
  syncedRevision: 3,
  createAmbiguous: true,
  lastError: 'timeout',
  resolvedAudience: { key: 'k', fanIds: [1, 2], resolvedAt: T0, pages: 1 },
  sentCount: 0,
  ...overrides,
});

describe('SQLite row decoder', () => {
  let db: Db;
  beforeEach(() => {
    db = createTestDb();
    db.insert(campaigns).values([campaign('cmp_a'), campaign('cmp_b', { followUps: null, followUpCount: 0, status: 'draft' }), campaign('cmp_c', { recurrence: DAILY_NOON, nextOccurrenceAt: T0 + 24 * HOUR, seriesDueAt: T0 })]).run();
    db.insert(sends).values([send('cmp_a'), send('cmp_c', { kind: 'occurrence', remoteId: 'mm_2', occurrenceAt: T0 + 24 * HOUR, createAmbiguous: false, resolvedAudience: null })]).run();
  });
  afterEach(() => closeDatabase(db));

  it('decodes each table as drizzle selects it', () => {
    for (const table of [campaigns, sends]) {
      const decoder = rowDecoder(table);
      const raw = db.select().from(table).orderBy(table.id).values();
      expect(raw.map((values) => decoder.decode(values, 0))).toEqual(db.select().from(table).orderBy(table.id).all());
      expect(decoder.width).toBe(raw[0]!.length);
    }
  });

  it('gives find and list the campaign and its one-shot send as drizzle reads them', async () => {
    const store = createSqliteStore(db, { recurrenceLeadMs: HOUR });
    const drizzleCampaign = (id: string) => db.select().from(campaigns).all().find((c) => c.id === id)!;
    const oneShot = { campaign: drizzleCampaign('cmp_a'), send: db.select().from(sends).all().find((s) => s.campaignId === 'cmp_a')!, series: null };
    const draft = { campaign: drizzleCampaign('cmp_b'), send: null, series: null };
    expect(await store.campaigns.find('cmp_a')).toEqual(oneShot);
    expect(await store.campaigns.find('cmp_b')).toEqual(draft);
    // A series has no one-shot send: its occurrence shows in the summary, never as `send`.
    const series = await store.campaigns.find('cmp_c');
    expect(series).toMatchObject({ campaign: drizzleCampaign('cmp_c'), send: null, series: { sendCounts: { queued: 1 } } });
    expect(await store.campaigns.find('cmp_z')).toBeNull();
    expect(await store.campaigns.list({ connectionIds: null, limit: 10 })).toEqual([series, draft, oneShot]);
  });
});
