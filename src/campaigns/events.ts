import { and, asc, eq, gt } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { campaignEvents } from '../db/schema.ts';

export type CampaignEventRow = typeof campaignEvents.$inferSelect;

/** Who did it: a token's name for marketers, or one of the service's own loops. */
export type Actor = string;
export const SYNC_ACTOR = 'system:sync';
export const STATS_ACTOR = 'system:stats';

/** The campaign's audit log: append-only, read oldest first. */
export function createEventLog(db: Db) {
  return {
    append(campaignId: string, type: string, actor: Actor, at: number, data?: Record<string, unknown>): void {
      db.insert(campaignEvents).values({ campaignId, type, actor, at, data: data ?? null }).run();
    },

    list(campaignId: string, afterId: number, limit: number): CampaignEventRow[] {
      return db
        .select()
        .from(campaignEvents)
        .where(and(eq(campaignEvents.campaignId, campaignId), gt(campaignEvents.id, afterId)))
        .orderBy(asc(campaignEvents.id))
        .limit(limit)
        .all();
    },

  };
}

export type EventLog = ReturnType<typeof createEventLog>;
