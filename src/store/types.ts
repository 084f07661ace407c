import type { Audience, Campaign, CampaignChanges, CampaignStatus, SendKind, SendStatus } from '../campaigns/model.ts';
import type { StatsItem, StatsType } from '../ofauth/schemas.ts';
import type { NewSend, Send, SendChanges } from '../sends/model.ts';
import type { EventSpec, EventType } from '../events/types.ts';
import type { InstanceStore } from './instance-types.ts';

export type { InstanceRecord, InstanceStore, LiveInstance } from './instance-types.ts';

/*
 * The store seam. Services, the reconciler, the materialiser and the poller talk only to these
 * async interfaces, in domain types. Every transaction lives inside one store method: a mutation
 * loads what it decides on, calls a pure synchronous `decide`, writes the result and its events,
 * and recomputes the derived columns (see src/sends/lifecycle.ts), all in one transaction. A
 * `decide` may throw (an AppError, say) to abort: nothing is written. A second database is a
 * second implementation of the same interfaces, held to the same contract suite
 * (test/store/contract.test.ts).
 */

export interface StoredResponse {
  statusCode: number;
  body: unknown;
}

/** What the API shows of a series beyond the campaign itself. */
export interface SeriesSummary {
  sendCounts: Record<SendStatus, number>;
  /** Sums over its sends that have counts (null when none has been observed yet). */
  totals: { sentCount: number; viewedCount: number; purchasedCount: number; observedAt: number } | null;
}

/** A campaign as the API shows it: the plan, plus its one send (one-shot) or its series summary. */
export interface CampaignRecord {
  campaign: Campaign;
  /** The one-shot campaign's send; null for drafts (no send yet) and series. */
  send: Send | null;
  series: SeriesSummary | null;
}

/** The campaign columns the API shows (toCampaignView reads nothing else). */
export const CAMPAIGN_VIEW_COLUMNS = [
  'id', 'name', 'connectionId', 'message', 'audience', 'scheduledAt', 'recurrence', 'followUps', 'status', 'revision',
  'failureReason', 'createdBy', 'createdAt', 'updatedAt', 'nextOccurrenceAt',
] as const satisfies ReadonlyArray<keyof Campaign>;

/** The send columns the API shows of a one-shot's send; `id` first, which tells a left join's "no send". */
export const SEND_VIEW_COLUMNS = [
  'id', 'syncState', 'remoteId', 'revision', 'syncedRevision', 'attempts', 'lastError', 'nextAttemptAt', 'lastSyncedAt',
  'sentCount', 'viewedCount', 'purchasedCount', 'statsObservedAt',
] as const satisfies ReadonlyArray<keyof Send>;

/** A CampaignRecord cut to what the API shows of it: what a list page reads. */
export interface CampaignViewRecord {
  campaign: Pick<Campaign, (typeof CAMPAIGN_VIEW_COLUMNS)[number]>;
  send: Pick<Send, (typeof SEND_VIEW_COLUMNS)[number]> | null;
  series: SeriesSummary | null;
}

/** What a campaign mutation decides on: the campaign and every send that can still change. */
export interface CampaignState {
  campaign: Campaign;
  /**
   * Sends not final (pending, queued, sending), a one-shot's send whatever its status, and
   * canceled sends whose remote copy is not surely gone (create intent or undeleted copy).
   */
  sends: Send[];
}

export interface CampaignMutation {
  campaign?: CampaignChanges;
  sends?: Array<{ id: string; changes: SendChanges }>;
  /** New sends; one whose occurrence already has a live send is skipped (the unique key). */
  insertSends?: NewSend[];
  events?: EventSpec[];
  /** Deletes the campaign and its sends (events stay: they are the audit log). */
  remove?: boolean;
}

export interface CampaignFilter {
  statuses?: CampaignStatus[];
  /** Null: any connection. An empty list: none. */
  connectionIds: string[] | null;
  scheduledFrom?: number;
  scheduledTo?: number;
  /** Only campaigns whose name contains this text, ignoring ASCII case (the dashboard's search). */
  nameContains?: string;
  /** Keyset cursor: only ids strictly older than this. */
  beforeId?: string;
  limit: number;
}

/**
 * A window of the calendar: sends planned within [from, to), by their planned time (the send's
 * dueAt, or its createdAt for one sent as soon as synced).
 */
export interface PlannedSendFilter {
  from: number;
  to: number;
  /** Null: any connection. An empty list: none. */
  connectionIds: string[] | null;
  /** At most this many sends listed (counts cover the whole window). */
  limit: number;
}

/** One send on the calendar, with the campaign it comes from. */
export interface PlannedSend {
  sendId: string;
  campaignId: string;
  campaignName: string;
  connectionId: string;
  kind: SendKind;
  status: SendStatus;
  /** dueAt, or createdAt for a send made to go as soon as synced. */
  plannedAt: number;
  sentAt: number | null;
}

export interface PlannedSends {
  /** The first `limit` sends of the window, earliest first (ties by id). */
  sends: PlannedSend[];
  /** Every send of the window, counted per connection and status. */
  counts: Array<{ connectionId: string; status: SendStatus; count: number }>;
}

export interface SendFilter {
  statuses?: SendStatus[];
  beforeId?: string;
  limit: number;
}

export interface StoredEvent {
  id: number;
  campaignId: string;
  sendId: string | null;
  type: EventType;
  actor: string;
  at: number;
  data: Record<string, unknown> | null;
}

export interface IdempotencyInput {
  tokenId: string;
  key: string;
  requestHash: string;
}

export interface CampaignStore {
  /**
   * Inserts a campaign with its first sends and events. With an idempotency key, a repeat with
   * the same body returns the first response instead (and a different body throws 422), decided
   * in the same transaction as the insert so two concurrent requests create one campaign.
   */
  create(input: {
    now: number;
    idempotency: IdempotencyInput | null;
    build: () => { campaign: Campaign; sends: NewSend[]; events: EventSpec[] };
    respond: (record: CampaignRecord) => StoredResponse;
  }): Promise<StoredResponse>;
  find(id: string): Promise<CampaignRecord | null>;
  /** find cut to the view's columns (CampaignViewRecord): what GET /v1/campaigns/{id} reads. */
  findView(id: string): Promise<CampaignViewRecord | null>;
  /** Newest first by id (time-sortable), so rows inserted meanwhile never shift a later page. */
  list(filter: CampaignFilter): Promise<CampaignRecord[]>;
  /**
   * The same rows as list, cut to the view's columns (CampaignViewRecord): what the API and the
   * dashboard page through. A row read whole is 69 columns, this 28, and reading a column costs
   * the same whatever it holds, so a page costs less than half.
   */
  listViews(filter: CampaignFilter): Promise<CampaignViewRecord[]>;
  /** Null when there is no such campaign (decide is not called). */
  mutate(id: string, now: number, decide: (state: CampaignState) => CampaignMutation): Promise<CampaignRecord | null>;
  /** Series whose next occurrence is within reach (series_due_at <= now), oldest due first. */
  seriesDue(now: number, limit: number): Promise<string[]>;
  events(campaignId: string, afterId: number, limit: number): Promise<StoredEvent[]>;
  findSend(id: string): Promise<Send | null>;
  /** A campaign's sends, newest first. */
  listSends(campaignId: string, filter: SendFilter): Promise<Send[]>;
  sendEvents(sendId: string, afterId: number, limit: number): Promise<StoredEvent[]>;
  /** The sends planned in a window, for the calendar: the earliest listed, all counted; test sends are neither. */
  plannedSends(filter: PlannedSendFilter): Promise<PlannedSends>;
  /**
   * Running series (status scheduled, a next occurrence ahead) whose next occurrence comes before
   * `before`, soonest first: the calendar projects their occurrences not yet made into sends.
   */
  runningSeries(filter: RunningSeriesFilter): Promise<Campaign[]>;
  /**
   * Who each of these sends goes to: its campaign's audience, and the fan ids its chat filters
   * resolved to (null until resolved). Unknown ids are left out. One read however many (overlaps).
   */
  sendAudiences(sendIds: readonly string[]): Promise<Map<string, SendAudience>>;
}

export interface SendAudience {
  audience: Audience;
  resolvedFanIds: number[] | null;
}

export interface RunningSeriesFilter {
  before: number;
  /** Null: any connection. An empty list: none. */
  connectionIds: string[] | null;
  limit: number;
}

/** A claimed send and the campaign it is made from (its message and audience). */
export interface SendWork {
  send: Send;
  campaign: Campaign;
}

export interface SendStore {
  /** Connections with sends due now, and how many are due on each. */
  dueByConnection(now: number): Promise<Array<{ connectionId: string; due: number }>>;
  /**
   * Leases up to `limit` due sends of one connection to `owner`, oldest due first: a send leased
   * by a live owner is never returned to another, and one whose lease expired is taken over.
   */
  claim(input: { connectionId: string; owner: string; now: number; leaseMs: number; limit: number; onlySendId?: string; onlyCampaignId?: string }): Promise<{ work: SendWork[]; takeovers: number }>;
  /**
   * Writes what an attempt learned, against the send as it is now, only while `owner` still holds
   * its lease; null otherwise (nothing written). `release` ends the lease in the same write;
   * otherwise it is extended by `leaseMs`. `durable`: the write survives power loss before the
   * promise resolves (a create intent, which must be on disk before the POST leaves); without
   * it a store may trade the last writes before a power loss (never a process crash) for speed,
   * so only writes whose loss the sync recovers from may omit it.
   */
  recordOutcome(
    sendId: string,
    owner: string,
    now: number,
    decide: (fresh: SendWork) => { changes: SendChanges; events?: EventSpec[] },
    options?: { release: boolean; leaseMs?: number; durable?: boolean },
  ): Promise<SendWork | null>;
  releaseLease(sendId: string, owner: string): Promise<void>;
  /**
   * A marketer's write to one send outside the loop (an unsend request), whoever holds its lease:
   * `decide` sees the send and its campaign as they are now and may throw to abort (nothing is
   * written). Null when there is no such send.
   */
  mutateSend(sendId: string, now: number, decide: (fresh: SendWork) => { changes: SendChanges; events?: EventSpec[] }): Promise<SendWork | null>;
  /** Send ids owning each of these remote ids on the connection. */
  ownersOfRemoteIds(connectionId: string, remoteIds: string[]): Promise<Map<string, string>>;
  /** Sends leased by a live owner right now. */
  inFlight(now: number): Promise<number>;
  /**
   * The due times, within [from, to], of the other sends of this send's campaign. A remote
   * message dated at one of them belongs to that sibling, unless the sibling is a canceled copy
   * of this send's own occurrence (same due time): the caller drops its own due time.
   */
  siblingDueTimes(sendId: string, from: number, to: number): Promise<number[]>;
  /**
   * Sent originals (one-shot sends and occurrences) with a follow-up still to make and due by
   * `dueBy` (their follow_up_check_at, so only those are read): sent at or after `sentSince`,
   * fewer follow-ups made than their campaign has, the campaign neither canceled nor its
   * follow-ups stopped. Earliest sent first (ties by id), strictly after the `after` key.
   */
  followUpOriginals(input: { sentSince: number; dueBy: number; after: { sentAt: number; id: string } | null; limit: number }): Promise<SendWork[]>;
  /**
   * Forgets the follow-up checks due by `dueBy` of originals sent before `sentBefore`, which owe
   * nothing new (see FOLLOW_UP_LOOK_BACK_MS), so the scan never reads them again.
   */
  forgetFollowUpChecks(input: { sentBefore: number; dueBy: number }): Promise<number>;
  /**
   * Makes an original's next follow-up in one transaction: inserts `send` and counts it on the
   * original, only while the original has made exactly `made` (another process, or a retry after
   * a crash, finds it already done: false, nothing written), and the campaign still wants it.
   */
  insertFollowUp(input: { originalId: string; made: number; send: NewSend; events: EventSpec[]; now: number }): Promise<boolean>;
}

/** What the stats poller matches and plans with of a tracked send (kept small: it may hold a million). */
export type TrackedSend = Pick<Send, 'id' | 'status' | 'remoteId' | 'remoteList' | 'remoteSeenAt' | 'remoteMissingAt' | 'createdAt'>;

/** A keyset page of tracked sends: those with an id after `afterId` (null: from the first), at most `limit`. */
export interface TrackedPage {
  afterId: string | null;
  limit: number;
}

export interface Snapshot {
  id: number;
  campaignId: string;
  sendId: string | null;
  observedAt: number;
  type: StatsType;
  sentCount: number | null;
  viewedCount: number | null;
  purchasedCount: number | null;
}

export interface Observation {
  changes: SendChanges;
  events: EventSpec[];
  snapshot: Pick<Snapshot, 'type' | 'sentCount' | 'viewedCount' | 'purchasedCount'> | null;
  /** Anything beyond "seen again, same as before". */
  isChange: boolean;
}

export interface PageResult {
  /** Tracked send ids met on the page. */
  seen: string[];
  changed: number;
  statusChanges: number;
  snapshots: number;
  untracked: number;
}

export interface DayTotalsRow {
  connectionId: string;
  /** UTC calendar day, YYYY-MM-DD. */
  day: string;
  sendsSent: number;
  messagesSent: number;
  views: number;
  purchases: number;
  revenueCents: number;
}

export interface StatsStore {
  /** Connections with at least one tracked send (live remote copy, open or recently sent). */
  connectionsToPoll(since: number): Promise<string[]>;
  /**
   * One page of the connection's tracked sends, in id order: pass the last id as the next
   * `afterId` until a page comes back shorter than `limit`. Paged so that no caller holds a
   * million rows as objects at once.
   */
  tracked(connectionId: string, since: number, page: TrackedPage): Promise<TrackedSend[]>;
  hasSyncDue(connectionId: string, now: number): Promise<boolean>;
  /**
   * Applies one stats page in one transaction: matches items to sends by remote id, calls
   * `observe` for each tracked send met, writes its changes, events and snapshot, and records
   * items no send owns.
   */
  applyPage(input: {
    connectionId: string;
    type: StatsType;
    items: StatsItem[];
    now: number;
    isTracked: (sendId: string) => boolean;
    observe: (send: Send, item: StatsItem) => Observation;
  }): Promise<PageResult>;
  /** Re-checks a send on its row as it is now and, if `decide` says so, reports it missing. */
  flagMissing(sendId: string, now: number, decide: (fresh: Send) => { changes: SendChanges; events: EventSpec[] } | null): Promise<boolean>;
  /** Recounts the connection's untracked messages and stamps the poll. */
  finishPoll(connectionId: string, now: number): Promise<number>;
  /** Oldest first, observedAt within [from, to]. */
  snapshots(filter: { campaignId?: string; sendId?: string; from?: number; to?: number; limit: number }): Promise<Snapshot[]>;
  /** Sent sends per connection and UTC day of sentAt. */
  dayTotals(range: { from: number; to: number; connectionIds: string[] | null }): Promise<DayTotalsRow[]>;
  connectionRows(connectionIds: string[] | null): Promise<Array<{ id: string; untrackedCount: number; statsPolledAt: number | null }>>;
  /** The poller's saved state for a connection (null: never saved). */
  pollState(connectionId: string): Promise<PollState | null>;
  /** Replaces the connection's saved poller state. */
  savePollState(connectionId: string, state: PollState): Promise<void>;
}

/**
 * What the stats poller keeps of a connection between polls, in the database so that whichever
 * instance polls it next (after a takeover or a restart) resumes a cut-short poll with the
 * budget that is really left.
 */
export interface PollState {
  /** Where a poll cut short resumes, as the poller wrote it (null: start from the top). */
  carry: Record<string, unknown> | null;
  /** The poller's budget bucket for the connection: tokens left at `budgetUpdatedAt`. */
  budgetTokens: number;
  budgetUpdatedAt: number;
}

export interface Connection {
  id: string;
  pausedAt: number | null;
  pauseReason: string | null;
  lastProbeAt: number | null;
  lastSuccessAt: number | null;
  untrackedCount: number;
  statsPolledAt: number | null;
}

/** A connection as GET /v1/connections shows it: its health and what Fanout holds for it. */
export interface ConnectionSummary extends Connection {
  campaigns: number;
  /** Sends not yet gone out: pending (not in OFAuth's queue yet) or queued. */
  sendsQueued: number;
}

export interface ConnectionStore {
  find(id: string): Promise<Connection | null>;
  /**
   * Every connection Fanout has seen (a campaign names it, or it has a health row), by id; null
   * is every connection, an empty list none.
   */
  list(connectionIds: string[] | null): Promise<ConnectionSummary[]>;
  paused(): Promise<Connection[]>;
  /** Pauses a connection and marks its sends with due work paused, with the reason, at once. */
  pause(id: string, reason: string, now: number): Promise<void>;
  /** Records a successful call; a paused connection resumes (true) and its sends become pending. */
  markHealthy(id: string, now: number): Promise<boolean>;
  markProbed(id: string, now: number): Promise<void>;
}

export interface Run {
  kind: 'sync' | 'stats';
  owner: string;
  startedAt: number;
  durationMs: number;
  summary: Record<string, unknown> | null;
  error: string | null;
}

export interface RunStore {
  record(run: Run): Promise<void>;
  last(kind: Run['kind']): Promise<Run | null>;
}

export interface TokenRecord {
  id: string;
  name: string;
  role: 'admin' | 'marketer';
  connectionIds: string[] | null;
  secretHash: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface TokenStore {
  /**
   * Differs from the last value returned iff another process changed tokens since. With `now`
   * (the caller's clock), a backend that has to ask the database for it may answer from what it
   * read less than TOKEN_VERSION_POLL_MS earlier: another process's change is then seen within
   * that time rather than at once.
   */
  version(now?: number): Promise<number>;
  insert(token: TokenRecord): Promise<TokenRecord>;
  findActiveByHash(secretHash: string): Promise<TokenRecord | null>;
  findActiveByName(name: string): Promise<TokenRecord | null>;
  listActive(): Promise<TokenRecord[]>;
  revoke(id: string, at: number): Promise<boolean>;
}

/** How often, at most, a store asks the database whether another process changed tokens. */
export const TOKEN_VERSION_POLL_MS = 1000;

export interface Store {
  readonly backend: 'sqlite' | 'postgres';
  instances: InstanceStore;
  campaigns: CampaignStore;
  sends: SendStore;
  stats: StatsStore;
  connections: ConnectionStore;
  runs: RunStore;
  tokens: TokenStore;
  /** Whether the database answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
