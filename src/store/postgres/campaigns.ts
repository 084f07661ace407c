import { and, asc, count, desc, eq, gt, gte, inArray, lt, lte, max, ne, sql, type SQL } from 'drizzle-orm';
import type { Campaign } from '../../campaigns/model.ts';
import type { PgDb, PgExecutor } from '../../db/postgres/client.ts';
import { campaignEvents, campaigns, sends } from '../../db/postgres/schema.ts';
import { recomputeSend, type LifecycleSettings } from '../../sends/lifecycle.ts';
import { sendDefaults, type NewSend } from '../../sends/model.ts';
import { containsPattern, postgresDialect, runningSeriesMatching } from '../dialect.ts';
import { foldSeriesSummaries } from '../series-summary.ts';
import { CAMPAIGN_VIEW_COLUMNS, SEND_VIEW_COLUMNS, type CampaignFilter, type CampaignRecord, type CampaignStore, type SendAudience, type SeriesSummary, type StoredEvent } from '../types.ts';
import { claimIdempotent, pruneIdempotent, rememberIdempotent } from './idempotency.ts';
import { followUpCheckOnSent } from '../follow-up-checks.ts';
import { appendEvents, lockCampaign, openSendsOf, refreshFollowUpChecks, transaction, writeCampaign, writeSend } from './write.ts';

/** Send ids per IN-list when reading audiences (well under either driver's parameter limit). */
const AUDIENCE_CHUNK = 500;

/** Inserts new sends with their derived columns; an occurrence that already has a live send is skipped (any unique index). */
async function insertSends(db: PgExecutor, rows: NewSend[], now: number): Promise<void> {
  if (rows.length === 0) return;
  const full = rows.map((row) => {
    const send = sendDefaults(row);
    return { ...send, ...recomputeSend(send, {}, now) };
  });
  await db.insert(sends).values(full).onConflictDoNothing();
}

/** The one-shot send of a campaign: a literal, matching the partial index sends_one_shot_idx. */
const isOneShotSend = sql`${sends.kind} = 'scheduled'`;
/** A series' summary counts its occurrences: follow-ups have their own stats (GET /v1/sends/{id}). */
const isNotFollowUp = sql`${sends.kind} <> 'follow_up'`;

/** Send counts by status and summed counts, for each series among `ids`. */
async function seriesSummaries(db: PgExecutor, ids: string[]): Promise<Map<string, SeriesSummary>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .select({
      campaignId: sends.campaignId,
      status: sends.status,
      n: count(),
      observed: count(sends.statsObservedAt),
      sentCount: sql<number>`coalesce(sum(${sends.sentCount}), 0)`.mapWith(Number),
      viewedCount: sql<number>`coalesce(sum(${sends.viewedCount}), 0)`.mapWith(Number),
      purchasedCount: sql<number>`coalesce(sum(${sends.purchasedCount}), 0)`.mapWith(Number),
      observedAt: max(sends.statsObservedAt),
    })
    .from(sends)
    .where(and(inArray(sends.campaignId, ids), isNotFollowUp, ne(sends.kind, 'test')))
    .groupBy(sends.campaignId, sends.status);
  return foldSeriesSummaries(ids, rows);
}

async function recordOf(db: PgExecutor, campaign: Campaign): Promise<CampaignRecord> {
  if (campaign.recurrence !== null) return { campaign, send: null, series: (await seriesSummaries(db, [campaign.id])).get(campaign.id)! };
  const [send] = await db
    .select()
    .from(sends)
    .where(and(eq(sends.campaignId, campaign.id), isOneShotSend));
  return { campaign, send: send ?? null, series: null };
}

const oneShotSendOfCampaign = and(eq(sends.campaignId, campaigns.id), isOneShotSend);

/** The columns the API shows (CampaignViewRecord): a list page reads these, not whole rows. */
const viewColumns = {
  campaign: Object.fromEntries(CAMPAIGN_VIEW_COLUMNS.map((key) => [key, campaigns[key]])) as Pick<typeof campaigns, (typeof CAMPAIGN_VIEW_COLUMNS)[number]>,
  send: Object.fromEntries(SEND_VIEW_COLUMNS.map((key) => [key, sends[key]])) as Pick<typeof sends, (typeof SEND_VIEW_COLUMNS)[number]>,
};

function listWhere(filter: CampaignFilter): SQL | undefined {
  const where: SQL[] = [];
  if (filter.statuses?.length) where.push(inArray(campaigns.status, filter.statuses));
  if (filter.connectionIds) where.push(filter.connectionIds.length > 0 ? inArray(campaigns.connectionId, filter.connectionIds) : postgresDialect.none);
  if (filter.scheduledFrom !== undefined) where.push(gte(campaigns.scheduledAt, filter.scheduledFrom));
  if (filter.scheduledTo !== undefined) where.push(lte(campaigns.scheduledAt, filter.scheduledTo));
  // ILIKE with an escape character, so a search for "50%" means the text, not a pattern.
  if (filter.nameContains !== undefined) where.push(sql`${campaigns.name} ILIKE ${containsPattern(filter.nameContains)} ESCAPE '\\'`);
  if (filter.beforeId) where.push(lt(campaigns.id, filter.beforeId));
  return and(...where);
}

export function createPostgresCampaignStore(db: PgDb, settings: LifecycleSettings): CampaignStore {
  /** A page of campaigns with their series' summaries; a series has no one-shot send whatever the join found. */
  async function withSummaries<C extends { id: string; recurrence: unknown }, S>(rows: Array<{ campaign: C; send: S | null }>) {
    const summaries = await seriesSummaries(db, rows.filter((r) => r.campaign.recurrence !== null).map((r) => r.campaign.id));
    return rows.map(({ campaign, send }) => ({ campaign, send: campaign.recurrence === null ? send : null, series: summaries.get(campaign.id) ?? null }));
  }

  /** One campaign as a record: a one-shot with its send, a series with its summary. */
  async function withSummary<C extends { id: string; recurrence: unknown }, S>({ campaign, send }: { campaign: C; send: S | null }) {
    if (campaign.recurrence === null) return { campaign, send, series: null };
    return { campaign, send: null, series: (await seriesSummaries(db, [campaign.id])).get(campaign.id)! };
  }

  // Named, so each pooled connection plans it once: the API's hottest read.
  const withOneShot = db
    .select({ campaign: campaigns, send: sends })
    .from(campaigns)
    .leftJoin(sends, oneShotSendOfCampaign)
    .where(eq(campaigns.id, sql.placeholder('id')))
    .prepare('fanout_campaign_by_id');
  const viewWithOneShot = db.select(viewColumns).from(campaigns).leftJoin(sends, oneShotSendOfCampaign).where(eq(campaigns.id, sql.placeholder('id'))).prepare('fanout_campaign_view_by_id');

  /** Events matching `where` with ids after `afterId`, oldest first. */
  const eventsAfter = async (where: SQL, afterId: number, limit: number): Promise<StoredEvent[]> =>
    (await db.select().from(campaignEvents).where(and(where, gt(campaignEvents.id, afterId))).orderBy(asc(campaignEvents.id)).limit(limit)) as StoredEvent[];

  return {
    async create({ now, idempotency, build, respond }) {
      if (idempotency) await pruneIdempotent(db, now);
      return transaction(db, async (tx) => {
        if (idempotency) {
          const previous = await claimIdempotent(tx, idempotency, now);
          if (previous) return previous;
        }
        const { campaign, sends: newSends, events } = build();
        const [inserted] = await tx.insert(campaigns).values(campaign).returning();
        await insertSends(tx, newSends, now);
        const written = await writeCampaign(tx, inserted!, {}, settings);
        await appendEvents(tx, campaign.id, now, events);
        const response = respond(await recordOf(tx, written));
        if (idempotency) await rememberIdempotent(tx, idempotency, response);
        return response;
      });
    },

    async sendAudiences(sendIds) {
      const found = new Map<string, SendAudience>();
      for (let i = 0; i < sendIds.length; i += AUDIENCE_CHUNK) {
        const rows = await db
          .select({ id: sends.id, audience: campaigns.audience, resolved: sends.resolvedAudience })
          .from(sends)
          .innerJoin(campaigns, eq(sends.campaignId, campaigns.id))
          .where(inArray(sends.id, sendIds.slice(i, i + AUDIENCE_CHUNK)));
        for (const row of rows) found.set(row.id, { audience: row.audience, resolvedFanIds: row.resolved?.fanIds ?? null });
      }
      return found;
    },

    async find(id) {
      const [row] = await withOneShot.execute({ id });
      return row ? withSummary(row) : null;
    },

    async findView(id) {
      const [row] = await viewWithOneShot.execute({ id });
      return row ? withSummary(row) : null;
    },

    async list(filter) {
      const rows = await db.select({ campaign: campaigns, send: sends }).from(campaigns).leftJoin(sends, oneShotSendOfCampaign).where(listWhere(filter)).orderBy(desc(campaigns.id)).limit(filter.limit);
      return withSummaries(rows);
    },

    async listViews(filter) {
      const rows = await db.select(viewColumns).from(campaigns).leftJoin(sends, oneShotSendOfCampaign).where(listWhere(filter)).orderBy(desc(campaigns.id)).limit(filter.limit);
      return withSummaries(rows);
    },

    /* The campaign row is locked first, then its open sends (the lock order of write.ts). */
    async mutate(id, now, decide) {
      return transaction(db, async (tx) => {
        const campaign = await lockCampaign(tx, id);
        if (!campaign) return null;
        const open = await openSendsOf(tx, id, { lock: true });
        const mutation = decide({ campaign, sends: open });
        if (mutation.remove) {
          const before = await recordOf(tx, campaign);
          await tx.delete(sends).where(eq(sends.campaignId, id));
          await tx.delete(campaigns).where(eq(campaigns.id, id));
          await appendEvents(tx, id, now, mutation.events ?? []);
          return before;
        }
        const openById = new Map(open.map((s) => [s.id, s]));
        const planned = { ...campaign, ...mutation.campaign };
        for (const { id: sendId, changes } of mutation.sends ?? []) {
          const send = openById.get(sendId);
          if (!send) throw new Error(`send ${sendId} is not an open send of campaign ${id}`);
          await writeSend(tx, send, { ...changes, ...followUpCheckOnSent(send, changes, planned) }, now);
        }
        await insertSends(tx, mutation.insertSends ?? [], now);
        const written = await writeCampaign(tx, campaign, mutation.campaign ?? {}, settings);
        await refreshFollowUpChecks(tx, campaign, written, now);
        await appendEvents(tx, id, now, mutation.events ?? []);
        return recordOf(tx, written);
      });
    },

    async seriesDue(now, limit) {
      const rows = await db.select({ id: campaigns.id }).from(campaigns).where(lte(campaigns.seriesDueAt, now)).orderBy(asc(campaigns.seriesDueAt)).limit(limit);
      return rows.map((r) => r.id);
    },

    async events(campaignId, afterId, limit) {
      return eventsAfter(eq(campaignEvents.campaignId, campaignId), afterId, limit);
    },

    async findSend(id) {
      const [row] = await db.select().from(sends).where(eq(sends.id, id));
      return row ?? null;
    },

    async listSends(campaignId, filter) {
      const where: SQL[] = [eq(sends.campaignId, campaignId)];
      if (filter.statuses?.length) where.push(inArray(sends.status, filter.statuses));
      if (filter.beforeId) where.push(lt(sends.id, filter.beforeId));
      return db.select().from(sends).where(and(...where)).orderBy(desc(sends.id)).limit(filter.limit);
    },

    async sendEvents(sendId, afterId, limit) {
      return eventsAfter(eq(campaignEvents.sendId, sendId), afterId, limit);
    },

    async plannedSends(filter) {
      if (filter.connectionIds?.length === 0) return { sends: [], counts: [] };
      // Written exactly as sends_planned_idx, so PostgreSQL reads that index.
      const plannedAt = sql<number>`coalesce(${sends.dueAt}, ${sends.createdAt})`;
      const where = and(
        sql`${plannedAt} >= ${filter.from}`,
        sql`${plannedAt} < ${filter.to}`,
        // Test sends are no drops (kind is the index's last column).
        sql`${sends.kind} <> 'test'`,
        filter.connectionIds ? inArray(sends.connectionId, filter.connectionIds) : undefined,
      );
      const counts = await db
        .select({ connectionId: sends.connectionId, status: sends.status, count: sql<number>`count(*)::int` })
        .from(sends)
        .where(where)
        .groupBy(sends.connectionId, sends.status);
      const listed = await db
        .select({
          sendId: sends.id,
          campaignId: sends.campaignId,
          campaignName: campaigns.name,
          connectionId: sends.connectionId,
          kind: sends.kind,
          status: sends.status,
          plannedAt: sql<number>`${plannedAt}::float8`,
          sentAt: sends.sentAt,
        })
        .from(sends)
        .innerJoin(campaigns, eq(campaigns.id, sends.campaignId))
        .where(where)
        .orderBy(plannedAt, asc(sends.id))
        .limit(filter.limit);
      return { sends: listed, counts };
    },

    async runningSeries(filter) {
      if (filter.connectionIds?.length === 0) return [];
      return db.select().from(campaigns).where(runningSeriesMatching(campaigns, filter)).orderBy(asc(campaigns.seriesDueAt), asc(campaigns.id)).limit(filter.limit);
    },
  };
}
