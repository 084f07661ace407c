import { and, asc, desc, eq, gt, gte, inArray, lt, lte, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { campaigns } from '../db/schema.ts';
import type { CampaignStatus } from './model.ts';

export type CampaignRow = typeof campaigns.$inferSelect;
export type NewCampaignRow = typeof campaigns.$inferInsert;
export type CampaignChanges = Partial<Omit<CampaignRow, 'id'>>;

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

  return {
    insert(row: NewCampaignRow): CampaignRow {
      return db.insert(campaigns).values(row).returning().get();
    },

    findById(id: string): CampaignRow | undefined {
      return byId.get({ id });
    },

    /** Newest first; ids are time-sortable, so rows inserted meanwhile never shift a later page. */
    list(filter: CampaignFilter): CampaignRow[] {
      const where: SQL[] = [];
      if (filter.statuses?.length) where.push(inArray(campaigns.status, filter.statuses));
      if (filter.connectionIds) where.push(inArray(campaigns.connectionId, filter.connectionIds));
      if (filter.scheduledFrom !== undefined) where.push(gte(campaigns.scheduledAt, filter.scheduledFrom));
      if (filter.scheduledTo !== undefined) where.push(lte(campaigns.scheduledAt, filter.scheduledTo));
      if (filter.beforeId) where.push(lt(campaigns.id, filter.beforeId));
      return db
        .select()
        .from(campaigns)
        .where(and(...where))
        .orderBy(desc(campaigns.id))
        .limit(filter.limit)
        .all();
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
