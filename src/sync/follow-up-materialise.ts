import { FOLLOW_UP_LOOK_BACK_MS } from '../campaigns/follow-ups.ts';
import { chatFiltersOf, type Audience } from '../campaigns/model.ts';
import type { Clock } from '../clock.ts';
import { SYNC_ACTOR } from '../events/types.ts';
import { newSendId } from '../ids.ts';
import type { NewSend, Send } from '../sends/model.ts';
import type { SendStore, SendWork } from '../store/types.ts';
import { isFanIdsOnly } from './follow-up-prepare.ts';

/*
 * Turns due follow-ups into sends: once an original has been sent `after` ago, its next
 * follow-up becomes a pending send of kind follow_up, due at once, which the sync prepares
 * (buyers, buyers list) and creates like any send. Made when due rather than queued ahead, so
 * the buyers are read right before the create; one that could not be made in time fails at sync
 * as missed_window (LATE_SEND_MAX), as a late one-shot does.
 */

const PAGE = 200;

/**
 * Who the original reached, as far as the follow-up is concerned: its chat filters as they were
 * resolved for it (fan ids on the send), not as the chats are now, or the follow-up would go to
 * fans who never got the original and miss some who did.
 */
function reachedAudience(original: Send, audience: Audience): Audience {
  if (chatFiltersOf(audience).length === 0 || original.resolvedAudience === null) return audience;
  const { chatFilters: _resolvedForTheOriginal, ...rest } = audience;
  return { ...rest, userIds: [...new Set([...audience.userIds, ...original.resolvedAudience.fanIds])] };
}

/** The follow-up send for an original's `index`-th follow-up, with its plan fixed now. */
export function followUpSend(work: SendWork, index: number, now: number): NewSend | null {
  const { send: original, campaign } = work;
  const followUp = campaign.followUps?.[index];
  if (!followUp || original.sentAt === null || original.remoteId === null) return null;
  const id = newSendId(now);
  const audience = reachedAudience(original, campaign.audience);
  return {
    id,
    campaignId: campaign.id,
    connectionId: campaign.connectionId,
    kind: 'follow_up',
    occurrenceAt: null,
    dueAt: original.sentAt + followUp.afterMs,
    revision: campaign.revision,
    status: 'pending',
    createdAt: now,
    updatedAt: now,
    parentSendId: original.id,
    followUpIndex: index,
    followUp: {
      parentRemoteId: original.remoteId,
      audience,
      message: followUp.message,
      path: isFanIdsOnly(audience) ? 'fan_ids' : 'buyers_list',
      // Deterministic, so an unknown outcome of the list's create can be looked up by name.
      buyersListName: `fanout-buyers-${id}`,
      buyersListStartedAt: null,
      buyersListId: null,
      buyerIds: null,
      buyersCursor: null,
      buyersAdded: 0,
    },
  };
}

/** Makes every follow-up that is due; returns how many were made. Safe to run in several processes at once. */
export async function materialiseFollowUps(deps: { sends: SendStore; clock: Clock }): Promise<number> {
  const now = deps.clock.now();
  let made = 0;
  let after: { sentAt: number; id: string } | null = null;
  const sentSince = now - FOLLOW_UP_LOOK_BACK_MS;
  await deps.sends.forgetFollowUpChecks({ sentBefore: sentSince, dueBy: now });
  for (;;) {
    const page = await deps.sends.followUpOriginals({ sentSince, dueBy: now, after, limit: PAGE });
    for (const work of page) {
      // An original may owe several at once (a process down for a while): make each in turn.
      for (let index = work.send.followUpsMade; index < work.campaign.followUpCount; index++) {
        const send = followUpSend(work, index, now);
        if (send === null || (send.dueAt ?? now) > now) break;
        const events = [{ type: 'follow_up_created' as const, actor: SYNC_ACTOR, sendId: send.id, data: { parentSendId: work.send.id, index, dueAt: new Date(send.dueAt!).toISOString() } }];
        if (!(await deps.sends.insertFollowUp({ originalId: work.send.id, made: index, send, events, now }))) break;
        made++;
      }
    }
    if (page.length < PAGE) return made;
    const last = page.at(-1)!.send;
    after = { sentAt: last.sentAt!, id: last.id };
  }
}
