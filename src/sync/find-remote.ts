import type { OfauthClient } from '../ofauth/client.ts';
import type { StatsItem, StatsType } from '../ofauth/schemas.ts';
import { isDatedAtAny, matchesFingerprint, type Fingerprint } from './fingerprint.ts';

/** OFAuth's clock and ours may disagree; items created this long before the attempt still count. */
export const CLOCK_SKEW_MS = 5 * 60_000;
/**
 * A search that needs more pages than this (step-backs after a shift included) is given up as
 * inconclusive rather than walking all history.
 */
const MAX_PAGES_PER_LIST = 25;
const PAGE_LIMIT = 20;
/**
 * The order follows a message's life (scheduled, then unsent while sending or once canceled,
 * then sent): a message that changes list while we search moves to a list not read yet, never
 * back to one already finished, so it is read in one of them.
 */
const SEARCH_ORDER: StatsType[] = ['scheduled', 'unsent', 'sent'];

export interface RemoteSearch {
  connectionId: string;
  fingerprint: Fingerprint;
  /** When the create attempt started: older remote items cannot be its result. */
  startedAt: number;
  /** Remote ids already owned by a send (other than the one searching). */
  ownedElsewhere: (remoteIds: string[]) => Promise<Set<string>>;
  /**
   * Times another send of the same campaign is due at: an item dated at one is that send's
   * message. A "send now" fingerprint has no date of its own, so without this a late occurrence
   * could adopt a sibling occurrence's message while the sibling's own create is unresolved.
   */
  reservedDates?: readonly number[];
  signal?: AbortSignal;
}

export type SearchResult =
  | { outcome: 'found'; item: StatsItem; listType: StatsType }
  | { outcome: 'absent' }
  | { outcome: 'inconclusive'; reason: string };

const createdAt = (item: StatsItem): number | null => {
  const raw = item.createdAt ?? null;
  const ms = raw === null ? NaN : Date.parse(raw);
  return Number.isFinite(ms) ? ms : null;
};

/**
 * Looks for a mass message that a create of unknown outcome may have made, in the scheduled,
 * unsent and sent lists (newest first), stopping at items older than the attempt. "absent" is
 * only answered when every list was read back past the attempt's start without a gap: that is
 * what makes a second create safe. Of several matches the oldest wins; the rest are reported as
 * duplicates.
 *
 * Trap: the lists are paged by offset, and OFAuth removes items while we page (a cancel, a
 * scheduled message starting to send). Each removal above our position moves the rest up one,
 * so a plain `offset += page.length` would skip the item at the page boundary, and if that item
 * was ours the search would answer "absent" and the sync would send the message twice. So each
 * page after the first is read overlapping the previous one by an item, and must begin with an
 * item already seen in this list: items keep their relative order while they stay in a list,
 * so a page starting at a seen item continues the coverage with no gap (items inserted above
 * only repeat some). A page that begins with an unseen item means the list moved up under us:
 * step back a page and read again (offset 0 always starts from the top, so this ends).
 *
 * Chosen over reading every list twice: a search mostly ends on each list's first page (few
 * messages since the attempt), and there the overlap costs nothing, where a second pass would
 * double every search; it costs one page per 19 items beyond the first 20, plus one page per
 * shift actually seen.
 */
export async function findRemoteCopy(client: OfauthClient, search: RemoteSearch): Promise<SearchResult & { duplicates?: number }> {
  const oldestRelevant = search.startedAt - CLOCK_SKEW_MS;
  // Keyed by id: overlapping pages and step-backs read items again.
  const matches = new Map<number, { item: StatsItem; listType: StatsType }>();
  const reserved = search.reservedDates ?? [];

  for (const listType of SEARCH_ORDER) {
    const seen = new Set<number>();
    let offset = 0;
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES_PER_LIST) return { outcome: 'inconclusive', reason: `more than ${MAX_PAGES_PER_LIST} pages of ${listType} messages since the attempt` };
      const { list, hasMore } = await client.listMassMessages(search.connectionId, { type: listType, limit: PAGE_LIMIT, offset }, { signal: search.signal });
      if (offset > 0 && (list.length === 0 || !seen.has(list[0]!.id))) {
        // Items above us were removed since the last page (an empty page: so many that the list
        // now ends above us): what sat past its boundary may now be above this offset. Read
        // that stretch again rather than trust this page to follow on.
        offset = Math.max(0, offset - (PAGE_LIMIT - 1));
        continue;
      }
      for (const item of list) seen.add(item.id);
      const recent = list.filter((item) => (createdAt(item) ?? Infinity) >= oldestRelevant);
      const unread = recent.filter((item) => !matches.has(item.id));
      const owned = await search.ownedElsewhere(unread.map((item) => String(item.id)));
      for (const item of unread) {
        const isCandidate = !owned.has(String(item.id)) && matchesFingerprint(item, search.fingerprint);
        if (isCandidate && !isDatedAtAny(item, reserved)) matches.set(item.id, { item, listType });
      }
      const reachedOlder = recent.length < list.length;
      if (!hasMore || reachedOlder || list.length === 0) break;
      // A page of one item cannot overlap the next one and still move on.
      if (list.length < 2) return { outcome: 'inconclusive', reason: `OFAuth answered a ${listType} page of ${list.length} item with more to come` };
      offset += list.length - 1;
    }
  }

  if (matches.size === 0) return { outcome: 'absent' };
  const sorted = [...matches.values()].sort((a, b) => (createdAt(a.item) ?? 0) - (createdAt(b.item) ?? 0) || a.item.id - b.item.id);
  const first = sorted[0]!;
  return { outcome: 'found', item: first.item, listType: first.listType, duplicates: sorted.length - 1 };
}
