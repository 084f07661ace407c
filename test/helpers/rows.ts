import type { CampaignStatus } from '../../src/campaigns/model.ts';
import { newSendId } from '../../src/ids.ts';
import { sendDefaults, type Send, type SendChanges } from '../../src/sends/model.ts';
import { withSyncRecomputed } from '../../src/sync/plan.ts';
import type { Backdoor } from './backdoor.ts';

/** The send status a one-shot campaign in `status` has. */
const sendStatusFor = (status: CampaignStatus): Send['status'] => (status === 'scheduled' ? 'pending' : (status as Send['status']));

/**
 * Puts a one-shot campaign into any status by writing its rows, as the loops would leave them:
 * the campaign's status, and (unless a draft) its send with `sendFields`, sync columns
 * recomputed so the send is one the reconciler could actually leave behind. For tests that need
 * a state the API cannot reach directly.
 */
export async function forceOneShot(rows: Backdoor, campaignId: string, status: CampaignStatus, sendFields: SendChanges = {}, now = Date.now()): Promise<Send | null> {
  const campaign = await rows.campaign(campaignId);
  if (!campaign) throw new Error(`no campaign ${campaignId}`);
  await rows.updateCampaign(campaignId, { status, failureReason: sendFields.reason ?? campaign.failureReason });
  if (status === 'draft') return null;
  let send = await rows.sendOfCampaign(campaignId);
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
    await rows.insertSend(send);
  }
  const changes = withSyncRecomputed(send, { status: sendStatusFor(status), ...sendFields }, now);
  return rows.updateSend(send.id, changes);
}

/** The one-shot campaign's send row, whole. */
export function sendOf(rows: Backdoor, campaignId: string): Promise<Send | undefined> {
  return rows.sendOfCampaign(campaignId);
}

/** Writes raw changes to a send (recomputing its sync columns), as a loop would. */
export async function updateSend(rows: Backdoor, sendId: string, fields: SendChanges, now = Date.now()): Promise<Send> {
  const send = await rows.send(sendId);
  if (!send) throw new Error(`no send ${sendId}`);
  return rows.updateSend(sendId, withSyncRecomputed(send, fields, now));
}
