import { and, asc, count, eq, gt, gte, inArray, isNotNull, lte, sql, type SQL } from 'drizzle-orm';
import type { Campaign } from '../../campaigns/model.ts';
import type { PgDb } from '../../db/postgres/client.ts';
import { campaigns, connections, sends, statsPollState, statsSnapshots, statsUntracked } from '../../db/postgres/schema.ts';
import { fromPollState, toPollState } from '../connection-rules.ts';
import type { StatsItem, StatsType } from '../../ofauth/schemas.ts';
import type { LifecycleSettings } from '../../sends/lifecycle.ts';
import type { Send } from '../../sends/model.ts';
import { hasLiveCopy, isTrackedSince, postgresDialect, snapshotsMatching } from '../dialect.ts';
import type { DayTotalsRow, PageResult, Snapshot, StatsStore } from '../types.ts';
import { lockCampaign, lockCampaigns, lockSendWithCampaign, transaction, writeSendAndCampaign } from './write.ts';

/** Both ids of an item: OFAuth may list a queued message under its queue id. */
const remoteIdsOf = (item: StatsItem): string[] => (item.queueId === null || item.queueId === item.id ? [String(item.id)] : [String(item.id), String(item.queueId)]);

/**
 * The stats poller's and the stats API's side of the store (the twin of ../sqlite/stats.ts; the
 * predicates are shared through ../dialect.ts).
 */
export function createPostgresStatsStore(db: PgDb, settings: LifecycleSettings): StatsStore {
  /** Remembers remote messages no send owns; each counts once however often it is seen. */
  async function recordUntracked(tx: Pick<PgDb, 'insert'>, connectionId: string, items: Array<{ remoteId: string; type: StatsType }>, now: number): Promise<void> {
    // One row per message (the last sighting's type, as one upsert each would leave it): a
    // statement may not upsert the same row twice.
    const byId = new Map(items.map((item) => [item.remoteId, item.type]));
    if (byId.size === 0) return;
    await tx
      .insert(statsUntracked)
      .values([...byId].map(([remoteId, type]) => ({ connectionId, remoteId, type, firstSeenAt: now, lastSeenAt: now })))
      .onConflictDoUpdate({ target: [statsUntracked.connectionId, statsUntracked.remoteId], set: { type: sql`excluded.type`, lastSeenAt: now } });
  }

  return {
    /*
     * The distinct connections with a live copy, found by a skip-scan (each step one probe of
     * sends_tracked_id_idx for the next connection id) rather than a scan of every tracked send,
     * then each asked for one tracked send.
     */
    async connectionsToPoll(since) {
      const result = await db.execute<{ connection_id: string }>(sql`
        WITH RECURSIVE live(connection_id) AS (
          SELECT (SELECT min(${sends.connectionId}) FROM ${sends} WHERE ${hasLiveCopy(sends)})
          UNION ALL
          SELECT (SELECT min(${sends.connectionId}) FROM ${sends} WHERE ${hasLiveCopy(sends)} AND ${sends.connectionId} > live.connection_id)
          FROM live WHERE live.connection_id IS NOT NULL
        )
        SELECT connection_id FROM live
        WHERE connection_id IS NOT NULL
          AND EXISTS (SELECT 1 FROM ${sends} WHERE ${sends.connectionId} = live.connection_id AND ${isTrackedSince(sends, since)})
        ORDER BY connection_id`);
      return result.rows.map((r) => r.connection_id);
    },

    async tracked(connectionId, since, { afterId, limit }) {
      return db
        .select({
          id: sends.id,
          status: sends.status,
          remoteId: sends.remoteId,
          remoteList: sends.remoteList,
          remoteSeenAt: sends.remoteSeenAt,
          remoteMissingAt: sends.remoteMissingAt,
          createdAt: sends.createdAt,
        })
        .from(sends)
        // '' sorts before every id: the walk's first page.
        .where(and(eq(sends.connectionId, connectionId), gt(sends.id, afterId ?? ''), isTrackedSince(sends, since)))
        .orderBy(asc(sends.id))
        .limit(limit);
    },

    async hasSyncDue(connectionId, now) {
      const rows = await db
        .select({ id: sends.id })
        .from(sends)
        .where(and(eq(sends.connectionId, connectionId), isNotNull(sends.syncDueAt), lte(sends.syncDueAt, now)))
        .limit(1);
      return rows.length > 0;
    },

    /*
     * The page's owners are read, their campaigns locked (id order), then the owners locked and
     * read again as they are now: write.ts's lock order, with the poller's writes against fresh rows.
     */
    async applyPage({ connectionId, type, items, now, isTracked, observe }) {
      const remoteIds = [...new Set(items.flatMap(remoteIdsOf))];
      return transaction(db, async (tx): Promise<PageResult> => {
        const result: PageResult = { seen: [], changed: 0, statusChanges: 0, snapshots: 0, untracked: 0 };
        const owners = new Map<string, Send>();
        const ownerCampaigns = new Map<string, Campaign>();
        if (remoteIds.length > 0) {
          const byRemote = and(eq(sends.connectionId, connectionId), inArray(sends.remoteId, remoteIds));
          const peek = await tx.select({ campaignId: sends.campaignId }).from(sends).where(byRemote);
          for (const [id, campaign] of await lockCampaigns(tx, [...new Set(peek.map((p) => p.campaignId))])) ownerCampaigns.set(id, campaign);
          for (const send of await tx.select().from(sends).where(byRemote).orderBy(asc(sends.id)).for('update')) owners.set(send.remoteId!, send);
        }
        const untracked: Array<{ remoteId: string; type: StatsType }> = [];
        for (const item of items) {
          const send = remoteIdsOf(item).map((id) => owners.get(id)).find((s) => s !== undefined);
          if (send === undefined) {
            untracked.push({ remoteId: String(item.id), type });
            continue;
          }
          // Owned but not followed: sent before the window, or given its remote id mid-poll.
          if (!isTracked(send.id)) continue;
          // Its campaign was not locked above only if the send moved in between (a rare race).
          const campaign = ownerCampaigns.get(send.campaignId) ?? (await lockCampaign(tx, send.campaignId));
          if (!campaign) throw new Error(`send ${send.id} has no campaign ${send.campaignId}`);
          result.seen.push(send.id);
          const observation = observe(send, item);
          const written = await writeSendAndCampaign(tx, campaign, send, observation.changes, observation.events, now, settings);
          // The same message may come twice (lists shift while paging): observe the row as written.
          owners.set(written.send.remoteId!, written.send);
          ownerCampaigns.set(written.campaign.id, written.campaign);
          result.statusChanges += observation.events.filter((e) => e.type === 'status_changed').length;
          if (observation.snapshot) {
            await tx.insert(statsSnapshots).values({ campaignId: send.campaignId, sendId: send.id, observedAt: now, ...observation.snapshot });
            result.snapshots++;
          }
          if (observation.isChange) result.changed++;
        }
        await recordUntracked(tx, connectionId, untracked, now);
        result.untracked = untracked.length;
        return result;
      });
    },

    async flagMissing(sendId, now, decide) {
      return transaction(db, async (tx) => {
        const locked = await lockSendWithCampaign(tx, sendId);
        if (!locked) return false;
        const { campaign, send: fresh } = locked;
        const decision = decide(fresh);
        if (decision === null) return false;
        await writeSendAndCampaign(tx, campaign, fresh, decision.changes, decision.events, now, settings);
        return true;
      });
    },

    async finishPoll(connectionId, now) {
      return transaction(db, async (tx) => {
        // A message a send adopted later (a create of unknown outcome, resolved by the
        // reconciler) stops counting as untracked.
        const [{ n }] = (await tx
          .select({ n: count() })
          .from(statsUntracked)
          .where(
            and(
              eq(statsUntracked.connectionId, connectionId),
              sql`NOT EXISTS (SELECT 1 FROM ${sends} WHERE ${sends.connectionId} = ${statsUntracked.connectionId} AND ${sends.remoteId} = ${statsUntracked.remoteId})`,
            ),
          )) as [{ n: number }];
        await tx
          .insert(connections)
          .values({ id: connectionId, untrackedCount: n, statsPolledAt: now })
          .onConflictDoUpdate({ target: connections.id, set: { untrackedCount: n, statsPolledAt: now } });
        return n;
      });
    },

    async snapshots({ limit, ...filter }) {
      return (await db
        .select()
        .from(statsSnapshots)
        .where(snapshotsMatching(statsSnapshots, filter))
        .orderBy(asc(statsSnapshots.observedAt), asc(statsSnapshots.id))
        .limit(limit)) as Snapshot[];
    },

    /** Revenue uses the price OFAuth reported, else the campaign's own, in cents (64-bit products, as SQLite's integers are). */
    async dayTotals({ from, to, connectionIds }): Promise<DayTotalsRow[]> {
      if (connectionIds !== null && connectionIds.length === 0) return [];
      const where: SQL[] = [isNotNull(sends.remoteId), gte(sends.sentAt, from), lte(sends.sentAt, to)];
      if (connectionIds !== null) where.push(inArray(sends.connectionId, connectionIds));
      const day = postgresDialect.utcDay(sends.sentAt);
      const priceCents = sql`coalesce(${sends.remotePrice}, ${postgresDialect.priceCents(campaigns.message)})`;
      return db
        .select({
          connectionId: sends.connectionId,
          day,
          sendsSent: count(),
          messagesSent: sql<number>`coalesce(sum(${sends.sentCount}), 0)`.mapWith(Number),
          views: sql<number>`coalesce(sum(${sends.viewedCount}), 0)`.mapWith(Number),
          purchases: sql<number>`coalesce(sum(${sends.purchasedCount}), 0)`.mapWith(Number),
          revenueCents: sql<number>`coalesce(sum(coalesce(${sends.purchasedCount}, 0)::bigint * ${priceCents}), 0)`.mapWith(Number),
        })
        .from(sends)
        .leftJoin(campaigns, eq(campaigns.id, sends.campaignId))
        .where(and(...where))
        .groupBy(sends.connectionId, day)
        .orderBy(asc(sends.connectionId), day);
    },

    async connectionRows(connectionIds) {
      if (connectionIds !== null && connectionIds.length === 0) return [];
      const query = db.select({ id: connections.id, untrackedCount: connections.untrackedCount, statsPolledAt: connections.statsPolledAt }).from(connections);
      return (connectionIds === null ? query : query.where(inArray(connections.id, connectionIds))).orderBy(asc(connections.id));
    },

    async pollState(connectionId) {
      const [row] = await db.select().from(statsPollState).where(eq(statsPollState.connectionId, connectionId));
      return row ? toPollState(row) : null;
    },

    async savePollState(connectionId, state) {
      const values = fromPollState(state);
      await db.insert(statsPollState).values({ connectionId, ...values }).onConflictDoUpdate({ target: statsPollState.connectionId, set: values });
    },
  };
}
