import { and, asc, desc, eq, gt, inArray, lt, lte, ne, sql, type SQL } from 'drizzle-orm';
import type { Campaign, SendStatus } from '../../campaigns/model.ts';
import type { Db } from '../../db/sqlite/client.ts';
import { campaignEvents, campaigns, sends } from '../../db/sqlite/schema.ts';
import type { LifecycleSettings } from '../../sends/lifecycle.ts';
import { recomputeSend } from '../../sends/lifecycle.ts';
import { sendDefaults, type NewSend, type Send } from '../../sends/model.ts';
import { runningSeriesMatching } from '../dialect.ts';
import { foldSeriesSummaries } from '../series-summary.ts';
import type { CampaignRecord, CampaignStore, PlannedSend, SendAudience, SeriesSummary, StoredEvent } from '../types.ts';

interface Statement<Row> {
  all(...params: unknown[]): Row[];
}
type PlannedCountRow = { connectionId: string; status: SendStatus; count: number };
import { lookupIdempotent, rememberIdempotent } from './idempotency.ts';
import { followUpCheckOnSent } from '../follow-up-checks.ts';
import { createSqliteCampaignReads, isOneShotSend, MAX_CACHED_LIST_QUERIES } from './campaign-reads.ts';
import { appendEvents, campaignById, openSendsOf, refreshFollowUpChecks, writeCampaign, writeSend } from './write.ts';

/** Send ids per IN-list when reading audiences (well under either driver's parameter limit). */
const AUDIENCE_CHUNK = 500;

/** Inserts new sends with their derived columns; an occurrence that already has a live send is skipped. */
function insertSends(db: Db, rows: NewSend[], now: number): void {
  for (const row of rows) {
    const full = sendDefaults(row);
    db.insert(sends).values({ ...full, ...recomputeSend(full, {}, now) }).onConflictDoNothing().run();
  }
}

/** A series' summary counts its occurrences: follow-ups have their own stats (GET /v1/sends/{id}). */
const isNotFollowUp = sql`${sends.kind} <> 'follow_up'`;

const PLANNED_AT = 'coalesce(s.due_at, s.created_at)';

/**
 * The calendar's two statements (positional: from, to, the connections in scope, then the
 * limit). Raw SQL on purpose: the planned-time expression must be written exactly as in
 * sends_planned_idx for SQLite to read that index, and the counts then never touch the rows
 * (test/store/calendar-plans.test.ts holds them to it). `connectionCount` null: any connection.
 */
export function plannedSendsSql(connectionCount: number | null): { counts: string; sends: string } {
  const inScope = connectionCount === null ? '' : `AND s.connection_id IN (${Array.from({ length: connectionCount }, () => '?').join(', ')})`;
  // Test sends are no drops; kind is in the index, so the counts still never read the rows.
  const window = `${PLANNED_AT} >= ? AND ${PLANNED_AT} < ? AND s.kind <> 'test' ${inScope}`;
  return {
    counts: `SELECT s.connection_id AS connectionId, s.status AS status, count(*) AS count FROM sends s WHERE ${window} GROUP BY s.connection_id, s.status`,
    sends: `SELECT s.id AS sendId, s.campaign_id AS campaignId, c.name AS campaignName, s.connection_id AS connectionId, s.kind AS kind,
                s.status AS status, ${PLANNED_AT} AS plannedAt, s.sent_at AS sentAt
         FROM sends s JOIN campaigns c ON c.id = s.campaign_id
         WHERE ${window} ORDER BY ${PLANNED_AT}, s.id LIMIT ? + 0`,
  };
}

export function createSqliteCampaignStore(db: Db, settings: LifecycleSettings): CampaignStore {
  const oneShotOf = db
    .select()
    .from(sends)
    .where(and(eq(sends.campaignId, sql.placeholder('id')), isOneShotSend))
    .prepare();

  const plannedStatements = new Map<number | null, { counts: Statement<PlannedCountRow>; sends: Statement<PlannedSend> }>();
  function plannedQueries(connectionCount: number | null) {
    let prepared = plannedStatements.get(connectionCount);
    if (prepared) return prepared;
    const text = plannedSendsSql(connectionCount);
    prepared = { counts: db.$client.prepare(text.counts), sends: db.$client.prepare(text.sends) };
    if (plannedStatements.size >= MAX_CACHED_LIST_QUERIES) plannedStatements.clear();
    plannedStatements.set(connectionCount, prepared);
    return prepared;
  }

  /** Send counts by status and summed counts, for each series among `ids`. */
  function seriesSummaries(ids: string[]): Map<string, SeriesSummary> {
    if (ids.length === 0) return new Map();
    const rows = db
      .select({
        campaignId: sends.campaignId,
        status: sends.status,
        n: sql<number>`count(*)`,
        observed: sql<number>`count(${sends.statsObservedAt})`,
        sentCount: sql<number>`coalesce(sum(${sends.sentCount}), 0)`,
        viewedCount: sql<number>`coalesce(sum(${sends.viewedCount}), 0)`,
        purchasedCount: sql<number>`coalesce(sum(${sends.purchasedCount}), 0)`,
        observedAt: sql<number | null>`max(${sends.statsObservedAt})`,
      })
      .from(sends)
      .where(and(inArray(sends.campaignId, ids), isNotFollowUp, ne(sends.kind, 'test')))
      .groupBy(sends.campaignId, sends.status)
      .all();
    return foldSeriesSummaries(ids, rows);
  }

  function recordOf(campaign: Campaign): CampaignRecord {
    if (campaign.recurrence !== null) return { campaign, send: null, series: seriesSummaries([campaign.id]).get(campaign.id)! };
    return { campaign, send: oneShotOf.get({ id: campaign.id }) ?? null, series: null };
  }

  const reads = createSqliteCampaignReads(db, seriesSummaries);
  const immediate = <T>(fn: () => T): T => db.transaction(fn, { behavior: 'immediate' });

  /** Events matching `where` with ids after `afterId`, oldest first. */
  const eventsAfter = (where: SQL, afterId: number, limit: number): StoredEvent[] =>
    db.select().from(campaignEvents).where(and(where, gt(campaignEvents.id, afterId))).orderBy(asc(campaignEvents.id)).limit(limit).all() as StoredEvent[];

  return {
    async create({ now, idempotency, build, respond }) {
      return immediate(() => {
        if (idempotency) {
          const previous = lookupIdempotent(db, idempotency, now);
          if (previous) return previous;
        }
        const { campaign, sends: newSends, events } = build();
        const inserted = db.insert(campaigns).values(campaign).returning().get();
        insertSends(db, newSends, now);
        const written = writeCampaign(db, inserted, {}, settings);
        appendEvents(db, campaign.id, now, events);
        const response = respond(recordOf(written));
        if (idempotency) rememberIdempotent(db, idempotency, response, now);
        return response;
      });
    },

    async sendAudiences(sendIds) {
      const found = new Map<string, SendAudience>();
      for (let i = 0; i < sendIds.length; i += AUDIENCE_CHUNK) {
        const rows = db
          .select({ id: sends.id, audience: campaigns.audience, resolved: sends.resolvedAudience })
          .from(sends)
          .innerJoin(campaigns, eq(sends.campaignId, campaigns.id))
          .where(inArray(sends.id, sendIds.slice(i, i + AUDIENCE_CHUNK)))
          .all();
        for (const row of rows) found.set(row.id, { audience: row.audience, resolvedFanIds: row.resolved?.fanIds ?? null });
      }
      return found;
    },

    async find(id) {
      return reads.find(id);
    },

    async findView(id) {
      return reads.findView(id);
    },

    async list(filter) {
      return reads.list(filter);
    },

    async listViews(filter) {
      return reads.listViews(filter);
    },

    async mutate(id, now, decide) {
      return immediate(() => {
        const campaign = campaignById(db, id);
        if (!campaign) return null;
        const open = openSendsOf(db, id);
        const mutation = decide({ campaign, sends: open });
        if (mutation.remove) {
          const before = recordOf(campaign);
          db.delete(sends).where(eq(sends.campaignId, id)).run();
          db.delete(campaigns).where(eq(campaigns.id, id)).run();
          appendEvents(db, id, now, mutation.events ?? []);
          return before;
        }
        const openById = new Map(open.map((s) => [s.id, s]));
        const planned = { ...campaign, ...mutation.campaign };
        for (const { id: sendId, changes } of mutation.sends ?? []) {
          const send = openById.get(sendId);
          if (!send) throw new Error(`send ${sendId} is not an open send of campaign ${id}`);
          writeSend(db, send, { ...changes, ...followUpCheckOnSent(send, changes, planned) }, now);
        }
        insertSends(db, mutation.insertSends ?? [], now);
        const written = writeCampaign(db, campaign, mutation.campaign ?? {}, settings);
        refreshFollowUpChecks(db, campaign, written, now);
        appendEvents(db, id, now, mutation.events ?? []);
        return recordOf(written);
      });
    },

    async seriesDue(now, limit) {
      return db
        .select({ id: campaigns.id })
        .from(campaigns)
        .where(lte(campaigns.seriesDueAt, now))
        .orderBy(asc(campaigns.seriesDueAt))
        .limit(limit)
        .all()
        .map((r) => r.id);
    },

    async events(campaignId, afterId, limit) {
      return eventsAfter(eq(campaignEvents.campaignId, campaignId), afterId, limit);
    },

    async findSend(id) {
      return (db.select().from(sends).where(eq(sends.id, id)).get() as Send | undefined) ?? null;
    },

    async listSends(campaignId, filter) {
      const where: SQL[] = [eq(sends.campaignId, campaignId)];
      if (filter.statuses?.length) where.push(inArray(sends.status, filter.statuses));
      if (filter.beforeId) where.push(lt(sends.id, filter.beforeId));
      return db.select().from(sends).where(and(...where)).orderBy(desc(sends.id)).limit(filter.limit).all();
    },

    async sendEvents(sendId, afterId, limit) {
      return eventsAfter(eq(campaignEvents.sendId, sendId), afterId, limit);
    },

    async plannedSends(filter) {
      if (filter.connectionIds?.length === 0) return { sends: [], counts: [] };
      const query = plannedQueries(filter.connectionIds?.length ?? null);
      const connections = filter.connectionIds ?? [];
      const counts = query.counts.all(filter.from, filter.to, ...connections);
      const listed = query.sends.all(filter.from, filter.to, ...connections, filter.limit);
      return { sends: listed, counts };
    },

    async runningSeries(filter) {
      if (filter.connectionIds?.length === 0) return [];
      return db.select().from(campaigns).where(runningSeriesMatching(campaigns, filter)).orderBy(asc(campaigns.seriesDueAt), asc(campaigns.id)).limit(filter.limit).all();
    },
  };
}
