import { and, asc, eq, gte, inArray, isNotNull, lte, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../../db/sqlite/client.ts';
import { campaigns, connections, sends, statsPollState, statsSnapshots } from '../../db/sqlite/schema.ts';
import { fromPollState, toPollState } from '../connection-rules.ts';
import type { StatsItem, StatsType } from '../../ofauth/schemas.ts';
import type { LifecycleSettings } from '../../sends/lifecycle.ts';
import type { Send } from '../../sends/model.ts';
import { snapshotsMatching, sqliteDialect } from '../dialect.ts';
import type { DayTotalsRow, PageResult, Snapshot, StatsStore, TrackedSend } from '../types.ts';
import { sendById, sendRow, writeSendAndCampaign } from './write.ts';

/*
 * The stats poller's and the stats API's side of the store. A tracked send has a live remote
 * copy and either an open outcome (queued, sending, or canceled with the copy not yet deleted) or
 * was sent within the tracking window; sent rows without sentAt (sent before stats existed) fall
 * back to updatedAt. The WHERE repeats the predicate of the partial index sends_tracked_id_idx
 * (remote_id IS NOT NULL AND remote_deleted_at IS NULL) so SQLite can use it.
 */
const LIVE = 'remote_id IS NOT NULL AND remote_deleted_at IS NULL';
const TRACKED = `${LIVE}
  AND (status IN ('queued', 'sending', 'canceled')
       OR (status = 'sent' AND (sent_at >= @since OR (sent_at IS NULL AND updated_at >= @since))))`;

/*
 * Both poller queries name sends_tracked_id_idx (INDEXED BY): left to itself, SQLite reads
 * `remote_id IS NOT NULL` as a range on sends_remote_idx and then fetches every row with a live
 * copy, those sent long ago included, to test the window (seconds per poll at a million sends).
 * sends_tracked_id_idx holds every column these queries read but updated_at, so they answer from
 * the index alone (legacy sent rows without sent_at aside), and a statement that cannot use it
 * fails to prepare rather than going slow. Exported for the query-plan test.
 */

/**
 * Connections with a tracked send: a skip-scan over the distinct connections with a live copy,
 * each asked for one tracked send, instead of visiting every tracked send.
 */
export const connectionsToPollSql = `WITH RECURSIVE live(connection_id) AS (
    SELECT (SELECT min(connection_id) FROM sends INDEXED BY sends_tracked_id_idx WHERE ${LIVE})
    UNION ALL
    SELECT (SELECT min(s.connection_id) FROM sends s INDEXED BY sends_tracked_id_idx WHERE ${LIVE} AND s.connection_id > live.connection_id)
    FROM live WHERE live.connection_id IS NOT NULL
  )
  SELECT connection_id AS connectionId FROM live
  WHERE connection_id IS NOT NULL
    AND EXISTS (SELECT 1 FROM sends s INDEXED BY sends_tracked_id_idx WHERE s.connection_id = live.connection_id AND ${TRACKED})
  ORDER BY connection_id`;

/**
 * A keyset page of a connection's tracked sends, in id order: each page costs its own rows, so
 * the whole walk stays linear. Slim on purpose: these rows are all the poller keeps of up to a
 * million sends (never the message or audience JSON). Columns in TrackedRow's order.
 */
export const trackedPageSql = `SELECT id, status, remote_id, remote_list, remote_seen_at, remote_missing_at, created_at
  FROM sends INDEXED BY sends_tracked_id_idx
  WHERE connection_id = @connectionId AND id > @afterId AND ${TRACKED}
  ORDER BY id LIMIT @limit`;

/**
 * The send owning a remote id on a connection, whole (observe and the write path need every
 * column), through sends_remote_idx. One prepared statement per id rather than a drizzle IN
 * query built per page: building a query costs more than running it, and every page did, so
 * each poll left megabytes of short-lived query objects for the collector (see bench:memory).
 */
const ownerSql = `SELECT ${sendRow.selectList} FROM sends WHERE connection_id = ? AND remote_id = ?`;

/** Both ids of an item: OFAuth may list a queued message under its queue id. */
const remoteIdsOf = (item: StatsItem): string[] => (item.queueId === null || item.queueId === item.id ? [String(item.id)] : [String(item.id), String(item.queueId)]);

export function createSqliteStatsStore(db: Db, settings: LifecycleSettings): StatsStore {
  const immediate = <T>(fn: () => T): T => db.transaction(fn, { behavior: 'immediate' });

  const connectionsQuery = db.$client.prepare<{ since: number }, { connectionId: string }>(connectionsToPollSql);
  // Rows as arrays, made into objects here: better-sqlite3 builds a row object far slower than
  // JS does (about 3 s against 5 s for a million rows).
  type TrackedRow = [TrackedSend['id'], TrackedSend['status'], TrackedSend['remoteId'], TrackedSend['remoteList'], TrackedSend['remoteSeenAt'], TrackedSend['remoteMissingAt'], TrackedSend['createdAt']];
  const trackedQuery = db.$client.prepare<{ connectionId: string; since: number; afterId: string; limit: number }, TrackedRow>(trackedPageSql).raw();
  const syncDueQuery = db.$client.prepare<[string, number], { one: number }>(
    'SELECT 1 AS one FROM sends WHERE connection_id = ? AND sync_due_at IS NOT NULL AND sync_due_at <= ? LIMIT 1',
  );
  const ownerQuery = db.$client.prepare<[string, string], unknown[]>(ownerSql).raw();
  // The same upsert and insert as drizzle's, prepared once (see ownerSql for why).
  const untrackedUpsert = db.$client.prepare<[string, string, string, number, number]>(
    `INSERT INTO stats_untracked (connection_id, remote_id, type, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (connection_id, remote_id) DO UPDATE SET type = excluded.type, last_seen_at = excluded.last_seen_at`,
  );
  const snapshotInsert = db.$client.prepare<[string, string, number, string, number | null, number | null, number | null]>(
    'INSERT INTO stats_snapshots (campaign_id, send_id, observed_at, type, sent_count, viewed_count, purchased_count) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  // A message a send adopted later (a create of unknown outcome, resolved by the reconciler)
  // stops counting as untracked.
  const untrackedCountQuery = db.$client.prepare<[string], { n: number }>(
    `SELECT count(*) AS n FROM stats_untracked u
     WHERE u.connection_id = ?
       AND NOT EXISTS (SELECT 1 FROM sends s WHERE s.connection_id = u.connection_id AND s.remote_id = u.remote_id)`,
  );

  /** Remembers remote messages no send owns; each counts once however often it is seen. */
  function recordUntracked(connectionId: string, items: Array<{ remoteId: string; type: StatsType }>, now: number): void {
    for (const item of items) untrackedUpsert.run(connectionId, item.remoteId, item.type, now, now);
  }

  return {
    async connectionsToPoll(since) {
      return connectionsQuery.all({ since }).map((r) => r.connectionId);
    },

    async tracked(connectionId, since, { afterId, limit }) {
      // '' sorts before every id: the walk's first page.
      return trackedQuery
        .all({ connectionId, since, afterId: afterId ?? '', limit })
        .map(([id, status, remoteId, remoteList, remoteSeenAt, remoteMissingAt, createdAt]) => ({ id, status, remoteId, remoteList, remoteSeenAt, remoteMissingAt, createdAt }));
    },

    async hasSyncDue(connectionId, now) {
      return syncDueQuery.get(connectionId, now) !== undefined;
    },

    async applyPage({ connectionId, type, items, now, isTracked, observe }) {
      return immediate((): PageResult => {
        const result: PageResult = { seen: [], changed: 0, statusChanges: 0, snapshots: 0, untracked: 0 };
        const remoteIds = [...new Set(items.flatMap(remoteIdsOf))];
        // Only the page's owners are loaded in full: at most two ids per item.
        const owners = new Map<string, Send>();
        for (const remoteId of remoteIds) {
          const values = ownerQuery.get(connectionId, remoteId);
          if (values) owners.set(remoteId, sendRow.decode(values, 0));
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
          result.seen.push(send.id);
          const observation = observe(send, item);
          const written = writeSendAndCampaign(db, send, observation.changes, observation.events, now, settings).send;
          // The same message may come twice (lists shift while paging): observe the row as written.
          owners.set(written.remoteId!, written);
          result.statusChanges += observation.events.filter((e) => e.type === 'status_changed').length;
          if (observation.snapshot) {
            const { type: list, sentCount, viewedCount, purchasedCount } = observation.snapshot;
            snapshotInsert.run(send.campaignId, send.id, now, list, sentCount, viewedCount, purchasedCount);
            result.snapshots++;
          }
          if (observation.isChange) result.changed++;
        }
        recordUntracked(connectionId, untracked, now);
        result.untracked = untracked.length;
        return result;
      });
    },

    async flagMissing(sendId, now, decide) {
      return immediate(() => {
        const fresh = sendById(db, sendId);
        if (!fresh) return false;
        const decision = decide(fresh);
        if (decision === null) return false;
        writeSendAndCampaign(db, fresh, decision.changes, decision.events, now, settings);
        return true;
      });
    },

    async finishPoll(connectionId, now) {
      return immediate(() => {
        const { n } = untrackedCountQuery.get(connectionId)!;
        db.insert(connections)
          .values({ id: connectionId, untrackedCount: n, statsPolledAt: now })
          .onConflictDoUpdate({ target: connections.id, set: { untrackedCount: n, statsPolledAt: now } })
          .run();
        return n;
      });
    },

    async snapshots({ limit, ...filter }) {
      return db
        .select()
        .from(statsSnapshots)
        .where(snapshotsMatching(statsSnapshots, filter))
        .orderBy(asc(statsSnapshots.observedAt), asc(statsSnapshots.id))
        .limit(limit)
        .all() as Snapshot[];
    },

    /** Revenue uses the price OFAuth reported, else the campaign's own, in cents. */
    async dayTotals({ from, to, connectionIds }): Promise<DayTotalsRow[]> {
      if (connectionIds !== null && connectionIds.length === 0) return [];
      const where: SQL[] = [isNotNull(sends.remoteId), gte(sends.sentAt, from), lte(sends.sentAt, to)];
      if (connectionIds !== null) where.push(inArray(sends.connectionId, connectionIds));
      const day = sqliteDialect.utcDay(sends.sentAt);
      const priceCents = sql`coalesce(${sends.remotePrice}, ${sqliteDialect.priceCents(campaigns.message)})`;
      return db
        .select({
          connectionId: sends.connectionId,
          day,
          sendsSent: sql<number>`count(*)`,
          messagesSent: sql<number>`coalesce(sum(${sends.sentCount}), 0)`,
          views: sql<number>`coalesce(sum(${sends.viewedCount}), 0)`,
          purchases: sql<number>`coalesce(sum(${sends.purchasedCount}), 0)`,
          revenueCents: sql<number>`coalesce(sum(coalesce(${sends.purchasedCount}, 0) * ${priceCents}), 0)`,
        })
        .from(sends)
        .leftJoin(campaigns, eq(campaigns.id, sends.campaignId))
        .where(and(...where))
        .groupBy(sends.connectionId, day)
        .orderBy(asc(sends.connectionId), day)
        .all();
    },

    async connectionRows(connectionIds) {
      if (connectionIds !== null && connectionIds.length === 0) return [];
      const query = db.select({ id: connections.id, untrackedCount: connections.untrackedCount, statsPolledAt: connections.statsPolledAt }).from(connections);
      return (connectionIds === null ? query : query.where(inArray(connections.id, connectionIds))).orderBy(asc(connections.id)).all();
    },

    async pollState(connectionId) {
      const row = db.select().from(statsPollState).where(eq(statsPollState.connectionId, connectionId)).get();
      return row ? toPollState(row) : null;
    },

    async savePollState(connectionId, state) {
      const values = fromPollState(state);
      db.insert(statsPollState).values({ connectionId, ...values }).onConflictDoUpdate({ target: statsPollState.connectionId, set: values }).run();
    },
  };
}
