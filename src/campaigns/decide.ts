import type { EventSpec } from '../events/types.ts';
import { ConflictError } from '../errors.ts';
import { newSendId } from '../ids.ts';
import type { NewSend, Send, SendChanges } from '../sends/model.ts';
import type { CampaignMutation, CampaignState } from '../store/types.ts';
import type { Campaign, CampaignChanges, FollowUp, Recurrence } from './model.ts';
import { firstOccurrenceFrom, isOccurrenceOf } from './series.ts';
import { QUEUED_EDIT_MARGIN_MS, assertActionAllowed, assertFarEnoughToEdit } from './transitions.ts';

/*
 * Pure decisions for the marketer's actions: each takes the campaign and its open sends as they
 * are inside the store's transaction and returns what to write, or throws a 409. The store
 * writes the result through the lifecycle (src/sends/lifecycle.ts).
 */

export interface DecideContext {
  now: number;
  actor: string;
}

/** The plan after a PATCH, already validated by the service. */
export interface EditedPlan {
  name: string;
  message: Campaign['message'];
  audience: Campaign['audience'];
  scheduledAt: number | null;
  recurrence: Recurrence | null;
  followUps: FollowUp[] | null;
  /** Fields that differ from the campaign as it is. */
  changed: string[];
}

const sendsOfKind = (state: CampaignState, kind: Send['kind']) => state.sends.filter((s) => s.kind === kind);
const isEditableSend = (s: Send) => s.status === 'pending' || s.status === 'queued';
/**
 * Whether a series' send can still be withdrawn: a queued send whose time has come is in
 * OnlyFans' hands (OFAuth sends it at its scheduledDate, and a DELETE then would unsend a
 * delivered message), so it is treated as sending and left to the poller.
 */
const isWithdrawable = (s: Send, now: number) => s.status === 'pending' || (s.status === 'queued' && s.dueAt !== null && s.dueAt > now);

/** A new revision is new work: forget the old one's failures and back-off. */
const freshRevision = (revision: number): SendChanges => ({ revision, attempts: 0, lastError: null, nextAttemptAt: null });

/** The one-shot campaign's send, made when it is scheduled. */
export function oneShotSend(campaign: Campaign, now: number): NewSend {
  return {
    id: newSendId(now),
    campaignId: campaign.id,
    connectionId: campaign.connectionId,
    kind: 'scheduled',
    occurrenceAt: null,
    dueAt: campaign.scheduledAt,
    revision: campaign.revision,
    status: 'pending',
    createdAt: now,
    updatedAt: now,
  };
}

/** A series starts at its start time or now, whichever is later. */
export function seriesStart(campaign: Pick<Campaign, 'recurrence' | 'scheduledAt'>, now: number): CampaignChanges {
  const from = Math.max(campaign.scheduledAt ?? now, now);
  return { nextOccurrenceAt: firstOccurrenceFrom(campaign.recurrence!, from), occurrenceCount: 0, seriesCursorAt: null, missedBefore: null };
}

export function decideSchedule(state: CampaignState, ctx: DecideContext): CampaignMutation {
  const { campaign } = state;
  assertActionAllowed('schedule', campaign);
  const events: EventSpec[] = [{ type: 'scheduled', actor: ctx.actor, data: { scheduledAt: campaign.scheduledAt } }];
  if (campaign.recurrence !== null) {
    const start = seriesStart(campaign, ctx.now);
    if (start.nextOccurrenceAt === null) throw new ConflictError('series_ended', 'The series has no occurrence left between now and its endsAt; change its schedule before scheduling.');
    return { campaign: { status: 'scheduled', updatedAt: ctx.now, ...start }, events };
  }
  if (campaign.scheduledAt !== null && campaign.scheduledAt <= ctx.now) {
    throw new ConflictError('send_time_passed', 'scheduledAt has passed; set a future scheduledAt (or null to send now) before scheduling.');
  }
  return { campaign: { status: 'scheduled', updatedAt: ctx.now }, insertSends: [oneShotSend(campaign, ctx.now)], events };
}

/** The sends a cancel or pause withdraws: a one-shot's while it is editable, a series' while not yet due. */
function openSends(state: CampaignState, now: number): Send[] {
  const isOpen = state.campaign.recurrence === null ? isEditableSend : (s: Send) => isWithdrawable(s, now);
  return state.sends.filter(isOpen);
}

/** A send withdrawn for `reason`; a queued one is then deleted in OFAuth by the sync. */
const canceledAs = (reason: string): SendChanges => ({ status: 'canceled', reason, nextAttemptAt: null, attempts: 0 });
const withdraw = (open: Send[], reason: string) => open.map((s) => ({ id: s.id, changes: canceledAs(reason) }));

/**
 * A campaign whose sends have gone out may still have follow-ups to come: cancel then stops
 * those (the pending ones, and any not made yet) and leaves the campaign's own status alone.
 */
const hasFollowUpsToStop = (c: Campaign) => c.followUps !== null && c.followUpsCanceledAt === null && ['sending', 'sent', 'completed'].includes(c.status);
/** A follow-up already in OFAuth was sent at once (it is made when due): only pending ones are withdrawn. */
const isPendingFollowUp = (s: Send) => s.kind === 'follow_up' && s.status === 'pending';

export function decideCancel(state: CampaignState, ctx: DecideContext): CampaignMutation {
  const { campaign } = state;
  const stopFollowUps: CampaignChanges = campaign.followUps === null ? {} : { followUpsCanceledAt: ctx.now };
  if (hasFollowUpsToStop(campaign)) {
    const sends = withdraw(state.sends.filter(isPendingFollowUp), 'campaign_canceled');
    return {
      campaign: { ...stopFollowUps, updatedAt: ctx.now },
      sends,
      events: [{ type: 'canceled', actor: ctx.actor, data: { from: campaign.status, remoteDeletePending: false, sendsCanceled: sends.length, followUpsOnly: true } }],
    };
  }
  assertActionAllowed('cancel', campaign);
  const open = openSends(state, ctx.now).filter((s) => s.kind !== 'follow_up' || isPendingFollowUp(s));
  const sends = withdraw(open, 'campaign_canceled');
  const remoteDeletePending = open.some((s) => s.remoteId !== null && s.remoteDeletedAt === null);
  return {
    campaign: { status: 'canceled', updatedAt: ctx.now, ...stopFollowUps },
    sends,
    events: [{ type: 'canceled', actor: ctx.actor, data: { from: campaign.status, remoteDeletePending, sendsCanceled: sends.length } }],
  };
}

export function decidePause(state: CampaignState, ctx: DecideContext): CampaignMutation {
  const { campaign } = state;
  assertActionAllowed('pause', campaign);
  // Follow-ups of occurrences already sent are not the series' schedule: a pause leaves them.
  const open = openSends(state, ctx.now).filter((s) => s.kind !== 'follow_up');
  const sends = withdraw(open, 'paused');
  // Occurrences canceled before their time are made again if the series resumes in time.
  const future = open.filter((s) => (s.occurrenceAt ?? 0) > ctx.now).map((s) => s.occurrenceAt!);
  const rewindTo = future.length > 0 ? Math.min(...future, campaign.nextOccurrenceAt ?? Number.POSITIVE_INFINITY) : campaign.nextOccurrenceAt;
  return {
    campaign: { status: 'paused', updatedAt: ctx.now, nextOccurrenceAt: rewindTo, occurrenceCount: Math.max(0, campaign.occurrenceCount - future.length) },
    sends,
    events: [{ type: 'paused', actor: ctx.actor, data: { sendsCanceled: sends.length, stillSending: state.sends.filter((s) => s.status === 'sending' || (s.status === 'queued' && !open.includes(s))).length } }],
  };
}

export function decideResume(state: CampaignState, ctx: DecideContext): CampaignMutation {
  assertActionAllowed('resume', state.campaign);
  // Occurrences whose time passed while paused are recorded as missed, never sent late.
  return {
    campaign: { status: 'scheduled', updatedAt: ctx.now, missedBefore: ctx.now },
    events: [{ type: 'resumed', actor: ctx.actor, data: { nextOccurrenceAt: state.campaign.nextOccurrenceAt === null ? null : new Date(state.campaign.nextOccurrenceAt).toISOString() } }],
  };
}

export function decideRemove(state: CampaignState, ctx: DecideContext): CampaignMutation {
  assertActionAllowed('delete', state.campaign);
  // Forgetting a campaign whose remote copy is still being created or deleted would leave a
  // mass message in OFAuth's queue that nothing tracks any more.
  const isBusy = state.sends.some((s) => s.syncDueAt !== null || (s.leaseOwner !== null && (s.leaseExpiresAt ?? 0) > ctx.now));
  if (isBusy) {
    throw new ConflictError('sync_in_progress', 'The remote copy of this campaign is still being created or deleted; try again once sync.state is settled.');
  }
  return { remove: true, events: [{ type: 'deleted', actor: ctx.actor }] };
}

/** A one-shot's edit reaches its send: the new revision and send time. */
function editOneShot(state: CampaignState, plan: EditedPlan, revision: number, ctx: DecideContext): Array<{ id: string; changes: SendChanges }> {
  const [send] = sendsOfKind(state, 'scheduled');
  if (!send) return [];
  if (send.status === 'queued') assertFarEnoughToEdit(send.dueAt, ctx.now);
  if (!isEditableSend(send)) return [];
  const changes: SendChanges = { dueAt: plan.scheduledAt };
  if (revision !== send.revision) Object.assign(changes, freshRevision(revision), send.syncState === 'error' ? { syncState: 'pending' } : {});
  return [{ id: send.id, changes }];
}

/**
 * A series' edit reaches every send not yet sending (each updated in OFAuth by the sync), except
 * queued ones about to go; a schedule change cancels the sends that no longer match and restarts
 * materialisation from now.
 */
function editSeries(state: CampaignState, plan: EditedPlan, revision: number, ctx: DecideContext): { sends: Array<{ id: string; changes: SendChanges }>; campaign: CampaignChanges } {
  const { campaign } = state;
  const isScheduleChange = plan.changed.includes('recurrence') || plan.changed.includes('scheduledAt');
  const sends: Array<{ id: string; changes: SendChanges }> = [];
  let dropped = 0;
  for (const send of sendsOfKind(state, 'occurrence').filter((s) => isWithdrawable(s, ctx.now))) {
    if (isScheduleChange && !isOccurrenceOf(plan.recurrence!, plan.scheduledAt, send.occurrenceAt!)) {
      sends.push({ id: send.id, changes: canceledAs('schedule_changed') });
      dropped++;
      continue;
    }
    const isAboutToGo = send.status === 'queued' && (send.dueAt ?? 0) - ctx.now <= QUEUED_EDIT_MARGIN_MS;
    if (revision !== send.revision && !isAboutToGo) {
      sends.push({ id: send.id, changes: { ...freshRevision(revision), ...(send.syncState === 'error' ? { syncState: 'pending' as const } : {}) } });
    }
  }
  const changes: CampaignChanges = {};
  if (isScheduleChange && campaign.status !== 'draft') {
    const restart = seriesStart({ recurrence: plan.recurrence, scheduledAt: plan.scheduledAt }, ctx.now);
    Object.assign(changes, { nextOccurrenceAt: restart.nextOccurrenceAt, occurrenceCount: Math.max(0, campaign.occurrenceCount - dropped) });
  }
  return { sends, campaign: changes };
}

export function decideEdit(state: CampaignState, plan: EditedPlan, ctx: DecideContext): CampaignMutation {
  const { campaign } = state;
  assertActionAllowed('edit', campaign);
  if (plan.changed.length === 0) return {};
  if ((plan.recurrence === null) !== (campaign.recurrence === null) && campaign.status !== 'draft') {
    throw new ConflictError('invalid_state', 'Only a draft can become a recurring campaign, or stop being one.');
  }
  // Follow-ups are not part of the sends' OFAuth body: changing them alone updates nothing remote.
  const isContentChange = plan.changed.some((f) => f !== 'name' && f !== 'followUps');
  const revision = isContentChange ? campaign.revision + 1 : campaign.revision;
  const base: CampaignChanges = {
    name: plan.name,
    message: plan.message,
    audience: plan.audience,
    scheduledAt: plan.scheduledAt,
    recurrence: plan.recurrence,
    followUps: plan.followUps,
    revision,
    updatedAt: ctx.now,
  };
  const events: EventSpec[] = [{ type: 'updated', actor: ctx.actor, data: { fields: plan.changed, revision } }];
  if (plan.recurrence === null) return { campaign: base, sends: editOneShot(state, plan, revision, ctx), events };
  const series = editSeries(state, plan, revision, ctx);
  return { campaign: { ...base, ...series.campaign }, sends: series.sends, events };
}

/** Makes a campaign's sends due now, clearing back-off and an "error" hold (POST /sync). */
export function decideSyncNow(state: CampaignState, ctx: DecideContext): CampaignMutation {
  const sends = state.sends
    .filter((s) => s.status !== 'sent' && s.status !== 'failed')
    .map((s) => ({ id: s.id, changes: { nextAttemptAt: null, ...(s.syncState === 'error' ? { syncState: 'pending' as const } : {}) } as SendChanges }));
  return { sends, events: [{ type: 'sync_requested', actor: ctx.actor }] };
}
