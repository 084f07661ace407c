import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import type { Audience, CampaignStatus, FollowUp, Message, Recurrence, SendKind, SendStatus, SyncState } from '../../campaigns/model.ts';
import type { FollowUpPlan, ResolvedAudience } from '../../sends/model.ts';

// Times are integer milliseconds since the epoch (UTC): cheap to index and compare, and the
// API layer is the one place that renders them as ISO-8601.

export const campaigns = sqliteTable(
  'campaigns',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    connectionId: text('connection_id').notNull(),
    message: text('message', { mode: 'json' }).$type<Message>().notNull(),
    audience: text('audience', { mode: 'json' }).$type<Audience>().notNull(),
    /** One-shot: the send time (null: as soon as synced). Series: the series start (null: from creation). */
    scheduledAt: integer('scheduled_at'),
    /** Null for a one-shot campaign; a series otherwise. */
    recurrence: text('recurrence', { mode: 'json' }).$type<Recurrence>(),
    /** A PPV's follow-ups, earliest first; null when none. */
    followUps: text('follow_ups', { mode: 'json' }).$type<FollowUp[]>(),
    /** followUps' length, so the materialiser's query can compare it with a send's follow_ups_made. */
    followUpCount: integer('follow_up_count').notNull().default(0),
    /** The campaign was canceled: no follow-up is made after this. */
    followUpsCanceledAt: integer('follow_ups_canceled_at'),
    status: text('status').$type<CampaignStatus>().notNull(),
    /** Bumped by every change to message, audience or schedule: the desired state's version. */
    revision: integer('revision').notNull().default(1),
    failureReason: text('failure_reason'),
    createdBy: text('created_by').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),

    // Series bookkeeping (null for one-shots): what has been turned into sends so far.
    /** The last occurrence time materialised as a send (or recorded as missed). */
    seriesCursorAt: integer('series_cursor_at'),
    /** Occurrences materialised so far, missed ones included: what maxOccurrences counts. */
    occurrenceCount: integer('occurrence_count').notNull().default(0),
    /** The next occurrence after the cursor; null when the series has ended. */
    nextOccurrenceAt: integer('next_occurrence_at'),
    /** Occurrences before this time are recorded as missed, never sent (set on resume). */
    missedBefore: integer('missed_before'),
    /** When the materialiser should next look at this series; null when it needs nothing. */
    seriesDueAt: integer('series_due_at'),
  },
  (t) => [
    index('campaigns_status_idx').on(t.status, t.id),
    index('campaigns_connection_idx').on(t.connectionId, t.id),
    index('campaigns_scheduled_idx').on(t.scheduledAt, t.id),
    // Partial, so a tick's materialisation costs what is due, not how many series exist.
    index('campaigns_series_due_idx').on(t.seriesDueAt).where(sql`series_due_at IS NOT NULL`),
  ],
);

/**
 * One OFAuth mass message made from a campaign: its own sync state, lease and outcome. A
 * one-shot campaign has one (kind 'scheduled'); a series has one per occurrence.
 */
export const sends = sqliteTable(
  'sends',
  {
    id: text('id').primaryKey(),
    campaignId: text('campaign_id').notNull(),
    connectionId: text('connection_id').notNull(),
    kind: text('kind').$type<SendKind>().notNull(),
    /** The series occurrence this send is (null for a one-shot). */
    occurrenceAt: integer('occurrence_at'),
    /** When it should go out; null: as soon as synced. */
    dueAt: integer('due_at'),
    /** A follow-up's original send, and its index in the campaign's followUps. */
    parentSendId: text('parent_send_id'),
    followUpIndex: integer('follow_up_index'),
    /** A follow-up's plan and progress (the buyers list's intent, id and adds). */
    followUp: text('follow_up', { mode: 'json' }).$type<FollowUpPlan>(),
    /** An original send's follow-ups made so far. */
    followUpsMade: integer('follow_ups_made').notNull().default(0),
    /** When an original next owes a follow-up: the materialiser's scan (null: owes none). */
    followUpCheckAt: integer('follow_up_check_at'),
    /** The campaign revision this send should carry. */
    revision: integer('revision').notNull().default(1),
    status: text('status').$type<SendStatus>().notNull(),
    /** Why it failed or was canceled (missed_window, ofauth_rejected, remote_error, paused, …). */
    reason: text('reason'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),

    // Sync: the observed remote state and the reconciler's bookkeeping.
    syncState: text('sync_state').$type<SyncState>().notNull().default('idle'),
    remoteId: text('remote_id'),
    remoteDeletedAt: integer('remote_deleted_at'),
    syncedRevision: integer('synced_revision').notNull().default(0),
    /** Set before a create call and cleared once its outcome is known: a create that may exist. */
    createStartedAt: integer('create_started_at'),
    createRevision: integer('create_revision'),
    createFingerprint: text('create_fingerprint'),
    /** The create's outcome is unknown (timeout, reset, 5xx, crash): search before creating again. */
    createAmbiguous: integer('create_ambiguous', { mode: 'boolean' }).notNull().default(false),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    nextAttemptAt: integer('next_attempt_at'),
    lastSyncedAt: integer('last_synced_at'),
    /** When the reconciler should next look at this send; null when it needs nothing. */
    syncDueAt: integer('sync_due_at'),
    leaseOwner: text('lease_owner'),
    leaseExpiresAt: integer('lease_expires_at'),

    // Stats: the latest outcome the poller observed.
    remoteList: text('remote_list').$type<'scheduled' | 'unsent' | 'sent'>(),
    remoteSeenAt: integer('remote_seen_at'),
    sentAt: integer('sent_at'),
    sentCount: integer('sent_count'),
    viewedCount: integer('viewed_count'),
    purchasedCount: integer('purchased_count'),
    remotePrice: integer('remote_price_cents'),
    statsObservedAt: integer('stats_observed_at'),
    /** Set when the poller read the lists back past this send's remote message without finding it. */
    remoteMissingAt: integer('remote_missing_at'),
    /** A chat-filter audience resolved for this send (fan ids), written before its create. */
    resolvedAudience: text('resolved_audience', { mode: 'json' }).$type<ResolvedAudience>(),

    // Test sends and unsends.
    /** A test send's recipient (fan id); null for mass messages. */
    testUserId: integer('test_user_id'),
    /** A test send's chat message id: kept apart from remote_id, which is the mass-message id space. */
    chatMessageId: text('chat_message_id'),
    /** message.unsendAfter in ms, stamped when the send was made or sent; null: no auto-unsend. */
    unsendAfterMs: integer('unsend_after_ms'),
    unsendRequestedAt: integer('unsend_requested_at'),
    /** Set before the unsend call, cleared once its outcome is known. */
    unsendStartedAt: integer('unsend_started_at'),
    unsentAt: integer('unsent_at'),
    /** OFAuth's unsend window end as last seen (canUnsend / unsendSeconds); null: unknown. */
    unsendableUntil: integer('unsendable_until'),
  },
  (t) => [
    // Partial, so a tick's claim costs what is due, not what is stored.
    index('sends_due_idx').on(t.connectionId, t.syncDueAt).where(sql`sync_due_at IS NOT NULL`),
    index('sends_campaign_idx').on(t.campaignId, t.id),
    // The dashboard's calendar: sends by planned time (a send-now one-shot has no due_at and
    // is placed at its creation). Covering, so a month's counts never read the rows; with the
    // kind, as a test send (one fan's chat message) is left off the calendar.
    index('sends_planned_idx').on(sql`coalesce(${t.dueAt}, ${t.createdAt})`, t.connectionId, t.status, t.kind),
    // A one-shot campaign has exactly one send.
    uniqueIndex('sends_one_shot_idx').on(t.campaignId).where(sql`kind = 'scheduled'`),
    // An occurrence becomes a send once: a second materialisation (after a crash, or by another
    // process) conflicts and is skipped. Canceled sends stand aside so a resumed series or a
    // schedule changed back can make that occurrence again.
    uniqueIndex('sends_occurrence_idx').on(t.campaignId, t.occurrenceAt).where(sql`kind = 'occurrence' AND status <> 'canceled'`),
    // A follow-up is made once per original and index: a second materialisation conflicts.
    uniqueIndex('sends_follow_up_idx').on(t.parentSendId, t.followUpIndex).where(sql`kind = 'follow_up'`),
    // The follow-up materialiser's scan: only originals that owe a follow-up are in it, so a
    // tick reads what is due, never the sends at rest.
    index('sends_follow_up_check_idx').on(t.followUpCheckAt).where(sql`follow_up_check_at IS NOT NULL`),
    // One remote message belongs to at most one send: an adoption can never double-claim.
    uniqueIndex('sends_remote_idx').on(t.connectionId, t.remoteId).where(sql`remote_id IS NOT NULL`),
    index('sends_tracked_idx').on(t.connectionId, t.sentAt).where(sql`remote_id IS NOT NULL`),
    // The stats poller's walk over the sends with a live remote copy, a page at a time in id
    // order (keyset). The other columns are the ones it reads, so the walk never visits the
    // table: sends sent before the window are passed over on their index entry, and a million
    // tracked rows load in half the time. updated_at stays out (it changes on every write); only
    // legacy sent rows without sent_at read it from the row.
    index('sends_tracked_id_idx')
      .on(t.connectionId, t.id, t.status, t.sentAt, t.remoteId, t.remoteList, t.remoteSeenAt, t.remoteMissingAt, t.createdAt)
      .where(sql`remote_id IS NOT NULL AND remote_deleted_at IS NULL`),
  ],
);

export const campaignEvents = sqliteTable(
  'campaign_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    campaignId: text('campaign_id').notNull(),
    /** The send the event is about; null for events about the campaign as a whole. */
    sendId: text('send_id'),
    type: text('type').notNull(),
    actor: text('actor').notNull(),
    at: integer('at').notNull(),
    data: text('data', { mode: 'json' }).$type<Record<string, unknown>>(),
  },
  (t) => [index('campaign_events_campaign_idx').on(t.campaignId, t.id), index('campaign_events_send_idx').on(t.sendId, t.id).where(sql`send_id IS NOT NULL`)],
);

export const apiTokens = sqliteTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    role: text('role').$type<'admin' | 'marketer'>().notNull(),
    /** Null: every connection. Otherwise the only connections this token may touch. */
    connectionIds: text('connection_ids', { mode: 'json' }).$type<string[]>(),
    secretHash: text('secret_hash').notNull(),
    createdAt: integer('created_at').notNull(),
    revokedAt: integer('revoked_at'),
  },
  (t) => [uniqueIndex('api_tokens_secret_idx').on(t.secretHash)],
);

export const idempotencyKeys = sqliteTable(
  'idempotency_keys',
  {
    tokenId: text('token_id').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    statusCode: integer('status_code').notNull(),
    responseBody: text('response_body').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tokenId, t.key] }), index('idempotency_keys_created_idx').on(t.createdAt)],
);

export const connections = sqliteTable('connections', {
  id: text('id').primaryKey(),
  pausedAt: integer('paused_at'),
  pauseReason: text('pause_reason'),
  lastProbeAt: integer('last_probe_at'),
  lastSuccessAt: integer('last_success_at'),
  /** Remote mass messages seen in the stats lists that no campaign owns (sent from elsewhere). */
  untrackedCount: integer('untracked_count').notNull().default(0),
  statsPolledAt: integer('stats_polled_at'),
});

export const statsSnapshots = sqliteTable(
  'stats_snapshots',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    campaignId: text('campaign_id').notNull(),
    /** Null only for snapshots older than sends (none: the sends migration filled them in). */
    sendId: text('send_id'),
    observedAt: integer('observed_at').notNull(),
    type: text('type').$type<'scheduled' | 'unsent' | 'sent'>().notNull(),
    sentCount: integer('sent_count'),
    viewedCount: integer('viewed_count'),
    purchasedCount: integer('purchased_count'),
  },
  (t) => [index('stats_snapshots_campaign_idx').on(t.campaignId, t.observedAt), index('stats_snapshots_send_idx').on(t.sendId, t.observedAt)],
);

/**
 * Remote mass messages the poller saw that no campaign owned (sent from elsewhere), one row each,
 * so connections.untracked_count counts each message once however often it is paged over.
 */
export const statsUntracked = sqliteTable(
  'stats_untracked',
  {
    connectionId: text('connection_id').notNull(),
    remoteId: text('remote_id').notNull(),
    type: text('type').$type<'scheduled' | 'unsent' | 'sent'>().notNull(),
    firstSeenAt: integer('first_seen_at').notNull(),
    lastSeenAt: integer('last_seen_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.connectionId, t.remoteId] })],
);

export const runs = sqliteTable(
  'runs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    kind: text('kind').$type<'sync' | 'stats'>().notNull(),
    owner: text('owner').notNull(),
    startedAt: integer('started_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    summary: text('summary', { mode: 'json' }).$type<Record<string, unknown>>(),
    error: text('error'),
  },
  (t) => [index('runs_kind_idx').on(t.kind, t.id)],
);

/**
 * Fanout processes on this database, each heartbeating: what the connection leases' fair share
 * divides by, and what /v1/sync/status lists.
 */
export const instances = sqliteTable('instances', {
  id: text('id').primaryKey(),
  host: text('host').notNull(),
  pid: integer('pid').notNull(),
  startedAt: integer('started_at').notNull(),
  heartbeatAt: integer('heartbeat_at').notNull(),
});

/**
 * Which instance works a connection's sync lane and stats poll (so its rate-limit bucket lives
 * in one process at a time). A row per connection ever seen with work; owner null: free.
 */
export const connectionLeases = sqliteTable(
  'connection_leases',
  {
    connectionId: text('connection_id').primaryKey(),
    owner: text('owner'),
    expiresAt: integer('expires_at'),
  },
  (t) => [index('connection_leases_owner_idx').on(t.owner)],
);

/**
 * The stats poller's per-connection state, so a takeover or a restart continues a poll cut
 * short by its budget instead of starting over: the resume point and the budget bucket.
 */
export const statsPollState = sqliteTable('stats_poll_state', {
  connectionId: text('connection_id').primaryKey(),
  /** Where a cut-short poll resumes (null: the next poll starts from the top). */
  carry: text('carry', { mode: 'json' }).$type<Record<string, unknown>>(),
  /** The poller's budget bucket, in thousandths of a request (integers on both engines). */
  budgetMilliTokens: integer('budget_milli_tokens').notNull(),
  budgetUpdatedAt: integer('budget_updated_at').notNull(),
});

/**
 * One row (id 1) bumped by every token insert and revoke: what another PostgreSQL instance polls
 * to drop its cached principals. SQLite reads PRAGMA data_version instead but keeps the row too.
 */
export const tokenVersions = sqliteTable('token_versions', {
  id: integer('id').primaryKey(),
  version: integer('version').notNull(),
});
