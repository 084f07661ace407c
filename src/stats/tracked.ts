import { sendStatuses } from '../campaigns/model.ts';
import type { StatsType } from '../ofauth/schemas.ts';
import type { StatsStore, TrackedSend } from '../store/types.ts';
import { PackedStrings, encode } from './packed-strings.ts';
import { LIST_ORDER, floorOf, listsFor, mustFindFrom, type TrackedFacts, type UnseenSummary } from './plan.ts';

/*
 * The sends one poll of one connection follows, held as columns rather than objects: a tracked
 * send costs ~90 bytes, nearly all outside the JS heap (its ids as packed UTF-8, its facts in
 * typed arrays), where a TrackedSend object costs ~300. The columns are filled a store page at a
 * time (createTrackedBuilder), so the objects of a million tracked sends never exist together,
 * and the strings of a page die young. Per list it keeps what the stop rule needs (how many
 * candidates are unseen, the lowest floor and the earliest must-find time among them) so a page
 * costs the same however many sends are tracked: `seen` only grows during a poll, so each list's
 * cursors over the sends sorted by floor and by must-find time only move forward.
 */

const NULL_TIME = Number.NaN;
const time = (ms: number | null): number => (ms === null ? NULL_TIME : ms);
const orNull = (ms: number): number | null => (Number.isNaN(ms) ? null : ms);

/** Indices 0..n-1 ordered by a column, ascending. */
function orderBy(column: Float64Array): Uint32Array {
  const order = new Uint32Array(column.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => (column[a]! < column[b]! ? -1 : column[a]! > column[b]! ? 1 : a - b));
}

type Typed = Uint8Array | Int8Array | Float64Array;

/** Doubles a typed column's capacity (copying), or cuts it to `length` when that is smaller. */
function resized<T extends Typed>(column: T, length: number): T {
  const next = new (column.constructor as new (length: number) => T)(length);
  next.set(column.length <= length ? column : (column.subarray(0, length) as T));
  return next;
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

/** Collects tracked sends into columns, page by page, then indexes them (see TrackedIndex). */
export function createTrackedBuilder(): TrackedBuilder {
  let n = 0;
  const ids = new PackedStrings();
  const remoteIds = new PackedStrings();
  let status = new Uint8Array(0);
  let remoteList = new Int8Array(0);
  let createdAt = new Float64Array(0);
  let remoteSeenAt = new Float64Array(0);
  let remoteMissingAt = new Float64Array(0);
  let mustFrom = new Float64Array(0);
  /** Index of the first list the send can be in (LIST_ORDER). */
  let firstList = new Uint8Array(0);
  let sorted = true;
  let built = false;

  function reserve(length: number): void {
    if (length <= status.length) return;
    const capacity = Math.max(length, status.length * 2);
    status = resized(status, capacity);
    remoteList = resized(remoteList, capacity);
    createdAt = resized(createdAt, capacity);
    remoteSeenAt = resized(remoteSeenAt, capacity);
    remoteMissingAt = resized(remoteMissingAt, capacity);
    mustFrom = resized(mustFrom, capacity);
    firstList = resized(firstList, capacity);
  }

  return {
    add(page) {
      if (built) throw new Error('tracked builder already built');
      reserve(n + page.length);
      for (const s of page) {
        ids.push(s.id);
        if (n > 0 && ids.compare(n - 1, n) >= 0) sorted = false;
        remoteIds.push(s.remoteId);
        status[n] = sendStatuses.indexOf(s.status);
        remoteList[n] = s.remoteList === null ? -1 : LIST_ORDER.indexOf(s.remoteList);
        createdAt[n] = s.createdAt;
        remoteSeenAt[n] = time(s.remoteSeenAt);
        remoteMissingAt[n] = time(s.remoteMissingAt);
        mustFrom[n] = mustFindFrom(s);
        firstList[n] = LIST_ORDER.length - listsFor(s).length;
        n++;
      }
    },

    build(seenBefore = []) {
      if (built) throw new Error('tracked builder already built');
      built = true;
      ids.trim();
      remoteIds.trim();
      // Doubling leaves up to half of each column unused: give it back before the poll starts.
      if (status.length > n) {
        status = resized(status, n);
        remoteList = resized(remoteList, n);
        createdAt = resized(createdAt, n);
        remoteSeenAt = resized(remoteSeenAt, n);
        remoteMissingAt = resized(remoteMissingAt, n);
        mustFrom = resized(mustFrom, n);
        firstList = resized(firstList, n);
      }
      return indexColumns({ n, ids, remoteIds, status, remoteList, createdAt, remoteSeenAt, remoteMissingAt, mustFrom, firstList, sorted }, seenBefore);
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
 * Tracked sends read per store call: small enough that a page of row objects is a few MB and one
 * query holds the event loop briefly, large enough that a million tracked sends are 200 queries.
 */
export const TRACKED_PAGE_SIZE = 5_000;

/**
 * Reads a connection's tracked sends page by page (keyset on id) into an index: only one page of
 * row objects exists at a time, however many sends are tracked.
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

interface Columns {
  n: number;
  ids: PackedStrings;
  remoteIds: PackedStrings;
  status: Uint8Array;
  remoteList: Int8Array;
  createdAt: Float64Array;
  remoteSeenAt: Float64Array;
  remoteMissingAt: Float64Array;
  mustFrom: Float64Array;
  firstList: Uint8Array;
  /** Whether ids came in ascending order (the store pages by id). */
  sorted: boolean;
}

function indexColumns(c: Columns, seenBefore: readonly string[]): TrackedIndex {
  const { n, ids, remoteIds, status, remoteList, createdAt, remoteSeenAt, remoteMissingAt, mustFrom, firstList } = c;
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
  for (let i = 0; i < n; i++) for (let t = firstList[i]!; t < LIST_ORDER.length; t++) unseenCount[t]!++;
  function markSeen(i: number): void {
    if (seen[i]) return;
    seen[i] = 1;
    for (let t = firstList[i]!; t < LIST_ORDER.length; t++) unseenCount[t]!--;
  }
  for (const id of seenBefore) {
    const i = indexOf(id);
    if (i >= 0) markSeen(i);
  }

  // The floor is createdAt less a constant, so ordering by createdAt orders by floor.
  const floor = (i: number) => floorOf({ createdAt: createdAt[i]! });
  const byFloor = orderBy(createdAt);
  const byMustFrom = orderBy(mustFrom);
  const floorCursor = LIST_ORDER.map(() => 0);
  const mustCursor = LIST_ORDER.map(() => 0);
  /** Moves a list's cursor past sends seen or not candidates of it; returns the first left. */
  function advance(order: Uint32Array, cursors: number[], t: number): number {
    let k = cursors[t]!;
    while (k < n && (seen[order[k]!] || firstList[order[k]!]! > t)) k++;
    cursors[t] = k;
    return k < n ? order[k]! : -1;
  }

  return {
    size: n,
    indexOf,
    id: (i) => ids.get(i)!,
    remoteId: (i) => remoteIds.get(i),
    facts: (i) => ({
      status: sendStatuses[status[i]!]!,
      remoteList: remoteList[i]! < 0 ? null : LIST_ORDER[remoteList[i]!]!,
      remoteSeenAt: orNull(remoteSeenAt[i]!),
      remoteMissingAt: orNull(remoteMissingAt[i]!),
      createdAt: createdAt[i]!,
    }),
    isSeen: (i) => seen[i] === 1,
    markSeen,
    unseen(type) {
      const t = LIST_ORDER.indexOf(type);
      const lowest = advance(byFloor, floorCursor, t);
      const earliest = advance(byMustFrom, mustCursor, t);
      return {
        count: unseenCount[t]!,
        lowestFloor: lowest < 0 ? Number.POSITIVE_INFINITY : floor(lowest),
        earliestMustFind: earliest < 0 ? Number.POSITIVE_INFINITY : mustFrom[earliest]!,
      };
    },
    seenIds() {
      const out: string[] = [];
      for (let k = 0; k < n; k++) if (seen[at(k)]) out.push(ids.get(at(k))!);
      return out;
    },
  };
}
