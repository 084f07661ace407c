import type { Campaign, CampaignChanges, CampaignStatus, SendStatus } from '../campaigns/model.ts';
import { withSyncRecomputed } from '../sync/plan.ts';
import { isFinalSend, type Send, type SendChanges } from './model.ts';

/*
 * The one owner of every status change. Marketer actions (campaigns/transitions.ts), the sync,
 * the materialiser and the poller all change a send's or a campaign's status through the store,
 * and the store runs every write through recomputeSend / recomputeCampaign below: a status move
 * outside these tables is a bug and throws, and the derived columns (a send's sync state and due
 * time, a one-shot campaign's mirrored status, a series' completion and due time) are computed
 * here and nowhere else.
 */

/** The moves a send can make, whoever makes them. */
export const sendTransitions: Record<SendStatus, readonly SendStatus[]> = {
  // pending → unknown: only a test send, whose chat message may or may not have been delivered.
  pending: ['queued', 'sending', 'sent', 'unknown', 'canceled', 'failed'],
  queued: ['sending', 'sent', 'canceled', 'failed'],
  sending: ['sent', 'canceled', 'failed'],
  // A cancel that lost the race: the poller finds it sent after all.
  canceled: ['sent'],
  sent: ['unsent'],
  unsent: [],
  // A search of the chat found it (sent) or proved it absent (failed).
  unknown: ['sent', 'failed'],
  failed: [],
};

/** The moves a campaign can make (marketer actions and the loops alike). */
export const campaignTransitions: Record<CampaignStatus, readonly CampaignStatus[]> = {
  draft: ['scheduled', 'canceled'],
  // One-shot: mirrors its send. Series: running, and may pause, complete or be canceled.
  scheduled: ['queued', 'sending', 'sent', 'canceled', 'failed', 'paused', 'completed'],
  queued: ['sending', 'sent', 'canceled', 'failed'],
  sending: ['sent', 'canceled', 'failed'],
  sent: ['unsent'],
  unsent: [],
  canceled: ['sent'],
  failed: [],
  // A resume after the series' end completes it at once.
  paused: ['scheduled', 'canceled', 'completed'],
  completed: [],
};

export const canSendMove = (from: SendStatus, to: SendStatus): boolean => from === to || sendTransitions[from].includes(to);
export const canCampaignMove = (from: CampaignStatus, to: CampaignStatus): boolean => from === to || campaignTransitions[from].includes(to);

/** A one-shot campaign shows its send's status; a pending send is a scheduled campaign. */
export function oneShotStatus(send: SendStatus): CampaignStatus {
  if (send === 'pending') return 'scheduled';
  // Only test sends are ever unknown, and a campaign never mirrors those.
  if (send === 'unknown') return 'sending';
  return send;
}

export class IllegalTransitionError extends Error {
  constructor(what: string, from: string, to: string) {
    super(`illegal ${what} transition ${from} → ${to}`);
  }
}

/**
 * The changes to write for a send: checked against the transition table, with its sync state
 * and due time recomputed from the result.
 */
export function recomputeSend(send: Send, changes: SendChanges, now: number): SendChanges {
  if (changes.status !== undefined && !canSendMove(send.status, changes.status)) {
    throw new IllegalTransitionError('send', send.status, changes.status);
  }
  return { ...withSyncRecomputed(send, changes, now), updatedAt: changes.updatedAt ?? now };
}

export interface LifecycleSettings {
  /** A series occurrence becomes a send this long before its time (RECURRENCE_LEAD). */
  recurrenceLeadMs: number;
}

/** What recomputeCampaign reads of a send: a store may load these columns alone. */
export type SendForCampaign = Pick<Send, 'kind' | 'status' | 'reason'>;

/**
 * The changes to write for a campaign after its own changes and its sends' (`sends`: every send
 * that can still change, after this write). A one-shot campaign mirrors its send; a series whose
 * end was reached completes once every send is final, and is due for materialisation `lead`
 * before its next occurrence while it runs.
 */
export function recomputeCampaign(campaign: Campaign, changes: CampaignChanges, sends: SendForCampaign[], settings: LifecycleSettings): CampaignChanges {
  const next = { ...campaign, ...changes };
  const derived: CampaignChanges = { ...changes };
  const followUpCount = next.followUps?.length ?? 0;
  if (followUpCount !== campaign.followUpCount) derived.followUpCount = followUpCount;
  if (next.recurrence === null) {
    const oneShot = sends.find((s) => s.kind === 'scheduled');
    if (oneShot && next.status !== 'draft' && oneShotStatus(oneShot.status) !== next.status) {
      derived.status = oneShotStatus(oneShot.status);
      if (oneShot.status === 'failed') derived.failureReason = oneShot.reason;
    }
  } else {
    const hasEnded = next.nextOccurrenceAt === null;
    if (next.status === 'scheduled' && hasEnded && sends.every((s) => isFinalSend(s.status))) derived.status = 'completed';
    const status = derived.status ?? next.status;
    const seriesDueAt = status === 'scheduled' && next.nextOccurrenceAt !== null ? next.nextOccurrenceAt - settings.recurrenceLeadMs : null;
    if (seriesDueAt !== next.seriesDueAt) derived.seriesDueAt = seriesDueAt;
  }
  if (derived.status !== undefined && !canCampaignMove(campaign.status, derived.status)) {
    throw new IllegalTransitionError('campaign', campaign.status, derived.status);
  }
  return derived;
}
