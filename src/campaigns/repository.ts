import { and, asc, desc, eq, gt, gte, inArray, lt, lte, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { campaigns } from '../db/schema.ts';
import type { CampaignStatus } from './model.ts';

export type CampaignRow = typeof campaigns.$inferSelect;
export type NewCampaignRow = typeof campaigns.$inferInsert;
export type CampaignChanges = Partial<Omit<CampaignRow, 'id'>>;

/**
 * The columns the API shows (see view.ts). The list reads only these: turning a row's values into
 * JS is most of what a page costs, and the sync bookkeeping columns are a third of the row.
 */
const viewColumns = {
  id: campaigns.id,
  name: campaigns.name,
  connectionId: campaigns.connectionId,
  message: campaigns.message,
  audience: campaigns.audience,
  scheduledAt: campaigns.scheduledAt,
  status: campaigns.status,
  failureReason: campaigns.failureReason,
  revision: campaigns.revision,
  createdBy: campaigns.createdBy,
  createdAt: campaigns.createdAt,
  updatedAt: campaigns.updatedAt,
  syncState: campaigns.syncState,
  remoteId: campaigns.remoteId,
  syncedRevision: campaigns.syncedRevision,
  attempts: campaigns.attempts,
  lastError: campaigns.lastError,
  nextAttemptAt: campaigns.nextAttemptAt,
  lastSyncedAt: campaigns.lastSyncedAt,
  sentCount: campaigns.sentCount,
  viewedCount: campaigns.viewedCount,
  purchasedCount: campaigns.purchasedCount,
  statsObservedAt: campaigns.statsObservedAt,
};

/** What the API shows of a campaign; every CampaignRow is one. */
export type CampaignViewRow = Pick<CampaignRow, keyof typeof viewColumns>;

const viewColumnEntries = Object.entries(viewColumns);

/**
 * Turns one raw result row (values in viewColumns order, as drizzle selects them) into an object,
 * decoding each value as its column would (JSON.parse for the json columns). Drizzle's generic
 * mapper does the same but re-checks every field's kind on every value, which cost a 50-row page
 * more than decoding it.
 */
function decodeViewRow(values: unknown[]): CampaignViewRow {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < viewColumnEntries.length; i++) {
    const [key, column] = viewColumnEntries[i]!;
    const value = values[i];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value as never);
  }
  return row as CampaignViewRow;
}

/** The parts of a filter that change the SQL text; the values are bound as parameters. */
function listShapeKey(filter: CampaignFilter): string {
  return [
    filter.statuses?.length ?? 0,
    filter.connectionIds === null ? 'any' : filter.connectionIds.length,
    filter.scheduledFrom === undefined ? '' : 'from',
    filter.scheduledTo === undefined ? '' : 'to',
    filter.beforeId ? 'before' : '',
  ].join('|');
}

/** Enough for every shape real callers produce; a flood of odd shapes only empties the cache. */
const MAX_CACHED_LIST_QUERIES = 64;

export interface CampaignFilter {
  statuses?: CampaignStatus[];
  /** Null: any connection. */
  connectionIds: string[] | null;
  scheduledFrom?: number;
  scheduledTo?: number;
  /** Keyset cursor: only ids strictly older than this. */
  beforeId?: string;
  limit: number;
}

/** Queries on campaigns; knows SQL, not HTTP or the rules. */
export function createCampaignRepository(db: Db) {
  // Prepared once: the hot read path of the API.
  const byId = db.select().from(campaigns).where(eq(campaigns.id, sql.placeholder('id'))).prepare();

  const placeholders = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => sql.placeholder(`${prefix}${i}`));
  const prepareList = (filter: CampaignFilter) => {
    const where: SQL[] = [];
    if (filter.statuses?.length) where.push(inArray(campaigns.status, placeholders('status', filter.statuses.length)));
    if (filter.connectionIds) {
      // An empty list means no connection at all, never "any".
      where.push(filter.connectionIds.length > 0 ? inArray(campaigns.connectionId, placeholders('connection', filter.connectionIds.length)) : sql`0`);
    }
    if (filter.scheduledFrom !== undefined) where.push(gte(campaigns.scheduledAt, sql.placeholder('scheduledFrom')));
    if (filter.scheduledTo !== undefined) where.push(lte(campaigns.scheduledAt, sql.placeholder('scheduledTo')));
    if (filter.beforeId) where.push(lt(campaigns.id, sql.placeholder('beforeId')));
    return db
      .select(viewColumns)
      .from(campaigns)
      .where(and(...where))
      .orderBy(desc(campaigns.id))
      .limit(sql.placeholder('limit'))
      .prepare();
  };
  const listQueries = new Map<string, ReturnType<typeof prepareList>>();

  return {
    insert(row: NewCampaignRow): CampaignRow {
      return db.insert(campaigns).values(row).returning().get();
    },

    findById(id: string): CampaignRow | undefined {
      return byId.get({ id });
    },

    /**
     * Newest first; ids are time-sortable, so rows inserted meanwhile never shift a later page.
     * Statements are prepared once per filter shape: building and preparing the query on every
     * request cost as much as running it.
     */
    list(filter: CampaignFilter): CampaignViewRow[] {
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
      if (filter.beforeId) params.beforeId = filter.beforeId;
      return (query.values(params) as unknown[][]).map(decodeViewRow);
    },

    update(id: string, changes: CampaignChanges): CampaignRow {
      const row = db.update(campaigns).set(changes).where(eq(campaigns.id, id)).returning().get();
      if (!row) throw new Error(`campaign ${id} vanished during an update`);
      return row;
    },

    delete(id: string): void {
      db.delete(campaigns).where(eq(campaigns.id, id)).run();
    },

    /** Campaigns with a remote copy on a connection, for matching stats items by remote id. */
    findByRemoteIds(connectionId: string, remoteIds: string[]): CampaignRow[] {
      if (remoteIds.length === 0) return [];
      return db
        .select()
        .from(campaigns)
        .where(and(eq(campaigns.connectionId, connectionId), inArray(campaigns.remoteId, remoteIds)))
        .all();
    },

    /** Ids after a given one, oldest first; used by scans that must not hold everything in memory. */
    idsAfter(afterId: string, limit: number): string[] {
      return db
        .select({ id: campaigns.id })
        .from(campaigns)
        .where(gt(campaigns.id, afterId))
        .orderBy(asc(campaigns.id))
        .limit(limit)
        .all()
        .map((r) => r.id);
    },
  };
}

export type CampaignRepository = ReturnType<typeof createCampaignRepository>;
