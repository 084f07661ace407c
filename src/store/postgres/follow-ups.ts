import { and, asc, eq, lt, lte } from 'drizzle-orm';
import type { PgDb } from '../../db/postgres/client.ts';
import { campaigns, sends } from '../../db/postgres/schema.ts';
import { recomputeSend } from '../../sends/lifecycle.ts';
import { sendDefaults } from '../../sends/model.ts';
import { followUpOriginalsMatching } from '../dialect.ts';
import { followUpMade } from '../follow-up-checks.ts';
import type { SendStore } from '../types.ts';
import { appendEvents, lockCampaign, lockSend, sendById, transaction } from './write.ts';

/** The follow-up materialiser's side of the sends table (the twin of ../sqlite/follow-ups.ts). */
export function createPostgresFollowUpStore(db: PgDb): Pick<SendStore, 'followUpOriginals' | 'forgetFollowUpChecks' | 'insertFollowUp'> {
  return {
    async followUpOriginals({ sentSince, dueBy, after, limit }) {
      return db
        .select({ send: sends, campaign: campaigns })
        .from(sends)
        .innerJoin(campaigns, eq(campaigns.id, sends.campaignId))
        .where(followUpOriginalsMatching({ sends, campaigns }, { sentSince, dueBy, after }))
        .orderBy(asc(sends.sentAt), asc(sends.id))
        .limit(limit);
    },

    async forgetFollowUpChecks({ sentBefore, dueBy }) {
      const stale = and(lte(sends.followUpCheckAt, dueBy), lt(sends.sentAt, sentBefore));
      const result = await db.update(sends).set({ followUpCheckAt: null }).where(stale);
      return result.rowCount ?? 0;
    },

    async insertFollowUp({ originalId, made, send, events, now }) {
      return transaction(db, async (tx) => {
        // The lock order: the campaign first, then the send (see write.ts).
        const unlocked = await sendById(tx, originalId);
        if (!unlocked) return false;
        const campaign = await lockCampaign(tx, unlocked.campaignId);
        const original = await lockSend(tx, originalId);
        if (!original || !campaign || original.followUpsMade !== made) return false;
        if (campaign.followUpsCanceledAt !== null || campaign.status === 'canceled' || made >= campaign.followUpCount) return false;
        const full = sendDefaults(send);
        const inserted = await tx.insert(sends).values({ ...full, ...recomputeSend(full, {}, now) }).onConflictDoNothing().returning({ id: sends.id });
        await tx.update(sends).set(followUpMade(original, made, campaign)).where(eq(sends.id, originalId));
        if (inserted.length > 0) await appendEvents(tx, campaign.id, now, events);
        return inserted.length > 0;
      });
    },
  };
}
