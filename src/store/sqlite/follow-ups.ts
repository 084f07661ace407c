import { and, asc, eq, lt, lte } from 'drizzle-orm';
import type { Db } from '../../db/sqlite/client.ts';
import { campaigns, sends } from '../../db/sqlite/schema.ts';
import { recomputeSend } from '../../sends/lifecycle.ts';
import { sendDefaults } from '../../sends/model.ts';
import { followUpOriginalsMatching } from '../dialect.ts';
import { followUpMade } from '../follow-up-checks.ts';
import type { SendStore } from '../types.ts';
import { appendEvents, campaignById, sendById } from './write.ts';

/** The follow-up materialiser's side of the sends table (see SendStore). */
export function createSqliteFollowUpStore(db: Db): Pick<SendStore, 'followUpOriginals' | 'forgetFollowUpChecks' | 'insertFollowUp'> {
  const immediate = <T>(fn: () => T): T => db.transaction(fn, { behavior: 'immediate' });

  return {
    async followUpOriginals({ sentSince, dueBy, after, limit }) {
      const rows = db
        .select({ send: sends, campaign: campaigns })
        .from(sends)
        .innerJoin(campaigns, eq(campaigns.id, sends.campaignId))
        .where(followUpOriginalsMatching({ sends, campaigns }, { sentSince, dueBy, after }))
        .orderBy(asc(sends.sentAt), asc(sends.id))
        .limit(limit)
        .all();
      return rows;
    },

    async forgetFollowUpChecks({ sentBefore, dueBy }) {
      const stale = and(lte(sends.followUpCheckAt, dueBy), lt(sends.sentAt, sentBefore));
      return db.update(sends).set({ followUpCheckAt: null }).where(stale).run().changes;
    },

    async insertFollowUp({ originalId, made, send, events, now }) {
      return immediate(() => {
        const original = sendById(db, originalId);
        const campaign = original && campaignById(db, original.campaignId);
        if (!original || !campaign || original.followUpsMade !== made) return false;
        if (campaign.followUpsCanceledAt !== null || campaign.status === 'canceled' || made >= campaign.followUpCount) return false;
        const full = sendDefaults(send);
        const inserted = db.insert(sends).values({ ...full, ...recomputeSend(full, {}, now) }).onConflictDoNothing().returning({ id: sends.id }).all();
        db.update(sends).set(followUpMade(original, made, campaign)).where(eq(sends.id, originalId)).run();
        if (inserted.length > 0) appendEvents(db, campaign.id, now, events);
        return inserted.length > 0;
      });
    },
  };
}
