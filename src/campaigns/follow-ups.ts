import { z } from 'zod';
import type { Send } from '../sends/model.ts';
import type { Campaign, FollowUp, Message } from './model.ts';

/*
 * A PPV campaign's follow-ups: after each of its sends went out, one more message to the fans it
 * reached who did not buy. Parsed and checked here; made by src/sync/follow-up-materialise.ts and
 * sent by src/sync/follow-up-prepare.ts.
 */

/** The default of FOLLOW_UP_MIN_AFTER: a follow-up sooner than an hour after the drop is pestering. */
export const FOLLOW_UP_MIN_AFTER_MS = 3_600_000;
export const FOLLOW_UP_MAX_AFTER_MS = 7 * 86_400_000;
export const MAX_FOLLOW_UPS = 5;

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `90m`, `24h`, `2d`: whole minutes, hours or days. */
export const afterSchema = z
  .string()
  .regex(/^[1-9]\d{0,5}[mhd]$/, 'expected a duration such as 90m, 24h or 2d')
  .transform((text) => Number(text.slice(0, -1)) * UNIT_MS[text.at(-1) as keyof typeof UNIT_MS])
  // The lower bound is FOLLOW_UP_MIN_AFTER, checked by the service (findFollowUpTimingProblems).
  .refine((ms) => ms <= FOLLOW_UP_MAX_AFTER_MS, 'after must be at most 7d');

/** The largest whole unit: 1440 minutes reads as 1d. */
export function formatAfter(ms: number): string {
  for (const unit of ['d', 'h', 'm'] as const) if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  return `${Math.round(ms / 60_000)}m`;
}

/** A follow-up as the API takes it; `message` is parsed by the caller's message schema. */
export function followUpBodySchema<M extends z.ZodType>(messageSchema: M) {
  return z.strictObject({
    after: afterSchema.describe('How long after the send went out: FOLLOW_UP_MIN_AFTER (default 1h) to 7d (`90m`, `24h`, `2d`)'),
    message: messageSchema,
    audience: z.literal('non_buyers').describe('The fans the send reached, minus those who bought it'),
  });
}

/** Follow-ups sooner than FOLLOW_UP_MIN_AFTER (default 1h; tests and the crash test lower it), by their place in the body. */
export function findFollowUpTimingProblems(followUps: Array<{ after: number }> | undefined, minAfterMs: number): Array<{ path: string; message: string }> {
  return (followUps ?? []).flatMap((f, index) =>
    f.after >= minAfterMs ? [] : [{ path: `body/followUps/${index}/after`, message: `after must be at least ${formatAfter(minAfterMs)} (FOLLOW_UP_MIN_AFTER)` }],
  );
}

export const toFollowUp = (body: { after: number; message: unknown }): FollowUp => ({ afterMs: body.after, message: body.message as Message, audience: 'non_buyers' });

/** Earliest first: the materialiser makes them in that order (sends.follow_ups_made counts them). */
export const sortFollowUps = (followUps: FollowUp[]): FollowUp[] | null => (followUps.length === 0 ? null : [...followUps].sort((a, b) => a.afterMs - b.afterMs));

/** Follow-ups go to non-buyers, so only a PPV (price > 0) can have them. */
export function findFollowUpProblems(message: Pick<Message, 'price'>, followUps: FollowUp[] | null): Array<{ path: string; message: string }> {
  if (followUps === null || followUps.length === 0) return [];
  if (message.price > 0) return [];
  return [{ path: 'body/followUps', message: 'follow-ups go to the fans who did not buy, so the campaign must be a PPV (message.price > 0)' }];
}

export function toFollowUpView(followUp: FollowUp): { after: string; message: Message; audience: 'non_buyers' } {
  return { after: formatAfter(followUp.afterMs), message: followUp.message, audience: followUp.audience };
}

/** Originals sent longer ago than the longest follow-up, plus a day of grace, owe nothing new. */
export const FOLLOW_UP_LOOK_BACK_MS = FOLLOW_UP_MAX_AFTER_MS + 86_400_000;

type FollowUpOwner = Pick<Campaign, 'followUps' | 'followUpsCanceledAt' | 'status'>;
type FollowUpOriginal = Pick<Send, 'kind' | 'status' | 'sentAt' | 'remoteId' | 'followUpsMade'>;

/**
 * When the materialiser must next look at a send (sends.follow_up_check_at): the due time of
 * the next follow-up it owes under its campaign's current plan, or null when it owes none. Kept
 * exact by every write that changes either side (the send going out, a follow-up made, the
 * campaign's follow-ups edited or stopped), so the materialiser's scan reads only originals
 * that are due, however many sends are at rest.
 */
export function followUpCheckAt(send: FollowUpOriginal, campaign: FollowUpOwner): number | null {
  const isOriginal = send.kind === 'scheduled' || send.kind === 'occurrence';
  if (!isOriginal || send.status !== 'sent' || send.sentAt === null || send.remoteId === null) return null;
  if (campaign.followUpsCanceledAt !== null || campaign.status === 'canceled') return null;
  const next = campaign.followUps?.[send.followUpsMade];
  return next === undefined ? null : send.sentAt + next.afterMs;
}

/** Whether a campaign write can change what its sent originals owe (see followUpCheckAt). */
export const changesFollowUpsOwed = (before: FollowUpOwner, after: FollowUpOwner): boolean =>
  before.followUpsCanceledAt !== after.followUpsCanceledAt ||
  (before.status !== after.status && after.status === 'canceled') ||
  JSON.stringify(before.followUps) !== JSON.stringify(after.followUps);
