import { and, asc, eq, gte, inArray, isNotNull, isNull, lte, or, sql, type SQL } from 'drizzle-orm';
import type { CampaignRow } from '../campaigns/repository.ts';
import type { Db } from '../db/client.ts';
import { campaigns, connections, statsSnapshots, statsUntracked } from '../db/schema.ts';
import type { StatsType } from '../ofauth/schemas.ts';

export type SnapshotRow = typeof statsSnapshots.$inferSelect;
export type NewSnapshotRow = typeof statsSnapshots.$inferInsert;

export interface DayTotalsRow {
  connectionId: string;
  /** UTC calendar day, YYYY-MM-DD. */
  day: string;
  campaignsSent: number;
  messagesSent: number;
  views: number;
  purchases: number;
  revenueCents: number;
}

/**
 * Campaigns the poller follows: a live remote copy, and either an open outcome (queued, sending,
 * or canceled with the copy not yet deleted) or sent within the tracking window. Sent rows
 * without sentAt (sent before stats existed) fall back to updatedAt.
 */
function trackedWhere(since: number): SQL {
  return and(
    isNotNull(campaigns.remoteId),
    isNull(campaigns.remoteDeletedAt),
    or(
      inArray(campaigns.status, ['queued', 'sending', 'canceled']),
      and(eq(campaigns.status, 'sent'), gte(campaigns.sentAt, since)),
      and(eq(campaigns.status, 'sent'), isNull(campaigns.sentAt), gte(campaigns.updatedAt, since)),
    ),
  )!;
}

/** The stats poller's and the stats API's queries; knows SQL, not the rules. */
export function createStatsRepository(db: Db) {
  return {
    /** Connections with at least one tracked campaign. */
    connectionsToPoll(since: number): string[] {
      return db
        .selectDistinct({ connectionId: campaigns.connectionId })
        .from(campaigns)
        .where(trackedWhere(since))
        .orderBy(asc(campaigns.connectionId))
        .all()
        .map((r) => r.connectionId);
    },

    tracked(connectionId: string, since: number): CampaignRow[] {
      return db
        .select()
        .from(campaigns)
        .where(and(eq(campaigns.connectionId, connectionId), trackedWhere(since)))
        .all();
    },

    /** Whether the reconciler has work due on this connection now. */
    hasSyncDue(connectionId: string, now: number): boolean {
      const row = db
        .select({ id: campaigns.id })
        .from(campaigns)
        .where(and(eq(campaigns.connectionId, connectionId), isNotNull(campaigns.syncDueAt), lte(campaigns.syncDueAt, now)))
        .limit(1)
        .get();
      return row !== undefined;
    },

    insertSnapshot(row: NewSnapshotRow): void {
      db.insert(statsSnapshots).values(row).run();
    },

    /** Oldest first, observedAt within [from, to]; one more than `limit` tells the caller there is more. */
    snapshots(campaignId: string, range: { from?: number; to?: number; limit: number }): SnapshotRow[] {
      const where: SQL[] = [eq(statsSnapshots.campaignId, campaignId)];
      if (range.from !== undefined) where.push(gte(statsSnapshots.observedAt, range.from));
      if (range.to !== undefined) where.push(lte(statsSnapshots.observedAt, range.to));
      return db
        .select()
        .from(statsSnapshots)
        .where(and(...where))
        .orderBy(asc(statsSnapshots.observedAt), asc(statsSnapshots.id))
        .limit(range.limit)
        .all();
    },

    /** Remembers remote messages no campaign owns; each counts once however often it is seen. */
    recordUntracked(connectionId: string, items: Array<{ remoteId: string; type: StatsType }>, now: number): void {
      for (const item of items) {
        db.insert(statsUntracked)
          .values({ connectionId, remoteId: item.remoteId, type: item.type, firstSeenAt: now, lastSeenAt: now })
          .onConflictDoUpdate({ target: [statsUntracked.connectionId, statsUntracked.remoteId], set: { type: item.type, lastSeenAt: now } })
          .run();
      }
    },

    /**
     * Recounts a connection's untracked messages and records the poll. A message that a campaign
     * adopted later (a create of unknown outcome, resolved by the reconciler) stops counting.
     */
    finishPoll(connectionId: string, now: number): number {
      const { n } = db.$client
        .prepare(
          `SELECT count(*) AS n FROM stats_untracked u
           WHERE u.connection_id = ?
             AND NOT EXISTS (SELECT 1 FROM campaigns c WHERE c.connection_id = u.connection_id AND c.remote_id = u.remote_id)`,
        )
        .get(connectionId) as { n: number };
      db.insert(connections)
        .values({ id: connectionId, untrackedCount: n, statsPolledAt: now })
        .onConflictDoUpdate({ target: connections.id, set: { untrackedCount: n, statsPolledAt: now } })
        .run();
      return n;
    },

    /** Connections known to the service (null: all), with their untracked counts. */
    connectionRows(connectionIds: string[] | null) {
      const query = db
        .select({ id: connections.id, untrackedCount: connections.untrackedCount, statsPolledAt: connections.statsPolledAt })
        .from(connections);
      return (connectionIds === null ? query : query.where(inArray(connections.id, connectionIds))).orderBy(asc(connections.id)).all();
    },

    /**
     * Sent campaigns per connection and UTC day of sentAt within [from, to]. Revenue uses the
     * price OFAuth reported, else the campaign's own, in cents.
     */
    dayTotals(range: { from: number; to: number; connectionIds: string[] | null }): DayTotalsRow[] {
      const where: SQL[] = [isNotNull(campaigns.remoteId), gte(campaigns.sentAt, range.from), lte(campaigns.sentAt, range.to)];
      if (range.connectionIds !== null) where.push(inArray(campaigns.connectionId, range.connectionIds));
      const day = sql<string>`strftime('%Y-%m-%d', ${campaigns.sentAt} / 1000, 'unixepoch')`;
      const priceCents = sql`coalesce(${campaigns.remotePrice}, cast(round(coalesce(json_extract(${campaigns.message}, '$.price'), 0) * 100) as integer))`;
      return db
        .select({
          connectionId: campaigns.connectionId,
          day,
          campaignsSent: sql<number>`count(*)`,
          messagesSent: sql<number>`coalesce(sum(${campaigns.sentCount}), 0)`,
          views: sql<number>`coalesce(sum(${campaigns.viewedCount}), 0)`,
          purchases: sql<number>`coalesce(sum(${campaigns.purchasedCount}), 0)`,
          revenueCents: sql<number>`coalesce(sum(coalesce(${campaigns.purchasedCount}, 0) * ${priceCents}), 0)`,
        })
        .from(campaigns)
        .where(and(...where))
        .groupBy(campaigns.connectionId, day)
        .orderBy(asc(campaigns.connectionId), day)
        .all();
    },
  };
}

export type StatsRepository = ReturnType<typeof createStatsRepository>;
