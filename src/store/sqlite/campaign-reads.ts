import { and, desc, eq, gte, inArray, lt, lte, sql, type SQL } from 'drizzle-orm';
import type { Campaign } from '../../campaigns/model.ts';
import type { Db } from '../../db/sqlite/client.ts';
import { campaigns, sends } from '../../db/sqlite/schema.ts';
import type { Send } from '../../sends/model.ts';
import { containsPattern, sqliteDialect } from '../dialect.ts';
import { CAMPAIGN_VIEW_COLUMNS, SEND_VIEW_COLUMNS, type CampaignFilter, type CampaignRecord, type CampaignViewRecord, type SeriesSummary } from '../types.ts';
import { rowDecoder, type RowDecoder } from './row-decoder.ts';
import { reusableLimit } from './statements.ts';

/*
 * The campaign reads of the API: one campaign with its one-shot send, and pages of them. Each
 * is one statement (a left join), kept prepared, whose raw rows are decoded here (row-decoder.ts).
 */

/**
 * `kind = 'scheduled'` as a literal, not a bound parameter: it matches the partial index
 * sends_one_shot_idx, and a parameter in a partial-index term makes SQLite (built with STAT4)
 * recompile the statement on every run (89 µs against 25 µs, measured by bench:api).
 */
export const isOneShotSend = sql`${sends.kind} = 'scheduled'`;

/** How wide a campaign and its send are read: whole rows, or the columns the API shows. */
interface JoinedRow<C, S> {
  /** Names the width in the statement cache's keys. */
  name: 'whole' | 'view';
  campaign: RowDecoder<C>;
  send: RowDecoder<S>;
}

const wholeRow: JoinedRow<Campaign, Send> = { name: 'whole', campaign: rowDecoder(campaigns), send: rowDecoder(sends) };
const viewRow: JoinedRow<CampaignViewRecord['campaign'], NonNullable<CampaignViewRecord['send']>> = {
  name: 'view',
  campaign: rowDecoder(campaigns, CAMPAIGN_VIEW_COLUMNS),
  send: rowDecoder(sends, SEND_VIEW_COLUMNS),
};
for (const row of [wholeRow, viewRow]) if (Object.keys(row.send.columns)[0] !== 'id') throw new Error("a joined send is read with its id first: a null id is a left join's no send");

/**
 * The campaign and its one-shot send from a raw row (the campaign's columns, then the send's,
 * as `select({ campaign, send })` reads them). No send when its id is null, as drizzle decides a
 * left join; a series has none whatever the join found.
 */
function decodeJoined<C extends { recurrence: unknown }, S>(shape: JoinedRow<C, S>, values: readonly unknown[]): { campaign: C; send: S | null } {
  const width = shape.campaign.width;
  const campaign = shape.campaign.decode(values, 0);
  return { campaign, send: values[width] === null || campaign.recurrence !== null ? null : shape.send.decode(values, width) };
}

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

function listParams(filter: CampaignFilter): Record<string, unknown> {
  const params: Record<string, unknown> = { limit: filter.limit };
  filter.statuses?.forEach((status, i) => (params[`status${i}`] = status));
  filter.connectionIds?.forEach((connectionId, i) => (params[`connection${i}`] = connectionId));
  if (filter.scheduledFrom !== undefined) params.scheduledFrom = filter.scheduledFrom;
  if (filter.scheduledTo !== undefined) params.scheduledTo = filter.scheduledTo;
  if (filter.nameContains !== undefined) params.namePattern = containsPattern(filter.nameContains);
  if (filter.beforeId) params.beforeId = filter.beforeId;
  return params;
}

/** Enough for every shape real callers produce; a flood of odd shapes only empties the cache. */
export const MAX_CACHED_LIST_QUERIES = 64;

/** find, findView, list and listViews of the SQLite campaign store; `seriesSummaries` reads the series among the rows. */
export function createSqliteCampaignReads(db: Db, seriesSummaries: (ids: string[]) => Map<string, SeriesSummary>) {
  const joined = <C, S>(shape: JoinedRow<C, S>) =>
    db.select({ campaign: shape.campaign.columns, send: shape.send.columns }).from(campaigns).leftJoin(sends, and(eq(sends.campaignId, campaigns.id), isOneShotSend));

  /** The one-shot's send comes with the campaign: one statement for GET /v1/campaigns/{id}, not two. */
  const byId = { whole: joined(wholeRow).where(eq(campaigns.id, sql.placeholder('id'))).prepare(), view: joined(viewRow).where(eq(campaigns.id, sql.placeholder('id'))).prepare() };

  const placeholders = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => sql.placeholder(`${prefix}${i}`));
  const prepareList = (shape: JoinedRow<unknown, unknown>, filter: CampaignFilter) => {
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
    return joined(shape)
      .where(and(...where))
      .orderBy(desc(campaigns.id))
      .limit(reusableLimit('limit'))
      .prepare();
  };
  const listQueries = new Map<string, ReturnType<typeof prepareList>>();

  function listIn<C extends { id: string; recurrence: unknown }, S>(shape: JoinedRow<C, S>, filter: CampaignFilter) {
    const key = `${shape.name}:${listShapeKey(filter)}`;
    let query = listQueries.get(key);
    if (!query) {
      if (listQueries.size >= MAX_CACHED_LIST_QUERIES) listQueries.clear();
      query = prepareList(shape, filter);
      listQueries.set(key, query);
    }
    const rows = query.values(listParams(filter)).map((values) => decodeJoined(shape, values));
    const summaries = seriesSummaries(rows.filter((r) => r.campaign.recurrence !== null).map((r) => r.campaign.id));
    return rows.map(({ campaign, send }) => ({ campaign, send, series: summaries.get(campaign.id) ?? null }));
  }

  function findIn<C extends { id: string; recurrence: unknown }, S>(shape: JoinedRow<C, S>, id: string) {
    const values = byId[shape.name].values({ id })[0];
    if (!values) return null;
    const { campaign, send } = decodeJoined(shape, values);
    return { campaign, send, series: campaign.recurrence === null ? null : seriesSummaries([campaign.id]).get(campaign.id)! };
  }

  return {
    find: (id: string): CampaignRecord | null => findIn(wholeRow, id),
    findView: (id: string): CampaignViewRecord | null => findIn(viewRow, id),
    list: (filter: CampaignFilter): CampaignRecord[] => listIn(wholeRow, filter),
    listViews: (filter: CampaignFilter): CampaignViewRecord[] => listIn(viewRow, filter),
  };
}
