import type { SendStatus } from '../campaigns/model.ts';
import type { StatsItem, StatsType } from '../ofauth/schemas.ts';
import type { Send } from '../sends/model.ts';
import type { TrackedSend } from '../store/types.ts';
import { CLOCK_SKEW_MS } from '../sync/find-remote.ts';

/*
 * Pure decisions of the stats poller: which status a stats item means, which lists a send can
 * be in, and when a list has been read far enough. The poller performs them.
 *
 * Ordering assumption (OFAuth is silent): each list is newest first by creation time, as the
 * simulator serves it; if OFAuth orders by send date instead, the stop rules below still hold
 * because they compare against a lower bound of both (see itemSortKey).
 */

/**
 * Lists in the direction a message moves (scheduled → unsent → sent), so a message that moves
 * while a poll is running is met again in a later list instead of being skipped.
 */
export const LIST_ORDER: readonly StatsType[] = ['scheduled', 'unsent', 'sent'];

/** The documented maximum page size of the stats list. */
export const PAGE_SIZE = 20;

/** A sent send is read again at least this often, even when the pages above it stopped changing. */
export const REFRESH_AFTER_MS = 15 * 60_000;

/**
 * A remote message this young is never reported missing: OFAuth may list a new message a little
 * after creating it (its lists' consistency is undocumented).
 */
export const MISSING_GRACE_MS = 60_000;

/** Statuses whose outcome is still open: the poller must find them to follow them. */
const OPEN_STATUSES: readonly SendStatus[] = ['queued', 'sending', 'canceled'];

/** Prefix of a send's lastError when its remote copy vanished; cleared when it reappears. */
export const MISSING_ERROR_PREFIX = 'OFAuth no longer lists this mass message';

/**
 * The status a stats item means. Flags win over the list: an item with hasError failed, a
 * canceled one was canceled (OFAuth shows both in the unsent list; the flags are honoured in the
 * scheduled list too, defensively). A sent item stays sent whatever its flags: it was delivered,
 * and an unsend afterwards does not take that back.
 */
export function statusForItem(type: StatsType, item: Pick<StatsItem, 'isCanceled' | 'hasError'>): SendStatus {
  if (type === 'sent') return 'sent';
  if (item.hasError) return 'failed';
  if (item.isCanceled) return 'canceled';
  return type === 'scheduled' ? 'queued' : 'sending';
}

/** The facts of a tracked send that the list planning needs. */
export type TrackedFacts = Pick<TrackedSend, 'status' | 'remoteList' | 'remoteSeenAt' | 'remoteMissingAt' | 'createdAt'>;

/**
 * Lists this send can be in now. Messages only move forward, so a send last seen in `unsent` is
 * not looked for in `scheduled`; a sending one is not in `scheduled`; a sent one only in `sent`.
 */
export function listsFor(c: TrackedFacts): StatsType[] {
  const floorIndex = Math.max(
    c.remoteList === null ? 0 : LIST_ORDER.indexOf(c.remoteList),
    c.status === 'sent' ? 2 : c.status === 'sending' ? 1 : 0,
  );
  return LIST_ORDER.slice(floorIndex);
}

/**
 * From when a poll must keep paging until it finds this send (-Infinity: always; Infinity:
 * never). Open sends always (their status depends on it, and a missing one must be noticed); a
 * sent one once its counts have not been read for REFRESH_AFTER_MS. A send already reported
 * missing is not worth a deep walk every minute; it is still matched when a page shows it. A
 * time rather than a yes/no so the poller can keep the earliest over many sends.
 */
export function mustFindFrom(c: TrackedFacts): number {
  if (c.remoteMissingAt !== null) return Number.POSITIVE_INFINITY;
  if (OPEN_STATUSES.includes(c.status) || c.remoteSeenAt === null) return Number.NEGATIVE_INFINITY;
  return c.remoteSeenAt + REFRESH_AFTER_MS;
}

/** Whether a poll must keep paging until it finds this send (see mustFindFrom). */
export const mustFind = (c: TrackedFacts, now: number): boolean => now >= mustFindFrom(c);

/**
 * A lower bound of where the send's message sits in a list: it cannot have been created before
 * the send row was (less OFAuth's possible clock skew).
 */
export function floorOf(c: Pick<Send, 'createdAt'>): number {
  return c.createdAt - CLOCK_SKEW_MS;
}

const parseTime = (value: string | null): number | null => {
  if (value === null) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
};

/**
 * An upper bound of an item's sort key, whether the list is ordered by createdAt or by date
 * (send time): once a page shows an item below a send's floor, every later item is older
 * than that send under either order. Unknown times count as "not older" (Infinity).
 */
export function itemSortKey(item: Pick<StatsItem, 'createdAt' | 'date'>): number {
  const times = [parseTime(item.createdAt), parseTime(item.date)].filter((t): t is number => t !== null);
  return times.length === 0 ? Number.POSITIVE_INFINITY : Math.max(...times);
}

/** When a sent item was sent: OFAuth's `date` (send time) when it is plausible, else now. */
export function sentAtOf(item: Pick<StatsItem, 'date'>, now: number): number {
  const date = parseTime(item.date);
  return date !== null && date <= now ? date : now;
}

/** What the stop rule needs of a list's unseen candidates, however many there are. */
export interface UnseenSummary {
  count: number;
  /** Smallest floorOf among them (Infinity when none). */
  lowestFloor: number;
  /** Smallest mustFindFrom among them (Infinity when none). */
  earliestMustFind: number;
}

export function summarizeUnseen(unseen: TrackedFacts[]): UnseenSummary {
  let lowestFloor = Number.POSITIVE_INFINITY;
  let earliestMustFind = Number.POSITIVE_INFINITY;
  for (const c of unseen) {
    lowestFloor = Math.min(lowestFloor, floorOf(c));
    earliestMustFind = Math.min(earliestMustFind, mustFindFrom(c));
  }
  return { count: unseen.length, lowestFloor, earliestMustFind };
}

export interface ListProgress {
  /** False when the page said there is nothing after it. */
  hasMore: boolean;
  /** Smallest sort key met so far in this list during this poll. */
  lowestKey: number;
  /** Candidates of this list not yet seen anywhere in this poll. */
  unseen: TrackedFacts[] | UnseenSummary;
  /** Whether the last page changed anything the poller tracks. */
  pageChanged: boolean;
  now: number;
}

export type StopReason = 'exhausted' | 'all_found' | 'past_window' | 'unchanged' | null;

/**
 * Whether to stop paging a list after a page, and why. The "window" is the floors of the sends
 * still expected there, which sit inside STATS_TRACK_DAYS by construction of the tracked set; a
 * page that changed nothing tracked ends the list unless a send that must be found is still
 * missing. `unseen` may be the candidates or their summary (the poller keeps the summary, so a
 * page costs the same with a million tracked sends).
 */
export function stopAfterPage(p: ListProgress): StopReason {
  const unseen = Array.isArray(p.unseen) ? summarizeUnseen(p.unseen) : p.unseen;
  if (!p.hasMore) return 'exhausted';
  if (unseen.count === 0) return 'all_found';
  if (p.lowestKey < unseen.lowestFloor) return 'past_window';
  if (!p.pageChanged && p.now < unseen.earliestMustFind) return 'unchanged';
  return null;
}

/** How far a poll read a list from its top, for deciding whether an absence is real. */
export interface Coverage {
  /** Read from offset 0 in this poll (not resumed from a previous poll's budget cut). */
  fromTop: boolean;
  /** Every item above this sort key was read; -Infinity once the list was read to its end. */
  below: number;
}

/**
 * A send is missing only when every list it can be in was read from the top down past its floor
 * without meeting it, and its remote copy is past the grace period: never merely because paging
 * stopped early. Without lastSyncedAt (the slim tracked facts) the grace runs from createdAt, a
 * looser test: the poller asks again on the full row before writing.
 */
export function isMissing(c: TrackedFacts & { lastSyncedAt?: number | null }, coverage: Partial<Record<StatsType, Coverage>>, now: number): boolean {
  if (c.remoteMissingAt !== null || c.status === 'canceled') return false;
  if (now - (c.lastSyncedAt ?? c.createdAt) < MISSING_GRACE_MS) return false;
  const floor = floorOf(c);
  return listsFor(c).every((type) => {
    const read = coverage[type];
    return read !== undefined && read.fromTop && read.below < floor;
  });
}
