import { and, eq, gt, gte, inArray, isNotNull, isNull, lt, lte, ne, or, sql, type AnyColumn, type SQL } from 'drizzle-orm';

/*
 * The SQL that differs between SQLite and PostgreSQL, named once (the idea of pg-boss's
 * src/dialect.ts), and the predicates both stores share. drizzle renders a column of either
 * dialect's schema, so a predicate written over columns is one plan for both; only what the
 * engines spell differently sits behind `Dialect`.
 *
 * What differs beyond single expressions lives in the stores themselves, each saying why:
 * - transactions: SQLite takes the file's write lock up front (BEGIN IMMEDIATE) and runs
 *   synchronously; PostgreSQL locks the rows it decides on (SELECT … FOR UPDATE), always the
 *   campaign before its sends, so two writers never wait on each other in a cycle;
 * - claims: SQLite's write lock makes the select-then-lease atomic; PostgreSQL skips rows another
 *   claim holds (FOR UPDATE SKIP LOCKED);
 * - the token version: PRAGMA data_version on SQLite, a fingerprint query on PostgreSQL;
 * - index hints: SQLite needs INDEXED BY where its planner misreads a partial index.
 */

export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** A condition no row meets: what an empty IN list means ("none", never "any"). */
  readonly none: SQL;
  /** The UTC calendar day, YYYY-MM-DD, of an epoch-milliseconds column. */
  utcDay(ms: AnyColumn): SQL<string>;
  /** A JSON message's price (currency units, may be absent) in integer cents, rounded half away from zero. */
  priceCents(message: AnyColumn): SQL<number>;
}

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  none: sql`0`,
  utcDay: (ms) => sql<string>`strftime('%Y-%m-%d', ${ms} / 1000, 'unixepoch')`,
  priceCents: (message) => sql<number>`cast(round(coalesce(json_extract(${message}, '$.price'), 0) * 100) as integer)`,
};

export const postgresDialect: Dialect = {
  name: 'postgres',
  none: sql`false`,
  // Literal format strings, not parameters: the same expression appears in GROUP BY.
  utcDay: (ms) => sql<string>`to_char(to_timestamp(${ms} / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
  // numeric, not float: 9.99 * 100 is exactly 999 before rounding.
  priceCents: (message) => sql<number>`round(coalesce((${message} ->> 'price')::numeric, 0) * 100)::integer`,
};

/** The columns of `sends` the shared predicates read. */
interface SendColumns {
  remoteId: AnyColumn;
  remoteDeletedAt: AnyColumn;
  status: AnyColumn;
  sentAt: AnyColumn;
  updatedAt: AnyColumn;
}

/**
 * A send with a live remote copy. Spelled exactly as the predicate of the partial index
 * sends_tracked_id_idx, so the planner matches it to the index.
 */
export const hasLiveCopy = (s: Pick<SendColumns, 'remoteId' | 'remoteDeletedAt'>): SQL => sql`${s.remoteId} IS NOT NULL AND ${s.remoteDeletedAt} IS NULL`;

/**
 * What the stats poller follows: a live remote copy and either an open outcome (queued, sending,
 * or canceled with the copy not yet deleted) or sent since `since`; sent rows without sentAt
 * (sent before stats existed) fall back to updatedAt.
 */
export const isTrackedSince = (s: SendColumns, since: number): SQL =>
  sql`${hasLiveCopy(s)} AND (${s.status} IN ('queued', 'sending', 'canceled') OR (${s.status} = 'sent' AND (${s.sentAt} >= ${since} OR (${s.sentAt} IS NULL AND ${s.updatedAt} >= ${since}))))`;

/** The columns of `sends` that say whether a send is still open (see isOpenSend). */
interface OpenSendColumns {
  status: AnyColumn;
  kind: AnyColumn;
  remoteId: AnyColumn;
  remoteDeletedAt: AnyColumn;
  createStartedAt: AnyColumn;
}

/**
 * The sends a campaign mutation decides on (CampaignState.sends): not final, a one-shot's send
 * whatever its status, and a withdrawn send whose remote copy is not surely gone (a create that
 * may have happened, or a copy whose delete is not confirmed). The last keep a resumed series
 * from making their occurrence again while the old copy may still go out (see
 * planMaterialization); the sync's `needsSync` is what settles them. Never a test send: a
 * campaign's status, completion, cancel and edits know nothing of them.
 */
export const isOpenSend = (s: OpenSendColumns): SQL =>
  sql`(${s.kind} <> 'test' AND (${s.status} NOT IN ('sent', 'unsent', 'failed', 'canceled') OR ${s.kind} = 'scheduled' OR (${s.status} = 'canceled' AND (${s.createStartedAt} IS NOT NULL OR ${hasLiveCopy(s)}))))`;

/** A LIKE pattern matching `text` anywhere, its `%`, `_` and `\` taken literally (ESCAPE '\'). */
export const containsPattern = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** The columns the follow-up originals filter reads, of `sends` and `campaigns`. */
interface FollowUpOriginalColumns {
  sends: { status: AnyColumn; kind: AnyColumn; sentAt: AnyColumn; id: AnyColumn; followUpsMade: AnyColumn; followUpCheckAt: AnyColumn };
  campaigns: { followUpCount: AnyColumn; followUpsCanceledAt: AnyColumn; status: AnyColumn };
}

/**
 * Sent originals due by `dueBy`, sent since `sentSince`, after the keyset cursor, whose campaign
 * still owes follow-ups: the materialiser's scan. It reads the partial index
 * sends_follow_up_check_idx, which holds only the originals owing one; the rest re-checks what
 * the check column already says, so a stale check can never make a follow-up.
 */
export function followUpOriginalsMatching(t: FollowUpOriginalColumns, f: { sentSince: number; dueBy: number; after: { sentAt: number; id: string } | null }): SQL | undefined {
  const { sends: s, campaigns: c } = t;
  return and(
    isNotNull(s.followUpCheckAt),
    lte(s.followUpCheckAt, f.dueBy),
    sql`${s.status} = 'sent' AND ${s.kind} IN ('scheduled', 'occurrence')`,
    gte(s.sentAt, f.sentSince),
    f.after === null ? undefined : or(gt(s.sentAt, f.after.sentAt), and(eq(s.sentAt, f.after.sentAt), gt(s.id, f.after.id))),
    sql`${s.followUpsMade} < ${c.followUpCount}`,
    isNull(c.followUpsCanceledAt),
    ne(c.status, 'canceled'),
  );
}

/** The columns of `campaigns` the running-series filter reads. */
interface SeriesColumns {
  seriesDueAt: AnyColumn;
  nextOccurrenceAt: AnyColumn;
  connectionId: AnyColumn;
}

/**
 * Running series whose next occurrence is before `before`. series_due_at is set exactly while a
 * series runs with an occurrence ahead (its partial index answers this), and is never after the
 * next occurrence, so it bounds the scan before the exact test.
 */
export function runningSeriesMatching(t: SeriesColumns, f: { before: number; connectionIds: string[] | null }): SQL | undefined {
  return and(
    isNotNull(t.seriesDueAt),
    lt(t.seriesDueAt, f.before),
    lt(t.nextOccurrenceAt, f.before),
    f.connectionIds === null ? undefined : inArray(t.connectionId, f.connectionIds),
  );
}

/** The columns of `stats_snapshots` the shared filter reads. */
interface SnapshotColumns {
  campaignId: AnyColumn;
  sendId: AnyColumn;
  observedAt: AnyColumn;
}

/** The snapshots of a campaign or a send, observed within [from, to] where given. */
export function snapshotsMatching(t: SnapshotColumns, f: { campaignId?: string; sendId?: string; from?: number; to?: number }): SQL | undefined {
  const where: SQL[] = [];
  if (f.campaignId !== undefined) where.push(eq(t.campaignId, f.campaignId));
  if (f.sendId !== undefined) where.push(eq(t.sendId, f.sendId));
  if (f.from !== undefined) where.push(gte(t.observedAt, f.from));
  if (f.to !== undefined) where.push(lte(t.observedAt, f.to));
  return and(...where);
}
