import { sendStatuses } from '../campaigns/model.ts';
import type { StatsType } from '../ofauth/schemas.ts';
import type { TrackedSend } from '../store/types.ts';
import { LIST_ORDER, floorOf, listsFor, mustFindFrom, type TrackedFacts, type UnseenSummary } from './plan.ts';

/*
 * The sends one poll of one connection follows, held as columns rather than objects: a million
 * tracked sends are two strings each plus ~40 bytes, where the TrackedSend objects would be ~300
 * bytes each. Per list it keeps what the stop rule needs (how many candidates are unseen, the
 * lowest floor and the earliest must-find time among them) so a page costs the same however many
 * sends are tracked: `seen` only grows during a poll, so each list's cursors over the sends
 * sorted by floor and by must-find time only move forward.
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

/**
 * Builds the index from the tracked sends (any order); `seenBefore` (sorted ids) marks those a
 * poll cut short had already met.
 */
export function indexTracked(sends: readonly TrackedSend[], seenBefore: readonly string[] = []): TrackedIndex {
  const n = sends.length;
  const ids = new Array<string>(n);
  const remoteIds = new Array<string | null>(n);
  const status = new Uint8Array(n);
  const remoteList = new Int8Array(n);
  const createdAt = new Float64Array(n);
  const remoteSeenAt = new Float64Array(n);
  const remoteMissingAt = new Float64Array(n);
  const floors = new Float64Array(n);
  const mustFrom = new Float64Array(n);
  /** Index of the first list the send can be in (LIST_ORDER). */
  const firstList = new Uint8Array(n);
  const seen = new Uint8Array(n);

  let sorted = true;
  for (let i = 0; i < n; i++) {
    const s = sends[i]!;
    ids[i] = s.id;
    if (i > 0 && ids[i - 1]! >= s.id) sorted = false;
    remoteIds[i] = s.remoteId;
    status[i] = sendStatuses.indexOf(s.status);
    remoteList[i] = s.remoteList === null ? -1 : LIST_ORDER.indexOf(s.remoteList);
    createdAt[i] = s.createdAt;
    remoteSeenAt[i] = time(s.remoteSeenAt);
    remoteMissingAt[i] = time(s.remoteMissingAt);
    floors[i] = floorOf(s);
    mustFrom[i] = mustFindFrom(s);
    firstList[i] = LIST_ORDER.length - listsFor(s).length;
  }
  // Lookups binary-search the ids; the store usually hands them over sorted already.
  let byId: Uint32Array | null = null;
  if (!sorted) {
    byId = new Uint32Array(n);
    for (let i = 0; i < n; i++) byId[i] = i;
    byId.sort((a, b) => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0));
  }
  const at = (k: number) => (byId === null ? k : byId[k]!);

  function indexOf(sendId: string): number {
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const id = ids[at(mid)]!;
      if (id === sendId) return at(mid);
      if (id < sendId) lo = mid + 1;
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

  const byFloor = orderBy(floors);
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
    id: (i) => ids[i]!,
    remoteId: (i) => remoteIds[i]!,
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
        lowestFloor: lowest < 0 ? Number.POSITIVE_INFINITY : floors[lowest]!,
        earliestMustFind: earliest < 0 ? Number.POSITIVE_INFINITY : mustFrom[earliest]!,
      };
    },
    seenIds() {
      const out: string[] = [];
      for (let k = 0; k < n; k++) if (seen[at(k)]) out.push(ids[at(k)]!);
      return out;
    },
  };
}
