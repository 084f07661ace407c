import { chatFiltersOf, type Audience, type ChatFilter } from '../campaigns/model.ts';
import type { CampaignStore, PlannedSend } from '../store/types.ts';
import type { OverlapView } from './schemas.ts';

/** Another campaign's send close enough in time, and sharing enough audience, to tire the same fans. */
export interface Overlap {
  campaignId: string;
  campaignName: string;
  sendId: string;
  status: PlannedSend['status'];
  plannedAt: number;
  sharedUserLists: number[];
  sharedChatFilters: ChatFilter[];
  /** Fan ids both would reach by id (the other send's resolved chat fans included, once resolved). */
  sharedFans: number;
}

export interface OverlapSubject {
  /** The campaign itself (its own sends never overlap it); null for a preview. */
  campaignId: string | null;
  connectionId: string;
  audience: Audience;
  plannedAt: number;
}

/**
 * Sends examined at most (the earliest of the window): a connection's window rarely holds more,
 * and a create pays for each one it reads.
 */
const MAX_SENDS_EXAMINED = 100;
/** Overlaps reported at most, nearest in time first: a warning listing hundreds is read by nobody. */
export const MAX_OVERLAPS = 20;
const GONE: ReadonlySet<PlannedSend['status']> = new Set(['canceled', 'failed']);

const intersect = <T>(a: readonly T[], b: readonly T[]): T[] => {
  const other = new Set(b);
  return [...new Set(a)].filter((x) => other.has(x));
};

/**
 * Other campaigns' sends on the same connection planned within `windowMs` either side of the
 * subject's time that share an included list, a chat filter or fan ids with it. Canceled and
 * failed sends are left out; sent ones count (fatigue is about what fans received). Exclusions
 * are not subtracted: this is a warning, and an upper bound is the safe side. At most
 * MAX_OVERLAPS, nearest in time first.
 */
export async function findOverlaps(store: CampaignStore, subject: OverlapSubject, windowMs: number): Promise<Overlap[]> {
  const mine = subject.audience;
  if (mine.userIds.length + mine.userLists.length + chatFiltersOf(mine).length === 0) return [];
  const { sends } = await store.plannedSends({ from: subject.plannedAt - windowMs, to: subject.plannedAt + windowMs + 1, connectionIds: [subject.connectionId], limit: MAX_SENDS_EXAMINED });
  const candidates = sends.filter((s) => s.campaignId !== subject.campaignId && !GONE.has(s.status));
  // One read for every candidate's audience: a create's warnings must not cost a query per send.
  const audiences = await store.sendAudiences(candidates.map((s) => s.sendId));
  const overlaps: Overlap[] = [];
  for (const planned of candidates) {
    const other = audiences.get(planned.sendId);
    if (!other) continue;
    const sharedUserLists = intersect(mine.userLists, other.audience.userLists);
    const sharedChatFilters = intersect(chatFiltersOf(mine), chatFiltersOf(other.audience));
    const sharedFans = intersect(mine.userIds, [...other.audience.userIds, ...(other.resolvedFanIds ?? [])]).length;
    if (sharedUserLists.length === 0 && sharedChatFilters.length === 0 && sharedFans === 0) continue;
    overlaps.push({ campaignId: planned.campaignId, campaignName: planned.campaignName, sendId: planned.sendId, status: planned.status, plannedAt: planned.plannedAt, sharedUserLists, sharedChatFilters, sharedFans });
  }
  const distance = (o: Overlap) => Math.abs(o.plannedAt - subject.plannedAt);
  return overlaps
    .sort((a, b) => distance(a) - distance(b) || a.plannedAt - b.plannedAt || (a.sendId < b.sendId ? -1 : 1))
    .slice(0, MAX_OVERLAPS);
}

/** An overlap as the API shows it (preview `overlaps`, create and PATCH `warnings`). */
export function toOverlapView(o: Overlap): OverlapView {
  const shared = [
    o.sharedUserLists.length > 0 ? `list${o.sharedUserLists.length > 1 ? 's' : ''} ${o.sharedUserLists.join(', ')}` : null,
    o.sharedChatFilters.length > 0 ? `chat filter${o.sharedChatFilters.length > 1 ? 's' : ''} ${o.sharedChatFilters.join(', ')}` : null,
    o.sharedFans > 0 ? `${o.sharedFans} fan id${o.sharedFans > 1 ? 's' : ''}` : null,
  ].filter((part) => part !== null);
  const plannedAt = new Date(o.plannedAt).toISOString();
  return {
    campaignId: o.campaignId,
    campaignName: o.campaignName,
    sendId: o.sendId,
    status: o.status,
    plannedAt,
    sharedUserLists: o.sharedUserLists,
    sharedChatFilters: o.sharedChatFilters,
    sharedFans: o.sharedFans,
    message: `Campaign "${o.campaignName}" sends at ${plannedAt} on the same connection and shares ${shared.join(' and ')}.`,
  };
}
