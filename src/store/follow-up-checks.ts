import { followUpCheckAt } from '../campaigns/follow-ups.ts';
import type { Campaign } from '../campaigns/model.ts';
import type { Send, SendChanges } from '../sends/model.ts';

/*
 * The writes that keep sends.follow_up_check_at exact (see followUpCheckAt), shared by both
 * stores: a send going out, a follow-up made, and a campaign write that changes what its sent
 * originals owe.
 */

/** The check to write with a send's changes: recomputed when its status moves, else nothing. */
export function followUpCheckOnSent(send: Send, changes: SendChanges, campaign: Campaign): SendChanges {
  if (changes.status === undefined || changes.status === send.status) return {};
  const check = followUpCheckAt({ ...send, ...changes }, campaign);
  return check === send.followUpCheckAt ? {} : { followUpCheckAt: check };
}

/** The original's changes once its next follow-up is made: one more made, and the check after it. */
export function followUpMade(original: Send, made: number, campaign: Campaign): SendChanges {
  const followUpsMade = made + 1;
  return { followUpsMade, followUpCheckAt: followUpCheckAt({ ...original, followUpsMade }, campaign) };
}

/** The sent originals of a campaign whose check is not what its plan now says, with the right one. */
export function staleFollowUpChecks(originals: Send[], campaign: Campaign): Array<{ id: string; followUpCheckAt: number | null }> {
  return originals.flatMap((s) => {
    const check = followUpCheckAt(s, campaign);
    return check === s.followUpCheckAt ? [] : [{ id: s.id, followUpCheckAt: check }];
  });
}
