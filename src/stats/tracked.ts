import { sendStatuses } from '../campaigns/model.ts';
import type { StatsType } from '../ofauth/schemas.ts';
import type { StatsStore, TrackedSend } from '../store/types.ts';
import { Column, PackedStrings, encode } from './columns.ts';
import { LIST_ORDER, floorOf, listsFor, mustFindFrom, type TrackedFacts, type UnseenSummary } from './plan.ts';

/*
 * The sends one poll of one connection follows, held as columns rather than objects: a tracked
 * send costs ~90 bytes, nearly all outside the JS heap (its ids as packed UTF-8, its facts in
 * typed chunks), where a TrackedSend object costs ~300. The columns are filled a store page at a
 * time (loadTracked), so the objects of a million tracked sends never exist together and the
 * strings of a page die young. Per list it keeps what the stop rule needs (how many candidates
 * are unseen, the lowest floor and the earliest must-find time among them) so a page costs the
 * same however many sends are tracked: `seen` only grows during a poll, so each list's cursors
 * over the sends sorted by floor and by must-find time only move forward.
 */

/**
 * Tracked sends read per store call. Small, because a page's row objects are garbage once added
 * and the fewer there are the sooner they die (5,000 cost ~30 MB more peak RSS at a million
 * tracked); a keyset page is a seek, so a million tracked sends in 1,000 queries cost no more CPU.
 */
export const TRACKED_PAGE_SIZE = 1_000;

const NULL_TIME = Number.NaN;
const time = (ms: number | null): number => (ms === null ? NULL_TIME : ms);
const orNull = (ms: number): number | null => (Number.isNaN(ms) ? null : ms);

/** Indices 0..n-1 ordered by a key, ascending. */
function orderBy(key: (i: number) => number, n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : a - b;
  });
}

/**
 * Indices ordered by must-find time. The times live only for the sort, in this function's own
 * scope (a closure of the index would keep them): 8 bytes a send less to hold during the poll;
 * unseen() recomputes the one it reports.
 */
function orderByMustFind(facts: (i: number) => TrackedFacts, n: number): Uint32Array {
  const times = new Float64Array(n);
  for (let i = 0; i < n; i++) times[i] = mustFindFrom(facts(i));
  return orderBy((i) => times[i]!, n);
}

export interface TrackedIndex {
  readonly size: number;
  /** The send's position, or -1 when it is not tracked by this poll. */
  indexOf(sendId: string): number;
  id(i: number): string;
  remoteId(i: number): string | null;
  facts(i: number): TrackedFacts;
  isSeen(i: number): boolean;
  markSeen(i: number): void;
  /** The candidates of a list (sends that can still be in it) not seen yet in this poll. */
  unseen(type: StatsType): UnseenSummary;
  /** Ids seen so far, sorted: what a poll cut short carries to the next one. */
  seenIds(): string[];
}

export interface TrackedBuilder {
  /** Appends a page of tracked sends; each send once, pages in any order (id order is cheapest). */
  add(page: readonly TrackedSend[]): void;
  /**
   * The index over every send added; `seenBefore` (sorted ids) marks those a poll cut short had
   * already met. Call once: the builder's columns become the index's.
   */
  build(seenBefore?: readonly string[]): TrackedIndex;
}

interface Columns {
  n: number;
  ids: PackedStrings;
  remoteIds: PackedStrings;
  /** Index in sendStatuses. */
  status: Column;
  /** Index in LIST_ORDER, -1 for none. */
  remoteList: Column;
  createdAt: Column;
  /** NaN for null. */
  remoteSeenAt: Column;
  remoteMissingAt: Column;
  /** Index of the first list the send can be in (LIST_ORDER). */
  firstList: Column;
  /** Whether ids came in ascending order (the store pages by id). */
  sorted: boolean;
}

/** Collects tracked sends into columns, page by page, then indexes them (see TrackedIndex). */
export function createTrackedBuilder(): TrackedBuilder {
  const bytes = (n: number) => new Uint8Array(n);
  const times = (n: number) => new Float64Array(n);
  const c: Columns = {
    n: 0,
    ids: new PackedStrings(),
    remoteIds: new PackedStrings(),
    status: new Column(bytes),
    remoteList: new Column((n) => new Int8Array(n)),
    createdAt: new Column(times),
    remoteSeenAt: new Column(times),
    remoteMissingAt: new Column(times),
    firstList: new Column(bytes),
    sorted: true,
  };
  let built = false;

  return {
    add(page) {
      if (built) throw new Error('tracked builder already built');
      for (const s of page) {
        const i = c.n++;
        c.ids.push(s.id);
        if (i > 0 && c.ids.compare(i - 1, i) >= 0) c.sorted = false;
        c.remoteIds.push(s.remoteId);
        c.status.set(i, sendStatuses.indexOf(s.status));
        c.remoteList.set(i, s.remoteList === null ? -1 : LIST_ORDER.indexOf(s.remoteList));
        c.createdAt.set(i, s.createdAt);
        c.remoteSeenAt.set(i, time(s.remoteSeenAt));
        c.remoteMissingAt.set(i, time(s.remoteMissingAt));
        c.firstList.set(i, LIST_ORDER.length - listsFor(s).length);
      }
    },

    build(seenBefore = []) {
      if (built) throw new Error('tracked builder already built');
      built = true;
      return indexColumns(c, seenBefore);
    },
  };
}

/** The index over tracked sends already in memory (any order); tests use it. */
export function indexTracked(sends: readonly TrackedSend[], seenBefore: readonly string[] = []): TrackedIndex {
  const builder = createTrackedBuilder();
  builder.add(sends);
  return builder.build(seenBefore);
}

/**
 * Reads a connection's tracked sends page by page (keyset on id) into an index: only one page of
 * row objects exists at a time, however many sends are tracked. The pages are not one snapshot:
 * no send is read twice, and one that becomes tracked behind the cursor waits for the next poll.
 */
export async function loadTracked(
  stats: Pick<StatsStore, 'tracked'>,
  connectionId: string,
  since: number,
  options: { seenBefore?: readonly string[]; pageSize?: number } = {},
): Promise<TrackedIndex> {
  const limit = options.pageSize ?? TRACKED_PAGE_SIZE;
  const builder = createTrackedBuilder();
  let afterId: string | null = null;
  for (;;) {
    const page = await stats.tracked(connectionId, since, { afterId, limit });
    builder.add(page);
    if (page.length < limit) break;
    afterId = page[page.length - 1]!.id;
  }
  return builder.build(options.seenBefore);
}

function indexColumns(c: Columns, seenBefore: readonly string[]): TrackedIndex {
  const { n, ids, remoteIds, firstList } = c;
  const seen = new Uint8Array(n);

  // Lookups binary-search the ids; the store hands them over sorted already.
  let byId: Uint32Array | null = null;
  if (!c.sorted) {
    byId = new Uint32Array(n);
    for (let i = 0; i < n; i++) byId[i] = i;
    byId.sort((a, b) => ids.compare(a, b));
  }
  const at = (k: number) => (byId === null ? k : byId[k]!);

  function indexOf(sendId: string): number {
    const wanted = encode(sendId);
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const order = ids.compareTo(at(mid), wanted);
      if (order === 0) return at(mid);
      if (order < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  const unseenCount = LIST_ORDER.map(() => 0);
  for (let i = 0; i < n; i++) for (let t = firstList.get(i); t < LIST_ORDER.length; t++) unseenCount[t]!++;
  function markSeen(i: number): void {
    if (seen[i]) return;
    seen[i] = 1;
    for (let t = firstList.get(i); t < LIST_ORDER.length; t++) unseenCount[t]!--;
  }
  for (const id of seenBefore) {
    const i = indexOf(id);
    if (i >= 0) markSeen(i);
  }

  function facts(i: number): TrackedFacts {
    const list = c.remoteList.get(i);
    return {
      status: sendStatuses[c.status.get(i)]!,
      remoteList: list < 0 ? null : LIST_ORDER[list]!,
      remoteSeenAt: orNull(c.remoteSeenAt.get(i)),
      remoteMissingAt: orNull(c.remoteMissingAt.get(i)),
      createdAt: c.createdAt.get(i),
    };
  }

  // The floor is createdAt less a constant, so ordering by createdAt orders by floor.
  const byFloor = orderBy((i) => c.createdAt.get(i), n);
  const byMustFrom = orderByMustFind(facts, n);
  const floorCursor = LIST_ORDER.map(() => 0);
  const mustCursor = LIST_ORDER.map(() => 0);
  /** Moves a list's cursor past sends seen or not candidates of it; returns the first left. */
  function advance(order: Uint32Array, cursors: number[], t: number): number {
    let k = cursors[t]!;
    while (k < n && (seen[order[k]!] || firstList.get(order[k]!) > t)) k++;
    cursors[t] = k;
    return k < n ? order[k]! : -1;
  }

  return {
    size: n,
    indexOf,
    id: (i) => ids.get(i)!,
    remoteId: (i) => remoteIds.get(i),
    facts,
    isSeen: (i) => seen[i] === 1,
    markSeen,
    unseen(type) {
      const t = LIST_ORDER.indexOf(type);
      const lowest = advance(byFloor, floorCursor, t);
      const earliest = advance(byMustFrom, mustCursor, t);
      return {
        count: unseenCount[t]!,
        lowestFloor: lowest < 0 ? Number.POSITIVE_INFINITY : floorOf({ createdAt: c.createdAt.get(lowest) }),
        earliestMustFind: earliest < 0 ? Number.POSITIVE_INFINITY : mustFindFrom(facts(earliest)),
      };
    },
    seenIds() {
      const out: string[] = [];
      for (let k = 0; k < n; k++) if (seen[at(k)]) out.push(ids.get(at(k))!);
      return out;
    },
  };
}
