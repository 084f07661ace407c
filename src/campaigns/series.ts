import { SERIES_ACTOR, type EventSpec } from '../events/types.ts';
import { newSendId } from '../ids.ts';
import type { NewSend, Send } from '../sends/model.ts';
import type { CampaignMutation, CampaignState, CampaignStore } from '../store/types.ts';
import type { Campaign, Recurrence } from './model.ts';
import { nextOccurrence } from './recurrence.ts';

export interface SeriesSettings {
  /** An occurrence becomes a send this long before its time (RECURRENCE_LEAD). */
  leadMs: number;
  /** An occurrence later than this by the time it is materialised is recorded missed (LATE_SEND_MAX). */
  lateSendMaxMs: number;
}

/** Occurrences one materialisation of one series makes at most; a longer backlog goes on next tick. */
export const MAX_OCCURRENCES_PER_PASS = 100;
/** Series materialised per tick at most; the rest stay due for the next. */
const MAX_SERIES_PER_TICK = 500;

/** The first occurrence at or after `from` (the series start, a resume, a schedule change). */
export function firstOccurrenceFrom(recurrence: Recurrence, from: number): number | null {
  return nextOccurrence(recurrence, from - 1);
}

/** Whether `at` is an occurrence of this schedule starting at `start`. */
export function isOccurrenceOf(recurrence: Recurrence, start: number | null, at: number): boolean {
  if (start !== null && at < start) return false;
  if (recurrence.endsAt !== null && at > recurrence.endsAt) return false;
  return nextOccurrence(recurrence, at - 1) === at;
}

function occurrenceSend(campaign: Campaign, at: number, now: number, isMissed: boolean): NewSend {
  const base: NewSend = {
    id: newSendId(now),
    campaignId: campaign.id,
    connectionId: campaign.connectionId,
    kind: 'occurrence',
    occurrenceAt: at,
    dueAt: at,
    revision: campaign.revision,
    status: 'pending',
    createdAt: now,
    updatedAt: now,
  };
  if (!isMissed) return base;
  return { ...base, status: 'failed', reason: 'missed_window', lastError: 'Not sent: the occurrence passed while the series was paused or Fanout was not running.' };
}

/**
 * What materialising a running series means now: every occurrence up to `now + lead` not yet a
 * send becomes one (pending, queued in OFAuth with its time), or a failed send with reason
 * missed_window when its time passed before it could be (while paused, or while Fanout was
 * down): never sent late in a burst. Pure: the store writes the result.
 */
export function planMaterialization(state: CampaignState, now: number, settings: SeriesSettings): CampaignMutation {
  const { campaign } = state;
  const recurrence = campaign.recurrence;
  if (campaign.status !== 'scheduled' || recurrence === null) return {};
  const occurrences = state.sends.filter((s: Send) => s.kind === 'occurrence');
  const live = new Set(occurrences.filter((s) => s.status !== 'canceled').map((s) => s.occurrenceAt));
  // Withdrawn by a pause or a schedule change, their copy in OFAuth not surely gone (see isOpenSend).
  const withdrawing = new Map(occurrences.filter((s) => s.status === 'canceled').map((s) => [s.occurrenceAt, s]));
  const missedBefore = Math.max(campaign.missedBefore ?? Number.NEGATIVE_INFINITY, now - settings.lateSendMaxMs);
  const insertSends: NewSend[] = [];
  const events: EventSpec[] = [];
  let at = campaign.nextOccurrenceAt;
  let count = campaign.occurrenceCount;
  let cursor = campaign.seriesCursorAt;
  while (at !== null && at <= now + settings.leadMs && insertSends.length < MAX_OCCURRENCES_PER_PASS) {
    if (recurrence.maxOccurrences !== null && count >= recurrence.maxOccurrences) {
      at = null;
      break;
    }
    // An occurrence already materialised once and canceled by a pause is not recorded again as
    // missed once its time has passed; one still ahead is made again (the resume came in time).
    const wasCanceledByPause = campaign.seriesCursorAt !== null && at <= campaign.seriesCursorAt && at < missedBefore;
    const earlierCopy = live.has(at) || wasCanceledByPause ? undefined : withdrawing.get(at);
    if (earlierCopy !== undefined && earlierCopy.syncState !== 'error') {
      // Its delete is not confirmed yet: making the occurrence again now could put two copies
      // in OFAuth's queue. Wait here (the series stays due) until the sync settles it.
      break;
    }
    if (earlierCopy !== undefined) {
      // OFAuth refused the delete (the copy is going out, or an operator must look): that copy
      // is this occurrence, counted towards maxOccurrences, and never made twice.
      count++;
    } else if (!live.has(at) && !wasCanceledByPause) {
      const send = occurrenceSend(campaign, at, now, at < missedBefore);
      insertSends.push(send);
      count++;
      const data = { occurrenceAt: new Date(at).toISOString(), number: count };
      events.push(send.status === 'failed' ? { type: 'occurrence_missed', actor: SERIES_ACTOR, sendId: send.id, data: { ...data, reason: 'missed_window' } } : { type: 'occurrence_created', actor: SERIES_ACTOR, sendId: send.id, data });
    }
    cursor = Math.max(cursor ?? Number.NEGATIVE_INFINITY, at);
    at = nextOccurrence(recurrence, at);
  }
  if (at !== null && recurrence.maxOccurrences !== null && count >= recurrence.maxOccurrences) at = null;
  if (at === null && campaign.nextOccurrenceAt !== null) events.push({ type: 'series_ended', actor: SERIES_ACTOR, data: { occurrences: count } });
  return { campaign: { nextOccurrenceAt: at, occurrenceCount: count, seriesCursorAt: cursor }, insertSends, events };
}

/**
 * Materialises every series that is due (series_due_at has come): a tick costs what is due,
 * never the length of a series or the number of series. Safe to run in several processes at
 * once: each series is decided in its own write transaction, and the unique key on (campaign,
 * occurrence) makes a second materialisation of an occurrence a no-op.
 */
export async function materializeDueSeries(deps: { campaigns: CampaignStore; now: () => number; settings: SeriesSettings }): Promise<{ series: number; sends: number }> {
  const ids = await deps.campaigns.seriesDue(deps.now(), MAX_SERIES_PER_TICK);
  let sends = 0;
  for (const id of ids) {
    const now = deps.now();
    await deps.campaigns.mutate(id, now, (state) => {
      const mutation = planMaterialization(state, now, deps.settings);
      sends += mutation.insertSends?.length ?? 0;
      return mutation;
    });
  }
  return { series: ids.length, sends };
}
