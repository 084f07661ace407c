import type { Campaign } from './model.ts';
import { MAX_OCCURRENCES, nextOccurrence, occurrencesBetween } from './recurrence.ts';

/**
 * The occurrences of a running series in [from, to) that are not sends yet: from its next
 * occurrence on (every earlier one is already a send), within its end date and what is left of
 * maxOccurrences. At most `limit`, ascending. Planning only: nothing is created from this, and
 * an occurrence may still be missed or canceled by a pause before its time.
 */
export function projectOccurrences(campaign: Campaign, window: { from: number; to: number }, limit: number): number[] {
  const { recurrence, nextOccurrenceAt } = campaign;
  if (campaign.status !== 'scheduled' || recurrence === null || nextOccurrenceAt === null || limit < 1) return [];
  if (nextOccurrenceAt >= window.to) return [];
  const last = window.to - 1;
  if (recurrence.maxOccurrences === null) {
    // Nothing to count: start at the window.
    const first = nextOccurrenceAt >= window.from ? nextOccurrenceAt : nextOccurrence(recurrence, window.from - 1);
    if (first === null || first > last) return [];
    return [first, ...occurrencesBetween(recurrence, first, last, limit - 1)];
  }
  // Occurrences before the window still use up maxOccurrences, so walk from the next one;
  // bounded, since a series has at most MAX_OCCURRENCES.
  const left = Math.min(recurrence.maxOccurrences - campaign.occurrenceCount, MAX_OCCURRENCES);
  if (left < 1) return [];
  const ahead = [nextOccurrenceAt, ...occurrencesBetween(recurrence, nextOccurrenceAt, last, left - 1)];
  return ahead.filter((at) => at >= window.from).slice(0, limit);
}

/** One occurrence the calendar shows ahead of its send. */
export interface ProjectedOccurrence {
  campaignId: string;
  campaignName: string;
  connectionId: string;
  plannedAt: number;
}

/** Every projected occurrence of these series in [from, to), earliest first (ties by campaign). */
export function projectSeries(series: Campaign[], window: { from: number; to: number }, limitPerSeries: number): ProjectedOccurrence[] {
  return series
    .flatMap((c) => projectOccurrences(c, window, limitPerSeries).map((plannedAt) => ({ campaignId: c.id, campaignName: c.name, connectionId: c.connectionId, plannedAt })))
    .sort((a, b) => a.plannedAt - b.plannedAt || a.campaignId.localeCompare(b.campaignId));
}
