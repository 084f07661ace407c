import { eq } from 'drizzle-orm';
import type { CampaignStatus } from '../../src/campaigns/model.ts';
import type { Db } from '../../src/db/sqlite/client.ts';
import { campaigns, sends } from '../../src/db/sqlite/schema.ts';
import { newSendId } from '../../src/ids.ts';
import { sendDefaults, type Send, type SendChanges } from '../../src/sends/model.ts';
import { withSyncRecomputed } from '../../src/sync/plan.ts';

/** The send status a one-shot campaign in `status` has. */
const sendStatusFor = (status: CampaignStatus): Send['status'] => (status === 'scheduled' ? 'pending' : (status as Send['status']));

/**
 * Puts a one-shot campaign into any status by writing its rows, as the loops would leave them:
 * the campaign's status, and (unless a draft) its send with `sendFields`, sync columns
 * recomputed so the send is one the reconciler could actually leave behind. For tests that need
 * a state the API cannot reach directly.
 */
export function forceOneShot(db: Db, campaignId: string, status: CampaignStatus, sendFields: SendChanges = {}, now = Date.now()): Send | null {
  const campaign = db.select().from(campaigns).where(eq(campaigns.id, campaignId)).get();
  if (!campaign) throw new Error(`no campaign ${campaignId}`);
  db.update(campaigns).set({ status, failureReason: sendFields.reason ?? campaign.failureReason }).where(eq(campaigns.id, campaignId)).run();
  if (status === 'draft') return null;
  let send = db.select().from(sends).where(eq(sends.campaignId, campaignId)).get() as Send | undefined;
  if (!send) {
    send = sendDefaults({
      id: newSendId(now),
      campaignId,
      connectionId: campaign.connectionId,
      kind: 'scheduled',
      occurrenceAt: null,
      dueAt: sendFields.dueAt !== undefined ? sendFields.dueAt : campaign.scheduledAt,
      revision: campaign.revision,
      status: sendStatusFor(status),
      createdAt: now,
      updatedAt: now,
    });
    db.insert(sends).values(send).run();
  }
  const changes = withSyncRecomputed(send, { status: sendStatusFor(status), ...sendFields }, now);
  return db.update(sends).set(changes).where(eq(sends.id, send.id)).returning().get() as Send;
}

/** The one-shot campaign's send row, whole. */
export function sendOf(db: Db, campaignId: string): Send | undefined {
  return db.select().from(sends).where(eq(sends.campaignId, campaignId)).get() as Send | undefined;
}

/** Writes raw changes to a send (recomputing its sync columns), as a loop would. */
export function updateSend(db: Db, sendId: string, fields: SendChanges, now = Date.now()): Send {
  const send = db.select().from(sends).where(eq(sends.id, sendId)).get() as Send;
  return db.update(sends).set(withSyncRecomputed(send, fields, now)).where(eq(sends.id, sendId)).returning().get() as Send;
}
