import { and, asc, desc, eq, gt, gte, inArray, lt, lte, ne, sql, type SQL } from 'drizzle-orm';
import type { Campaign, SendStatus } from '../../campaigns/model.ts';
import type { Db } from '../../db/sqlite/client.ts';
import { campaignEvents, campaigns, sends } from '../../db/sqlite/schema.ts';
import type { LifecycleSettings } from '../../sends/lifecycle.ts';
import { recomputeSend } from '../../sends/lifecycle.ts';
import { sendDefaults, type NewSend, type Send } from '../../sends/model.ts';
import { containsPattern, runningSeriesMatching, sqliteDialect } from '../dialect.ts';
import { foldSeriesSummaries } from '../series-summary.ts';
import type { CampaignFilter, CampaignRecord, CampaignStore, PlannedSend, SendAudience, SeriesSummary, StoredEvent } from '../types.ts';

interface Statement<Row> {
  all(...params: unknown[]): Row[];
}
type PlannedCountRow = { connectionId: string; status: SendStatus; count: number };
import { lookupIdempotent, rememberIdempotent } from './idempotency.ts';
import { followUpCheckOnSent } from '../follow-up-checks.ts';
import { rowDecoder } from './row-decoder.ts';
import { reusableLimit } from './statements.ts';
import { appendEvents, campaignById, openSendsOf, refreshFollowUpChecks, writeCampaign, writeSend } from './write.ts';

/** Send ids per IN-list when reading audiences (well under either driver's parameter limit). */
const AUDIENCE_CHUNK = 500;

/** The parts of a filter that change the SQL text; the values are bound as parameters. */
function listShapeKey(filter: CampaignFilter): string {
  return [
    filter.statuses?.length ?? 0,
    filter.connectionIds === null ? 'any' : filter.connectionIds.length,
    filter.scheduledFrom === undefined ? '' : 'from',
    filter.scheduledTo === undefined ? '' : 'to',
    filter.nameContains === undefined ? '' : 'name',
    filter.beforeId ? 'before' : '',
  ].join('|');
}

/** Enough for every shape real callers produce; a flood of odd shapes only empties the cache. */
const MAX_CACHED_LIST_QUERIES = 64;

/** Inserts new sends with their derived columns; an occurrence that already has a live send is skipped. */
function insertSends(db: Db, rows: NewSend[], now: number): void {
  for (const row of rows) {
    const full = sendDefaults(row);
    db.insert(sends).values({ ...full, ...recomputeSend(full, {}, now) }).onConflictDoNothing().run();
  }
}

/**
 * `kind = 'scheduled'` as a literal, not a bound parameter: it matches the partial index
 * sends_one_shot_idx, and a parameter in a partial-index term makes SQLite (built with STAT4)
 * recompile the statement on every run (89 µs against 25 µs, measured by bench:api).
 */
const isOneShotSend = sql`${sends.kind} = 'scheduled'`;
/** A series' summary counts its occurrences: follow-ups have their own stats (GET /v1/sends/{id}). */
const isNotFollowUp = sql`${sends.kind} <> 'follow_up'`;

const campaignRow = rowDecoder<Campaign>(campaigns);
const sendRow = rowDecoder<Send>(sends);

/**
 * A campaign and its one-shot send (null: none, or a series), from a raw row of
 * `select({ campaign: campaigns, send: sends })`: the campaign's columns, then the send's. The
 * send is absent when its id is null, as drizzle's left join decides it.
 */
function decodeJoined(values: readonly unknown[]): { campaign: Campaign; send: Send | null } {
  const campaign = campaignRow.decode(values, 0);
  const send = values[campaignRow.width] === null || campaign.recurrence !== null ? null : sendRow.decode(values, campaignRow.width);
  return { campaign, send };
}

export function createSqliteCampaignStore(db: Db, settings: LifecycleSettings): CampaignStore {
  /** The one-shot's send comes with the campaign: one statement for GET /v1/campaigns/{id}, not two. */
  const byIdWithSend = db
    .select({ campaign: campaigns, send: sends })
    .from(campaigns)
    .leftJoin(sends, and(eq(sends.campaignId, campaigns.id), isOneShotSend))
    .where(eq(campaigns.id, sql.placeholder('id')))
    .prepare();
  const oneShotOf = db
    .select()
    .from(sends)
    .where(and(eq(sends.campaignId, sql.placeholder('id')), isOneShotSend))
    .prepare();

  const placeholders = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => sql.placeholder(`${prefix}${i}`));
  const prepareList = (filter: CampaignFilter) => {
    const where: SQL[] = [];
    if (filter.statuses?.length) where.push(inArray(campaigns.status, placeholders('status', filter.statuses.length)));
    if (filter.connectionIds) {
      // An empty list means no connection at all, never "any".
      where.push(filter.connectionIds.length > 0 ? inArray(campaigns.connectionId, placeholders('connection', filter.connectionIds.length)) : sqliteDialect.none);
    }
    if (filter.scheduledFrom !== undefined) where.push(gte(campaigns.scheduledAt, sql.placeholder('scheduledFrom')));
    if (filter.scheduledTo !== undefined) where.push(lte(campaigns.scheduledAt, sql.placeholder('scheduledTo')));
    // LIKE with an escape character, so a search for "50%" means the text, not a pattern.
    if (filter.nameContains !== undefined) where.push(sql`${campaigns.name} LIKE ${sql.placeholder('namePattern')} ESCAPE '\\'`);
    if (filter.beforeId) where.push(lt(campaigns.id, sql.placeholder('beforeId')));
    return db
      .select({ campaign: campaigns, send: sends })
      .from(campaigns)
      .leftJoin(sends, and(eq(sends.campaignId, campaigns.id), isOneShotSend))
      .where(and(...where))
      .orderBy(desc(campaigns.id))
      .limit(reusableLimit('limit'))
      .prepare();
  };
  const listQueries = new Map<string, ReturnType<typeof prepareList>>();

  /*
   * Raw SQL on purpose: the planned-time expression must be written exactly as in
   * sends_planned_idx for SQLite to read that index, and the counts then never touch the rows.
   * One statement pair per number of connections in scope (null: any).
   */
  const PLANNED_AT = 'coalesce(s.due_at, s.created_at)';
  const plannedStatements = new Map<number | null, { counts: Statement<PlannedCountRow>; sends: Statement<PlannedSend> }>();
  function plannedQueries(connectionCount: number | null) {
    let prepared = plannedStatements.get(connectionCount);
    if (prepared) return prepared;
    const inScope = connectionCount === null ? '' : `AND s.connection_id IN (${Array.from({ length: connectionCount }, () => '?').join(', ')})`;
    const window = `${PLANNED_AT} >= ? AND ${PLANNED_AT} < ? ${inScope}`;
    prepared = {
      counts: db.$client.prepare(`SELECT s.connection_id AS connectionId, s.status AS status, count(*) AS count FROM sends s WHERE ${window} GROUP BY s.connection_id, s.status`),
      sends: db.$client.prepare(
        `SELECT s.id AS sendId, s.campaign_id AS campaignId, c.name AS campaignName, s.connection_id AS connectionId, s.kind AS kind,
                s.status AS status, ${PLANNED_AT} AS plannedAt, s.sent_at AS sentAt
         FROM sends s JOIN campaigns c ON c.id = s.campaign_id
         WHERE ${window} ORDER BY ${PLANNED_AT}, s.id LIMIT ?`,
      ),
    };
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
      const values = byIdWithSend.values({ id })[0];
      if (!values) return null;
      const { campaign, send } = decodeJoined(values);
      if (campaign.recurrence !== null) return { campaign, send: null, series: seriesSummaries([campaign.id]).get(campaign.id)! };
      return { campaign, send, series: null };
    },

    async list(filter) {
      const key = listShapeKey(filter);
      let query = listQueries.get(key);
      if (!query) {
        if (listQueries.size >= MAX_CACHED_LIST_QUERIES) listQueries.clear();
        query = prepareList(filter);
        listQueries.set(key, query);
      }
      const params: Record<string, unknown> = { limit: filter.limit };
      filter.statuses?.forEach((status, i) => (params[`status${i}`] = status));
      filter.connectionIds?.forEach((connectionId, i) => (params[`connection${i}`] = connectionId));
      if (filter.scheduledFrom !== undefined) params.scheduledFrom = filter.scheduledFrom;
      if (filter.scheduledTo !== undefined) params.scheduledTo = filter.scheduledTo;
      if (filter.nameContains !== undefined) params.namePattern = containsPattern(filter.nameContains);
      if (filter.beforeId) params.beforeId = filter.beforeId;
      const rows = query.values(params).map(decodeJoined);
      const summaries = seriesSummaries(rows.filter((r) => r.campaign.recurrence !== null).map((r) => r.campaign.id));
      return rows.map(({ campaign, send }) => ({ campaign, send, series: summaries.get(campaign.id) ?? null }));
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
