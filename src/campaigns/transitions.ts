import { ConflictError } from '../errors.ts';
import type { CampaignStatus } from './model.ts';

/** A queued campaign may still be edited while its send time is further away than this. */
export const QUEUED_EDIT_MARGIN_MS = 60_000;

export type MarketerAction = 'edit' | 'schedule' | 'cancel' | 'delete';

/** The statuses each marketer action starts from; everything else is a 409. */
export const allowedFrom: Record<MarketerAction, readonly CampaignStatus[]> = {
  edit: ['draft', 'scheduled', 'queued'],
  schedule: ['draft'],
  cancel: ['draft', 'scheduled', 'queued'],
  delete: ['draft', 'canceled', 'failed'],
};

/** Moves the reconciler and poller make; kept here so the whole table reads in one place. */
export const systemTransitions: Record<CampaignStatus, readonly CampaignStatus[]> = {
  draft: [],
  scheduled: ['queued', 'failed'],
  queued: ['sending', 'sent', 'canceled', 'failed'],
  sending: ['sent', 'canceled', 'failed'],
  sent: [],
  canceled: ['sent'],
  failed: [],
};

const describe: Record<MarketerAction, string> = {
  edit: 'edited',
  schedule: 'scheduled',
  cancel: 'canceled',
  delete: 'deleted',
};

/** Throws a 409 naming the status and what is allowed, unless the action may start from it. */
export function assertActionAllowed(
  action: MarketerAction,
  campaign: { status: CampaignStatus; scheduledAt: number | null },
  now: number,
): void {
  const from = allowedFrom[action];
  if (!from.includes(campaign.status)) {
    throw new ConflictError(
      'invalid_state',
      `A ${campaign.status} campaign cannot be ${describe[action]}; only ${from.join(', ')} campaigns can.`,
    );
  }
  if (action === 'edit' && campaign.status === 'queued') {
    const isFarEnough = campaign.scheduledAt !== null && campaign.scheduledAt - now > QUEUED_EDIT_MARGIN_MS;
    if (!isFarEnough) {
      throw new ConflictError(
        'too_close_to_send',
        'A queued campaign can only be edited while its send time is more than 60 seconds away; it is already in OFAuth\'s queue and about to send.',
      );
    }
  }
}

export function canMoveTo(from: CampaignStatus, to: CampaignStatus): boolean {
  return systemTransitions[from].includes(to);
}
