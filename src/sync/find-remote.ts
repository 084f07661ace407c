import type { OfauthClient } from '../ofauth/client.ts';
import type { StatsItem, StatsType } from '../ofauth/schemas.ts';
import { isDatedAtAny, matchesFingerprint, type Fingerprint } from './fingerprint.ts';

/** OFAuth's clock and ours may disagree; items created this long before the attempt still count. */
export const CLOCK_SKEW_MS = 5 * 60_000;
/** A search that needs more pages than this is given up as inconclusive rather than walking all history. */
const MAX_PAGES_PER_LIST = 25;
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
 * only answered when every list was read back past the attempt's start: that is what makes a
 * second create safe. Of several matches the oldest wins; the rest are reported as duplicates.
 */
export async function findRemoteCopy(client: OfauthClient, search: RemoteSearch): Promise<SearchResult & { duplicates?: number }> {
  const oldestRelevant = search.startedAt - CLOCK_SKEW_MS;
  const matches: Array<{ item: StatsItem; listType: StatsType }> = [];
  const reserved = search.reservedDates ?? [];

  for (const listType of SEARCH_ORDER) {
    let offset = 0;
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES_PER_LIST) return { outcome: 'inconclusive', reason: `more than ${MAX_PAGES_PER_LIST} pages of ${listType} messages since the attempt` };
      const { list, hasMore } = await client.listMassMessages(search.connectionId, { type: listType, limit: 20, offset }, { signal: search.signal });
      const recent = list.filter((item) => (createdAt(item) ?? Infinity) >= oldestRelevant);
      const owned = await search.ownedElsewhere(recent.map((item) => String(item.id)));
      for (const item of recent) {
        const isCandidate = !owned.has(String(item.id)) && matchesFingerprint(item, search.fingerprint);
        if (isCandidate && !isDatedAtAny(item, reserved)) matches.push({ item, listType });
      }
      const reachedOlder = recent.length < list.length;
      if (!hasMore || reachedOlder || list.length === 0) break;
      offset += list.length;
    }
  }

  if (matches.length === 0) return { outcome: 'absent' };
  matches.sort((a, b) => (createdAt(a.item) ?? 0) - (createdAt(b.item) ?? 0) || a.item.id - b.item.id);
  const first = matches[0]!;
  return { outcome: 'found', item: first.item, listType: first.listType, duplicates: matches.length - 1 };
}
