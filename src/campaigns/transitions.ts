import { ConflictError } from '../errors.ts';
import type { Campaign, CampaignStatus } from './model.ts';

/** A queued campaign may still be edited while its send time is further away than this. */
export const QUEUED_EDIT_MARGIN_MS = 60_000;

export type MarketerAction = 'edit' | 'schedule' | 'cancel' | 'delete' | 'pause' | 'resume';

/**
 * The statuses each marketer action starts from, for one-shot campaigns and for series;
 * everything else is a 409. The moves themselves are checked again by the lifecycle's tables
 * (src/sends/lifecycle.ts) when the store writes them.
 */
export const allowedFrom: Record<'oneShot' | 'series', Record<MarketerAction, readonly CampaignStatus[]>> = {
  oneShot: {
    edit: ['draft', 'scheduled', 'queued'],
    schedule: ['draft'],
    cancel: ['draft', 'scheduled', 'queued'],
    delete: ['draft', 'canceled', 'failed'],
    pause: [],
    resume: [],
  },
  series: {
    edit: ['draft', 'scheduled', 'paused'],
    schedule: ['draft'],
    cancel: ['draft', 'scheduled', 'paused'],
    delete: ['draft', 'canceled', 'completed'],
    pause: ['scheduled'],
    resume: ['paused'],
  },
};

const describe: Record<MarketerAction, string> = {
  edit: 'edited',
  schedule: 'scheduled',
  cancel: 'canceled',
  delete: 'deleted',
  pause: 'paused',
  resume: 'resumed',
};

/** Throws a 409 naming the status and what is allowed, unless the action may start from it. */
export function assertActionAllowed(action: MarketerAction, campaign: Pick<Campaign, 'status' | 'recurrence'>): void {
  const kind = campaign.recurrence === null ? 'oneShot' : 'series';
  const from = allowedFrom[kind][action];
  if (from.includes(campaign.status)) return;
  const noun = kind === 'series' ? 'recurring campaign' : 'campaign';
  if (from.length === 0) throw new ConflictError('invalid_state', `Only a recurring campaign can be ${describe[action]}.`);
  throw new ConflictError('invalid_state', `A ${campaign.status} ${noun} cannot be ${describe[action]}; only ${from.join(', ')} ${noun}s can.`);
}

/** A queued one-shot's send is in OFAuth's queue: edits are refused when it is about to go. */
export function assertFarEnoughToEdit(dueAt: number | null, now: number): void {
  const isFarEnough = dueAt !== null && dueAt - now > QUEUED_EDIT_MARGIN_MS;
  if (!isFarEnough) {
    throw new ConflictError(
      'too_close_to_send',
      "A queued campaign can only be edited while its send time is more than 60 seconds away; it is already in OFAuth's queue and about to send.",
    );
  }
}
