import { readFileSync } from 'node:fs';
import { is } from 'drizzle-orm';
import { getTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { Audience, Message } from '../../src/campaigns/model.ts';
import { ManualClock } from '../../src/clock.ts';
import { closeDatabase, openDatabase } from '../../src/db/sqlite/client.ts';
import { runMigrations } from '../../src/db/sqlite/migrate.ts';
import * as schema from '../../src/db/sqlite/schema.ts';
import { newCampaignId, newTokenId } from '../../src/ids.ts';
import type { OfauthClient } from '../../src/ofauth/client.ts';
import { defaultConnections } from '../../src/ofauth/simulator/store.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import { fingerprintOf } from '../../src/sync/fingerprint.ts';
import { toMassMessageBody } from '../../src/sync/remote-body.ts';
import { buildTestApp, T0, type TestApp } from '../helpers/app.ts';
import { snapshotTables } from '../helpers/db-snapshot.ts';
import { columnNames, createLegacyDatabase, indexNames, insertRows, legacyCampaign, selectAll, type LegacyCampaignRow, type LegacyDatabase } from '../helpers/legacy-db.ts';
import { fastClientFor, startSimulator, type StartedSimulator } from '../helpers/simulator.ts';

/*
 * "Upgrade without loss": a database as production has it today (only migrations/sqlite/0000_init.sql,
 * one campaigns row holding plan, sync state, lease and stats) is filled with rows in every
 * status and sync state, then the real migrations run. Every campaign must keep its plan, every
 * campaign that ever had work for OFAuth must get exactly one send carrying that work, and a
 * create of unknown outcome must still be resolved by search and adoption, never sent twice.
 */

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const CREATED_AT = T0 - 3 * DAY;
const SEND_AT = T0 + DAY;
/** When the pre-upgrade process started the create whose answer it never got, and then died. */
const CRASH_AT = T0;
/** The 0000-era LEASE_MS default: the dead owner's lease runs out this long after it was taken. */
const LEGACY_LEASE_MS = 120_000;
const DEAD_OWNER = 'fanout-old-1:4242:deadbeef';

/** Lists 1, 3 and 4 exist on the simulator's sandbox connection, so creates there are valid. */
const AUDIENCE: Audience = { userIds: [], userLists: [1, 3], excludeUserLists: [4], subscribedAfterDate: null };

function message(text: string, overrides: Partial<Message> = {}): Message {
  return {
    text,
    mediaItems: [],
    price: 0,
    previewMediaCount: 0,
    isLockedText: false,
    isMarkdown: false,
    userTags: [],
    releaseForms: { users: [], partners: [], guests: [] },
    ...overrides,
  };
}

const AMBIGUOUS_MESSAGE = message('Upgrade night: the **full** set, 40% off', { mediaItems: [4211, 4212], price: 12.5, previewMediaCount: 1, isMarkdown: true });
const AMBIGUOUS_SEND_AT = SEND_AT + 2 * 60 * MINUTE;
const CANCELED_LIVE_MESSAGE = message('Canceled after it was queued');
const CANCELED_LIVE_SEND_AT = SEND_AT + 4 * 60 * MINUTE;

/** The columns 0001 moves from campaigns to sends, value for value. */
const MOVED_COLUMNS = [
  'sync_state', 'remote_id', 'remote_deleted_at', 'synced_revision', 'create_started_at', 'create_revision', 'create_fingerprint', 'create_ambiguous',
  'attempts', 'last_error', 'next_attempt_at', 'last_synced_at', 'sync_due_at', 'lease_owner', 'lease_expires_at', 'remote_list', 'remote_seen_at',
  'sent_at', 'sent_count', 'viewed_count', 'purchased_count', 'remote_price_cents', 'stats_observed_at', 'remote_missing_at',
] as const;
/** The plan: what stays on campaigns, unchanged. */
const PLAN_COLUMNS = ['id', 'name', 'connection_id', 'message', 'audience', 'scheduled_at', 'status', 'revision', 'failure_reason', 'created_by', 'created_at', 'updated_at'] as const;

const pick = <T extends object, K extends keyof T>(row: T, keys: readonly K[]): Pick<T, K> =>
  Object.fromEntries(keys.map((k) => [k, row[k]])) as Pick<T, K>;

const sendIdOf = (campaignId: string) => `snd_${campaignId.slice('cmp_'.length)}`;

interface FixtureRemote {
  /** The OFAuth id of the canceled campaign's still-queued remote copy. */
  canceledLiveRemoteId: string;
}

/** One campaign per status and sync state the 0000 service could leave behind. */
function legacyCampaigns(remote: FixtureRemote) {
  let n = 0;
  // Ids minted a minute apart in creation order, as the service would have.
  const base = (name: string, text: string, fields: Partial<LegacyCampaignRow> & Pick<LegacyCampaignRow, 'status'>) => {
    const createdAt = CREATED_AT + n++ * MINUTE;
    return legacyCampaign({
      id: newCampaignId(createdAt),
      name,
      message: JSON.stringify(message(text)),
      audience: JSON.stringify(AUDIENCE),
      created_at: createdAt,
      updated_at: createdAt + 5_000,
      scheduled_at: SEND_AT,
      ...fields,
    });
  };
  return {
    draft: base('Draft', 'Still thinking about it', { status: 'draft', scheduled_at: null }),
    pending: base('Pending', 'Queued next tick', { status: 'scheduled', sync_state: 'pending', sync_due_at: CRASH_AT - 10 * MINUTE }),
    ambiguous: base('Ambiguous create', '', {
      status: 'scheduled',
      message: JSON.stringify(AMBIGUOUS_MESSAGE),
      scheduled_at: AMBIGUOUS_SEND_AT,
      revision: 2,
      updated_at: CRASH_AT - 5 * MINUTE,
      sync_state: 'creating',
      create_started_at: CRASH_AT,
      create_revision: 2,
      create_fingerprint: JSON.stringify(fingerprintOf(AMBIGUOUS_MESSAGE, AMBIGUOUS_SEND_AT)),
      create_ambiguous: 1,
      attempts: 1,
      last_error: 'OFAuth did not answer within 15000 ms',
      next_attempt_at: CRASH_AT + 45_000,
      sync_due_at: CRASH_AT + 45_000,
      lease_owner: DEAD_OWNER,
      lease_expires_at: CRASH_AT + LEGACY_LEASE_MS,
    }),
    retrying: base('Retrying', 'Backing off after a 503', {
      status: 'scheduled',
      sync_state: 'retrying',
      attempts: 3,
      last_error: '503 SERVICE_UNAVAILABLE: try again later',
      next_attempt_at: CRASH_AT + MINUTE,
      sync_due_at: CRASH_AT + MINUTE,
    }),
    queuedSynced: base('Queued', 'In the remote queue', {
      status: 'queued',
      sync_state: 'synced',
      remote_id: '7000101',
      synced_revision: 1,
      last_synced_at: CREATED_AT + DAY,
      remote_list: 'scheduled',
      remote_seen_at: CRASH_AT - MINUTE,
    }),
    queuedPaused: base('Paused connection', 'Waiting on a paused connection', {
      status: 'queued',
      connection_id: 'conn_paused',
      revision: 3,
      synced_revision: 2,
      remote_id: '7000102',
      sync_state: 'paused',
      last_error: 'OFAuth refused the connection: 401 SESSION_EXPIRED: OnlyFans session expired',
      last_synced_at: CREATED_AT + DAY,
      sync_due_at: CRASH_AT - 20 * MINUTE,
    }),
    queuedError: base('Refused update', 'OFAuth refused the edit', {
      status: 'queued',
      revision: 3,
      synced_revision: 2,
      remote_id: '7000103',
      sync_state: 'error',
      last_error: 'OFAuth refused the update (revision 3 not sent; revision 2 stands): 400 INVALID: already sending',
      last_synced_at: CREATED_AT + DAY,
    }),
    sending: base('Sending', 'Going out right now', {
      status: 'sending',
      scheduled_at: CRASH_AT - 2 * MINUTE,
      remote_id: '7000104',
      synced_revision: 1,
      sync_state: 'synced',
      last_synced_at: CREATED_AT + DAY,
      remote_list: 'unsent',
      remote_seen_at: CRASH_AT - MINUTE,
      sent_count: 310,
      viewed_count: 12,
      purchased_count: 0,
      remote_price_cents: 0,
      stats_observed_at: CRASH_AT - MINUTE,
    }),
    sent: base('Sent', 'Already delivered', {
      status: 'sent',
      scheduled_at: CREATED_AT + DAY,
      remote_id: '7000105',
      synced_revision: 1,
      sync_state: 'synced',
      last_synced_at: CREATED_AT + 2 * 60 * MINUTE,
      remote_list: 'sent',
      remote_seen_at: CRASH_AT - MINUTE,
      sent_at: CREATED_AT + DAY + MINUTE,
      sent_count: 1180,
      viewed_count: 640,
      purchased_count: 51,
      remote_price_cents: 999,
      stats_observed_at: CRASH_AT - MINUTE,
    }),
    canceledLive: base('Canceled, still queued remotely', '', {
      status: 'canceled',
      message: JSON.stringify(CANCELED_LIVE_MESSAGE),
      scheduled_at: CANCELED_LIVE_SEND_AT,
      revision: 2,
      remote_id: remote.canceledLiveRemoteId,
      synced_revision: 1,
      sync_state: 'pending',
      last_synced_at: CREATED_AT + DAY,
      sync_due_at: CRASH_AT - 5 * MINUTE,
      remote_list: 'scheduled',
    }),
    canceledDeleted: base('Canceled and deleted', 'Deleted remotely', {
      status: 'canceled',
      remote_id: '7000106',
      remote_deleted_at: CREATED_AT + DAY,
      synced_revision: 1,
      sync_state: 'deleted',
      last_synced_at: CREATED_AT + DAY,
    }),
    canceledMidCreate: base('Canceled during a create', 'Canceled while its create hung', {
      status: 'canceled',
      sync_state: 'creating',
      create_started_at: CRASH_AT - 30 * MINUTE,
      create_revision: 1,
      create_fingerprint: JSON.stringify(fingerprintOf(message('Canceled while its create hung'), SEND_AT)),
      create_ambiguous: 1,
      attempts: 1,
      last_error: '502 BAD_GATEWAY: upstream',
      next_attempt_at: CRASH_AT - 29 * MINUTE,
      sync_due_at: CRASH_AT - 29 * MINUTE,
    }),
    canceledBeforeCreate: base('Canceled before any create', 'Never left Fanout', { status: 'canceled' }),
    failedRejected: base('Rejected', 'OFAuth said no', {
      status: 'failed',
      failure_reason: 'ofauth_rejected',
      last_error: '400 INVALID: userLists: unknown list id 999',
    }),
    failedLate: base('Missed window', 'Too late to send', {
      status: 'failed',
      scheduled_at: CREATED_AT + 60 * MINUTE,
      failure_reason: 'missed_window',
      last_error: 'Not sent: the send time passed 1200 s before the campaign could be queued (LATE_SEND_MAX).',
    }),
  };
}

type Fixture = ReturnType<typeof legacyCampaigns>;
type FixtureName = keyof Fixture;
/** The only campaigns 0001 gives no send: nothing of theirs ever reached (or may have reached) OFAuth. */
const WITHOUT_SEND: readonly FixtureName[] = ['draft', 'canceledBeforeCreate'];

const SYNC = 'system:sync';
const STATS = 'system:stats';

function legacyEvents(c: Fixture) {
  const rows: Array<{ campaign_id: string; type: string; actor: string; at: number; data: string | null }> = [];
  const add = (row: LegacyCampaignRow, type: string, actor: string, data?: Record<string, unknown>) =>
    rows.push({ campaign_id: row.id, type, actor, at: row.created_at + rows.length, data: data ? JSON.stringify(data) : null });
  for (const row of Object.values(c)) {
    add(row, 'created', 'ops-admin', { revision: 1 });
    if (row.status !== 'draft') add(row, 'scheduled', 'ops-admin');
  }
  add(c.ambiguous, 'sync_started', SYNC, { operation: 'create', revision: 2, sendNow: false });
  add(c.ambiguous, 'sync_error', SYNC, { operation: 'create', kind: 'ambiguous', status: null, code: null, requestId: null, message: 'timeout' });
  add(c.queuedSynced, 'remote_created', SYNC, { remoteId: '7000101', revision: 1 });
  add(c.sent, 'remote_created', SYNC, { remoteId: '7000105', revision: 1 });
  add(c.sent, 'status_changed', STATS, { from: 'queued', to: 'sending' });
  add(c.sent, 'sent', STATS, { sentCount: 1180 });
  add(c.canceledLive, 'canceled', 'marketer-anna');
  // A retryable create failed, then the marketer canceled: no send, so this keeps no send id.
  add(c.canceledBeforeCreate, 'sync_error', SYNC, { operation: 'create', kind: 'retryable', message: 'connect ECONNREFUSED' });
  add(c.canceledBeforeCreate, 'canceled', 'marketer-anna');
  add(c.failedRejected, 'failed', SYNC, { reason: 'ofauth_rejected' });
  return rows;
}

function seedLegacy(db: LegacyDatabase['db'], remote: FixtureRemote): Fixture {
  const campaigns = legacyCampaigns(remote);
  insertRows(db, 'campaigns', Object.values(campaigns));
  insertRows(db, 'campaign_events', legacyEvents(campaigns));
  // 0000 let a marketer delete a canceled or failed campaign: its row went, its events and
  // snapshots stayed. They must survive too (with no send to name in the events; the snapshot
  // gets the id its send would have had, as deleting a campaign leaves its sends' snapshots now).
  const deletedId = newCampaignId(CREATED_AT - DAY);
  insertRows(db, 'campaign_events', [
    { campaign_id: deletedId, type: 'remote_created', actor: SYNC, at: CREATED_AT - DAY, data: JSON.stringify({ remoteId: '6999001', revision: 1 }) },
    { campaign_id: deletedId, type: 'deleted', actor: 'marketer-anna', at: CREATED_AT, data: null },
  ]);
  insertRows(db, 'stats_snapshots', [
    { campaign_id: deletedId, observed_at: CREATED_AT - DAY, type: 'scheduled', sent_count: null, viewed_count: null, purchased_count: null },
    { campaign_id: campaigns.sent.id, observed_at: CREATED_AT + DAY, type: 'scheduled', sent_count: null, viewed_count: null, purchased_count: null },
    { campaign_id: campaigns.sent.id, observed_at: CRASH_AT - MINUTE, type: 'sent', sent_count: 1180, viewed_count: 640, purchased_count: 51 },
    { campaign_id: campaigns.sending.id, observed_at: CRASH_AT - MINUTE, type: 'unsent', sent_count: 310, viewed_count: 12, purchased_count: 0 },
  ]);
  const marketer = newTokenId(CREATED_AT - DAY);
  insertRows(db, 'api_tokens', [
    { id: marketer, name: 'marketer-anna', role: 'marketer', connection_ids: JSON.stringify(['conn_sandbox']), secret_hash: 'a'.repeat(64), created_at: CREATED_AT - DAY, revoked_at: null },
    { id: newTokenId(CREATED_AT - DAY + 1), name: 'old-ci', role: 'admin', connection_ids: null, secret_hash: 'b'.repeat(64), created_at: CREATED_AT - DAY, revoked_at: CREATED_AT },
  ]);
  insertRows(db, 'idempotency_keys', [
    { token_id: marketer, key: 'k-1', request_hash: 'c'.repeat(64), status_code: 201, response_body: JSON.stringify({ id: campaigns.pending.id }), created_at: campaigns.pending.created_at },
    { token_id: marketer, key: 'k-2', request_hash: 'd'.repeat(64), status_code: 422, response_body: JSON.stringify({ title: 'Invalid' }), created_at: CRASH_AT - MINUTE },
  ]);
  insertRows(db, 'connections', [
    { id: 'conn_sandbox', paused_at: null, pause_reason: null, last_probe_at: null, last_success_at: CRASH_AT - MINUTE, untracked_count: 1, stats_polled_at: CRASH_AT - MINUTE },
    {
      id: 'conn_paused',
      paused_at: CRASH_AT - 30 * MINUTE,
      pause_reason: 'OFAuth refused the connection: 401 SESSION_EXPIRED: OnlyFans session expired',
      last_probe_at: CRASH_AT - 10 * MINUTE,
      last_success_at: CREATED_AT + DAY,
      untracked_count: 0,
      stats_polled_at: null,
    },
  ]);
  insertRows(db, 'stats_untracked', [{ connection_id: 'conn_sandbox', remote_id: '6999999', type: 'sent', first_seen_at: CREATED_AT, last_seen_at: CRASH_AT - MINUTE }]);
  insertRows(db, 'runs', [
    { kind: 'sync', owner: DEAD_OWNER, started_at: CRASH_AT - MINUTE, duration_ms: 42, summary: JSON.stringify({ created: 1 }), error: null },
    { kind: 'stats', owner: DEAD_OWNER, started_at: CRASH_AT - MINUTE, duration_ms: 17, summary: null, error: 'socket hang up' },
  ]);
  return campaigns;
}

/** The send 0001 must make of a legacy campaign, as a raw row. */
function expectedSend(c: LegacyCampaignRow): Record<string, unknown> {
  return {
    id: sendIdOf(c.id),
    campaign_id: c.id,
    connection_id: c.connection_id,
    kind: 'scheduled',
    occurrence_at: null,
    due_at: c.scheduled_at,
    // Added by later migrations (follow-ups): an upgraded send is an original with none made.
    parent_send_id: null,
    follow_up_index: null,
    follow_up: null,
    follow_ups_made: 0,
    follow_up_check_at: null,
    revision: c.revision,
    status: c.status === 'scheduled' ? 'pending' : c.status,
    reason: c.failure_reason,
    created_at: c.created_at,
    updated_at: c.updated_at,
    ...pick(c, MOVED_COLUMNS),
    // A later migration's column (0003): no legacy campaign had a resolved chat-filter audience.
    resolved_audience: null,
    // Added later (test sends and unsends): nothing planned for an upgraded send.
    test_user_id: null,
    chat_message_id: null,
    unsend_after_ms: null,
    unsend_requested_at: null,
    unsend_started_at: null,
    unsent_at: null,
    unsendable_until: null,
  };
}

const named = (fixture: Fixture) => Object.entries(fixture) as Array<[FixtureName, LegacyCampaignRow]>;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const withoutSendId = (rows: Array<Record<string, unknown>>) => rows.map(({ send_id: _sendId, ...rest }) => rest);

describe('upgrading a 0000 database to sends', () => {
  let legacy: LegacyDatabase | undefined;
  let t: TestApp | undefined;
  let sim: StartedSimulator | undefined;
  afterEach(async () => {
    // The app closes its store (the database) and the client it was given.
    await t?.close();
    await sim?.close();
    legacy?.cleanup();
    t = sim = legacy = undefined;
  });

  const upgraded = () => {
    legacy = createLegacyDatabase();
    const fixture = seedLegacy(legacy.db, { canceledLiveRemoteId: '7000100' });
    runMigrations(legacy.db);
    return { db: legacy.db, fixture };
  };

  it('starts from the 0000 schema only', () => {
    legacy = createLegacyDatabase();
    expect(columnNames(legacy.db, 'campaigns')).toEqual(expect.arrayContaining([...MOVED_COLUMNS]));
    expect((legacy.db.$client.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'sends'").get() as { n: number }).n).toBe(0);
    expect(selectAll(legacy.db, '__drizzle_migrations')).toHaveLength(1);
  });

  it("keeps every campaign's plan and moves its sync state, create intent, lease and stats into one send", () => {
    legacy = createLegacyDatabase();
    const fixture = seedLegacy(legacy.db, { canceledLiveRemoteId: '7000100' });
    const before = selectAll(legacy.db, 'campaigns', 'id');

    runMigrations(legacy.db);

    const after = selectAll(legacy.db, 'campaigns', 'id');
    expect(after.map((row) => pick(row, PLAN_COLUMNS))).toEqual(before.map((row) => pick(row, PLAN_COLUMNS)));
    for (const row of after) {
      expect(row).toMatchObject({ recurrence: null, series_cursor_at: null, occurrence_count: 0, next_occurrence_at: null, missed_before: null, series_due_at: null });
    }

    const expected = named(fixture)
      .filter(([name]) => !WITHOUT_SEND.includes(name))
      .map(([, row]) => expectedSend(row))
      .sort((a, b) => String(a.id).localeCompare(String(b.id)));
    expect(selectAll(legacy.db, 'sends', 'id')).toEqual(expected);
    for (const name of WITHOUT_SEND) {
      expect(legacy.db.$client.prepare('SELECT count(*) AS n FROM sends WHERE campaign_id = ?').get(fixture[name].id)).toEqual({ n: 0 });
    }

    // Spelled out for the one that matters most: the create whose outcome nobody knows.
    const ambiguous = legacy.db.$client.prepare('SELECT * FROM sends WHERE campaign_id = ?').get(fixture.ambiguous.id);
    expect(ambiguous).toMatchObject({
      id: sendIdOf(fixture.ambiguous.id),
      status: 'pending',
      sync_state: 'creating',
      remote_id: null,
      revision: 2,
      synced_revision: 0,
      create_started_at: CRASH_AT,
      create_revision: 2,
      create_fingerprint: JSON.stringify(fingerprintOf(AMBIGUOUS_MESSAGE, AMBIGUOUS_SEND_AT)),
      create_ambiguous: 1,
      lease_owner: DEAD_OWNER,
      lease_expires_at: CRASH_AT + LEGACY_LEASE_MS,
      sync_due_at: CRASH_AT + 45_000,
      due_at: AMBIGUOUS_SEND_AT,
    });
  });

  it('reads back through the store as domain sends (booleans, JSON, one send per one-shot)', async () => {
    const { db, fixture } = upgraded();
    const store = createSqliteStore(db, { recurrenceLeadMs: 0 });

    for (const [name, row] of named(fixture)) {
      const record = await store.campaigns.find(row.id);
      expect(record?.campaign).toMatchObject({ id: row.id, status: row.status, revision: row.revision, message: JSON.parse(row.message), audience: AUDIENCE, recurrence: null });
      if (WITHOUT_SEND.includes(name)) {
        expect(record?.send, name).toBeNull();
        continue;
      }
      expect(record?.send, name).toMatchObject({ id: sendIdOf(row.id), kind: 'scheduled', createAmbiguous: row.create_ambiguous === 1, remoteId: row.remote_id, syncState: row.sync_state });
      expect(await store.campaigns.listSends(row.id, { limit: 10 }), name).toHaveLength(1);
    }
    expect(await store.campaigns.findSend(sendIdOf(fixture.ambiguous.id))).toMatchObject({
      status: 'pending',
      createStartedAt: CRASH_AT,
      createRevision: 2,
      createAmbiguous: true,
      leaseOwner: DEAD_OWNER,
      leaseExpiresAt: CRASH_AT + LEGACY_LEASE_MS,
    });
    expect(await store.campaigns.findSend(sendIdOf(fixture.sent.id))).toMatchObject({
      status: 'sent',
      remoteId: '7000105',
      sentAt: CREATED_AT + DAY + MINUTE,
      sentCount: 1180,
      viewedCount: 640,
      purchasedCount: 51,
      remotePrice: 999,
    });
  });

  it('keeps events, snapshots, idempotency keys, tokens, connections, untracked items and runs row for row', () => {
    legacy = createLegacyDatabase();
    const fixture = seedLegacy(legacy.db, { canceledLiveRemoteId: '7000100' });
    const unchanged = ['idempotency_keys', 'api_tokens', 'connections', 'stats_untracked', 'runs'];
    const before = Object.fromEntries([...unchanged, 'campaign_events', 'stats_snapshots'].map((table) => [table, selectAll(legacy!.db, table)]));

    runMigrations(legacy.db);

    for (const table of unchanged) expect(selectAll(legacy.db, table), table).toEqual(before[table]);

    const events = selectAll(legacy.db, 'campaign_events');
    expect(withoutSendId(events)).toEqual(before.campaign_events);
    const hasSend = new Set(named(fixture).filter(([name]) => !WITHOUT_SEND.includes(name)).map(([, row]) => row.id));
    for (const event of events) {
      const isLoopEvent = String(event.actor).startsWith('system:') && hasSend.has(String(event.campaign_id));
      expect(event.send_id, `${event.type} by ${event.actor}`).toBe(isLoopEvent ? sendIdOf(String(event.campaign_id)) : null);
    }
    expect(events.filter((e) => e.send_id !== null)).toHaveLength(7);

    const snapshots = selectAll(legacy.db, 'stats_snapshots');
    expect(withoutSendId(snapshots)).toEqual(before.stats_snapshots);
    for (const snapshot of snapshots) expect(snapshot.send_id).toBe(sendIdOf(String(snapshot.campaign_id)));
  });

  it('leaves the tables as src/db/sqlite/schema.ts declares them, campaigns without sync columns, and a second run changes nothing', () => {
    const { db } = upgraded();

    for (const column of MOVED_COLUMNS) expect(columnNames(db, 'campaigns')).not.toContain(column);
    const tables = (Object.values(schema) as unknown[]).filter((value): value is SQLiteTable => is(value, SQLiteTable));
    expect(tables.length).toBeGreaterThanOrEqual(9);
    for (const table of tables) {
      const config = getTableConfig(table);
      expect(columnNames(db, config.name).sort(), config.name).toEqual(config.columns.map((c) => c.name).sort());
      expect(indexNames(db, config.name), config.name).toEqual(config.indexes.map((i) => i.config.name).sort());
    }
    // Every migration since 0000 applied once (0001 sends, and any after it), as migrate.test.ts counts them.
    const journal = JSON.parse(readFileSync(new URL('../../migrations/sqlite/meta/_journal.json', import.meta.url), 'utf8')) as { entries: unknown[] };
    expect(journal.entries.length).toBeGreaterThanOrEqual(2);
    expect(selectAll(db, '__drizzle_migrations')).toHaveLength(journal.entries.length);

    const migrated = snapshotTables(db);
    const schemaSql = db.$client.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY type, name').all();
    runMigrations(db);
    expect(snapshotTables(db)).toEqual(migrated);
    // And from a fresh connection, as a restarted server would run it.
    closeDatabase(db);
    const reopened = openDatabase(legacy!.path);
    try {
      runMigrations(reopened);
      expect(snapshotTables(reopened)).toEqual(migrated);
      expect(reopened.$client.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY type, name').all()).toEqual(schemaSql);
    } finally {
      closeDatabase(reopened);
    }
  });

  it('serves every upgraded campaign through the API with the sync state and stats it had', async () => {
    const { db, fixture } = upgraded();
    t = await buildTestApp({ db, clock: new ManualClock(CRASH_AT) });

    for (const [name, row] of named(fixture)) {
      const res = await t.app.inject({ method: 'GET', url: `/v1/campaigns/${row.id}`, headers: t.admin });
      expect(res.statusCode, `${name}: ${res.body}`).toBe(200);
      const view = res.json();
      expect(view, name).toMatchObject({ id: row.id, status: row.status, failureReason: row.failure_reason, scheduledAt: iso(row.scheduled_at) });
      expect(view.sync, name).toEqual({
        state: row.sync_state,
        remoteId: row.remote_id,
        revision: row.revision,
        syncedRevision: row.synced_revision,
        attempts: row.attempts,
        lastError: row.last_error,
        nextAttemptAt: iso(row.next_attempt_at),
        lastSyncedAt: iso(row.last_synced_at),
      });
      expect(view.stats, name).toEqual(
        row.stats_observed_at === null
          ? null
          : { sentCount: row.sent_count, viewedCount: row.viewed_count, purchasedCount: row.purchased_count, observedAt: iso(row.stats_observed_at) },
      );
    }
    const events = await t.app.inject({ method: 'GET', url: `/v1/campaigns/${fixture.sent.id}/events?limit=100`, headers: t.admin });
    expect(events.statusCode).toBe(200);
    expect(events.json().items.map((e: { type: string; sendId: string | null }) => [e.type, e.sendId])).toEqual([
      ['created', null],
      ['scheduled', null],
      ['remote_created', sendIdOf(fixture.sent.id)],
      ['status_changed', sendIdOf(fixture.sent.id)],
      ['sent', sendIdOf(fixture.sent.id)],
    ]);
  });

  it('still resolves the ambiguous create by search and adoption after the upgrade, never sending it twice', async () => {
    // One clock for the simulator and Fanout, so OFAuth's createdAt and the recorded attempt agree.
    const clock = new ManualClock(CREATED_AT + DAY);
    sim = await startSimulator({ clock, rateLimit: false, connections: [...defaultConnections, { id: 'conn_paused', status: 'expired' }] });
    const client: OfauthClient = fastClientFor(sim);
    // Before the upgrade, the old service queued one campaign that was later canceled ...
    const canceledCopy = await client.createMassMessage('conn_sandbox', toMassMessageBody({ message: CANCELED_LIVE_MESSAGE, audience: AUDIENCE }, CANCELED_LIVE_SEND_AT));
    // ... and sent a create that OFAuth committed, 250 ms after the intent was recorded, whose
    // answer never arrived: the process died holding the lease.
    clock.set(CRASH_AT + 250);
    const ambiguousCopy = await client.createMassMessage('conn_sandbox', toMassMessageBody({ message: AMBIGUOUS_MESSAGE, audience: AUDIENCE }, AMBIGUOUS_SEND_AT));
    legacy = createLegacyDatabase();
    const fixture = seedLegacy(legacy.db, { canceledLiveRemoteId: String(canceledCopy.id) });
    expect(sim.messages()).toHaveLength(2);

    runMigrations(legacy.db);
    t = await buildTestApp({ db: legacy.db, clock, client });
    const sendId = sendIdOf(fixture.ambiguous.id);
    // Past both the settle time and the dead owner's lease.
    clock.set(Math.max(CRASH_AT + t.config.sync.settleMs, fixture.ambiguous.lease_expires_at!) + 1_000);

    const summary = await t.fanout.syncOnce();

    expect(summary).toMatchObject({ adopted: 1, takeovers: 1, created: 2, deleted: 1, failed: 0 });
    const send = await t.store.campaigns.findSend(sendId);
    expect(send).toMatchObject({
      status: 'queued',
      syncState: 'synced',
      remoteId: String(ambiguousCopy.id),
      syncedRevision: 2,
      createStartedAt: null,
      createRevision: null,
      createFingerprint: null,
      createAmbiguous: false,
      leaseOwner: null,
      attempts: 0,
      lastError: null,
    });
    expect((await t.store.campaigns.find(fixture.ambiguous.id))?.campaign.status).toBe('queued');
    const adopted = (await t.store.campaigns.sendEvents(sendId, 0, 100)).filter((e) => e.type === 'adopted');
    expect(adopted).toEqual([expect.objectContaining({ campaignId: fixture.ambiguous.id, sendId, actor: 'system:sync', data: expect.objectContaining({ remoteId: String(ambiguousCopy.id), revision: 2 }) })]);
    expect(sim.messages().filter((m) => m.body.text === AMBIGUOUS_MESSAGE.text).map((m) => m.id)).toEqual([ambiguousCopy.id]);

    // The rest of the first pass: the due creates went out once each, the canceled copy was
    // deleted, the create canceled mid-flight was proven absent, the paused connection stayed paused.
    expect(sim.messages()).toHaveLength(4);
    expect(new Set(sim.messages().map((m) => m.body.text)).size).toBe(4);
    expect(sim.messages().find((m) => m.id === canceledCopy.id)?.canceledAt).not.toBeNull();
    expect(await t.store.campaigns.findSend(sendIdOf(fixture.canceledLive.id))).toMatchObject({ status: 'canceled', syncState: 'deleted' });
    expect(await t.store.campaigns.findSend(sendIdOf(fixture.canceledMidCreate.id))).toMatchObject({ status: 'canceled', createStartedAt: null, remoteId: null });
    for (const name of ['pending', 'retrying'] as const) {
      expect(await t.store.campaigns.findSend(sendIdOf(fixture[name].id)), name).toMatchObject({ status: 'queued', syncState: 'synced' });
    }
    expect(await t.store.campaigns.findSend(sendIdOf(fixture.queuedPaused.id))).toMatchObject({ status: 'queued', syncState: 'paused', remoteId: '7000102' });

    // A second pass finds nothing left to create.
    clock.advance(t.config.sync.settleMs + LEGACY_LEASE_MS);
    expect(await t.fanout.syncOnce()).toMatchObject({ created: 0, adopted: 0 });
    expect(sim.messages()).toHaveLength(4);
  });
});
