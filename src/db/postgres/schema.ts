import { sql } from 'drizzle-orm';
import { bigint, boolean, customType, index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import type { Audience, CampaignStatus, FollowUp, Message, Recurrence, SendKind, SendStatus, SyncState } from '../../campaigns/model.ts';
import type { FollowUpPlan, ResolvedAudience } from '../../sends/model.ts';

/*
 * The PostgreSQL twin of ../sqlite/schema.ts: the same tables, columns, names and indexes (a
 * parity test holds them together), so one domain mapping serves both stores. Comments on what
 * the columns mean live there; only what PostgreSQL does differently is said here.
 *
 * - Times are bigint milliseconds since the epoch, as SQLite's integers are, read as JS numbers
 *   (every value stays far below 2^53), so rows map to the domain types unchanged.
 * - JSON columns are jsonb: PostgreSQL checks them on write, node-postgres hands them back
 *   parsed, and dayTotals reads a message's price with ->> instead of parsing text. jsonb does
 *   not keep key order or duplicate keys; nothing compares the stored text, only the values.
 * - Keys (ids, connection ids, remote ids) compare bytewise (COLLATE "C"), as SQLite's BINARY
 *   does: keyset pages and ORDER BY then agree with SQLite whatever locale the database was
 *   created with, and the btree compares with memcmp instead of the locale's rules.
 */

/** Text compared bytewise: ids and other keys that are ordered or paged by. */
const key = customType<{ data: string; driverData: string }>({ dataType: () => 'text COLLATE "C"' });

/** Epoch milliseconds. */
const millis = (name: string) => bigint(name, { mode: 'number' });

export const campaigns = pgTable(
  'campaigns',
  {
    id: key('id').primaryKey(),
    name: text('name').notNull(),
    connectionId: key('connection_id').notNull(),
    message: jsonb('message').$type<Message>().notNull(),
    audience: jsonb('audience').$type<Audience>().notNull(),
    scheduledAt: millis('scheduled_at'),
    recurrence: jsonb('recurrence').$type<Recurrence>(),
    followUps: jsonb('follow_ups').$type<FollowUp[]>(),
    followUpCount: integer('follow_up_count').notNull().default(0),
    followUpsCanceledAt: millis('follow_ups_canceled_at'),
    status: text('status').$type<CampaignStatus>().notNull(),
    revision: integer('revision').notNull().default(1),
    failureReason: text('failure_reason'),
    createdBy: text('created_by').notNull(),
    createdAt: millis('created_at').notNull(),
    updatedAt: millis('updated_at').notNull(),
    seriesCursorAt: millis('series_cursor_at'),
    occurrenceCount: integer('occurrence_count').notNull().default(0),
    nextOccurrenceAt: millis('next_occurrence_at'),
    missedBefore: millis('missed_before'),
    seriesDueAt: millis('series_due_at'),
  },
  (t) => [
    index('campaigns_status_idx').on(t.status, t.id),
    index('campaigns_connection_idx').on(t.connectionId, t.id),
    index('campaigns_scheduled_idx').on(t.scheduledAt, t.id),
    index('campaigns_series_due_idx').on(t.seriesDueAt).where(sql`series_due_at IS NOT NULL`),
  ],
);

export const sends = pgTable(
  'sends',
  {
    id: key('id').primaryKey(),
    campaignId: key('campaign_id').notNull(),
    connectionId: key('connection_id').notNull(),
    kind: text('kind').$type<SendKind>().notNull(),
    occurrenceAt: millis('occurrence_at'),
    dueAt: millis('due_at'),
    parentSendId: key('parent_send_id'),
    followUpIndex: integer('follow_up_index'),
    followUp: jsonb('follow_up').$type<FollowUpPlan>(),
    followUpsMade: integer('follow_ups_made').notNull().default(0),
    followUpCheckAt: millis('follow_up_check_at'),
    revision: integer('revision').notNull().default(1),
    status: text('status').$type<SendStatus>().notNull(),
    reason: text('reason'),
    createdAt: millis('created_at').notNull(),
    updatedAt: millis('updated_at').notNull(),

    syncState: text('sync_state').$type<SyncState>().notNull().default('idle'),
    remoteId: key('remote_id'),
    remoteDeletedAt: millis('remote_deleted_at'),
    syncedRevision: integer('synced_revision').notNull().default(0),
    createStartedAt: millis('create_started_at'),
    createRevision: integer('create_revision'),
    createFingerprint: text('create_fingerprint'),
    createAmbiguous: boolean('create_ambiguous').notNull().default(false),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    nextAttemptAt: millis('next_attempt_at'),
    lastSyncedAt: millis('last_synced_at'),
    syncDueAt: millis('sync_due_at'),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: millis('lease_expires_at'),

    remoteList: text('remote_list').$type<'scheduled' | 'unsent' | 'sent'>(),
    remoteSeenAt: millis('remote_seen_at'),
    sentAt: millis('sent_at'),
    sentCount: integer('sent_count'),
    viewedCount: integer('viewed_count'),
    purchasedCount: integer('purchased_count'),
    remotePrice: integer('remote_price_cents'),
    statsObservedAt: millis('stats_observed_at'),
    remoteMissingAt: millis('remote_missing_at'),
    /** A chat-filter audience resolved for this send (fan ids), written before its create. */
    resolvedAudience: jsonb('resolved_audience').$type<ResolvedAudience>(),

    // Test sends and unsends (see the SQLite schema).
    testUserId: bigint('test_user_id', { mode: 'number' }),
    chatMessageId: text('chat_message_id'),
    unsendAfterMs: millis('unsend_after_ms'),
    unsendRequestedAt: millis('unsend_requested_at'),
    unsendStartedAt: millis('unsend_started_at'),
    unsentAt: millis('unsent_at'),
    unsendableUntil: millis('unsendable_until'),
  },
  (t) => [
    index('sends_due_idx').on(t.connectionId, t.syncDueAt).where(sql`sync_due_at IS NOT NULL`),
    index('sends_campaign_idx').on(t.campaignId, t.id),
    // The dashboard's calendar: sends by planned time (see the SQLite schema).
    index('sends_planned_idx').on(sql`coalesce(${t.dueAt}, ${t.createdAt})`, t.connectionId, t.status, t.kind),
    uniqueIndex('sends_one_shot_idx').on(t.campaignId).where(sql`kind = 'scheduled'`),
    uniqueIndex('sends_occurrence_idx').on(t.campaignId, t.occurrenceAt).where(sql`kind = 'occurrence' AND status <> 'canceled'`),
    uniqueIndex('sends_follow_up_idx').on(t.parentSendId, t.followUpIndex).where(sql`kind = 'follow_up'`),
    index('sends_follow_up_check_idx').on(t.followUpCheckAt).where(sql`follow_up_check_at IS NOT NULL`),
    uniqueIndex('sends_remote_idx').on(t.connectionId, t.remoteId).where(sql`remote_id IS NOT NULL`),
    index('sends_tracked_idx').on(t.connectionId, t.sentAt).where(sql`remote_id IS NOT NULL`),
    index('sends_tracked_id_idx')
      .on(t.connectionId, t.id, t.status, t.sentAt, t.remoteId, t.remoteList, t.remoteSeenAt, t.remoteMissingAt, t.createdAt)
      .where(sql`remote_id IS NOT NULL AND remote_deleted_at IS NULL`),
  ],
);

export const campaignEvents = pgTable(
  'campaign_events',
  {
    // By default, not always: rows copied from another database keep their ids.
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    campaignId: key('campaign_id').notNull(),
    sendId: key('send_id'),
    type: text('type').notNull(),
    actor: text('actor').notNull(),
    at: millis('at').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>(),
  },
  (t) => [index('campaign_events_campaign_idx').on(t.campaignId, t.id), index('campaign_events_send_idx').on(t.sendId, t.id).where(sql`send_id IS NOT NULL`)],
);

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: key('id').primaryKey(),
    name: text('name').notNull(),
    role: text('role').$type<'admin' | 'marketer'>().notNull(),
    connectionIds: jsonb('connection_ids').$type<string[]>(),
    secretHash: text('secret_hash').notNull(),
    createdAt: millis('created_at').notNull(),
    revokedAt: millis('revoked_at'),
  },
  (t) => [uniqueIndex('api_tokens_secret_idx').on(t.secretHash)],
);

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    tokenId: key('token_id').notNull(),
    key: key('key').notNull(),
    requestHash: text('request_hash').notNull(),
    statusCode: integer('status_code').notNull(),
    // Text, not jsonb: a replay must answer with the first response's bytes, key order included.
    responseBody: text('response_body').notNull(),
    createdAt: millis('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tokenId, t.key] }), index('idempotency_keys_created_idx').on(t.createdAt)],
);

export const connections = pgTable('connections', {
  id: key('id').primaryKey(),
  pausedAt: millis('paused_at'),
  pauseReason: text('pause_reason'),
  lastProbeAt: millis('last_probe_at'),
  lastSuccessAt: millis('last_success_at'),
  untrackedCount: integer('untracked_count').notNull().default(0),
  statsPolledAt: millis('stats_polled_at'),
});

export const statsSnapshots = pgTable(
  'stats_snapshots',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    campaignId: key('campaign_id').notNull(),
    sendId: key('send_id'),
    observedAt: millis('observed_at').notNull(),
    type: text('type').$type<'scheduled' | 'unsent' | 'sent'>().notNull(),
    sentCount: integer('sent_count'),
    viewedCount: integer('viewed_count'),
    purchasedCount: integer('purchased_count'),
  },
  (t) => [index('stats_snapshots_campaign_idx').on(t.campaignId, t.observedAt), index('stats_snapshots_send_idx').on(t.sendId, t.observedAt)],
);

export const statsUntracked = pgTable(
  'stats_untracked',
  {
    connectionId: key('connection_id').notNull(),
    remoteId: key('remote_id').notNull(),
    type: text('type').$type<'scheduled' | 'unsent' | 'sent'>().notNull(),
    firstSeenAt: millis('first_seen_at').notNull(),
    lastSeenAt: millis('last_seen_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.connectionId, t.remoteId] })],
);

export const runs = pgTable(
  'runs',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    kind: text('kind').$type<'sync' | 'stats'>().notNull(),
    owner: text('owner').notNull(),
    startedAt: millis('started_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    summary: jsonb('summary').$type<Record<string, unknown>>(),
    error: text('error'),
  },
  (t) => [index('runs_kind_idx').on(t.kind, t.id)],
);

export const instances = pgTable('instances', {
  id: key('id').primaryKey(),
  host: text('host').notNull(),
  pid: integer('pid').notNull(),
  startedAt: millis('started_at').notNull(),
  heartbeatAt: millis('heartbeat_at').notNull(),
});

export const connectionLeases = pgTable(
  'connection_leases',
  {
    connectionId: key('connection_id').primaryKey(),
    owner: key('owner'),
    expiresAt: millis('expires_at'),
  },
  (t) => [index('connection_leases_owner_idx').on(t.owner)],
);

export const statsPollState = pgTable('stats_poll_state', {
  connectionId: key('connection_id').primaryKey(),
  carry: jsonb('carry').$type<Record<string, unknown>>(),
  budgetMilliTokens: millis('budget_milli_tokens').notNull(),
  budgetUpdatedAt: millis('budget_updated_at').notNull(),
});

export const tokenVersions = pgTable('token_versions', {
  id: integer('id').primaryKey(),
  version: millis('version').notNull(),
});
