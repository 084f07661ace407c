import type { MassMessageBody } from '../schemas.ts';
import type { SimConnection, SimList, StoredMessage } from './store.ts';

/*
 * Who a message reached and who bought it, as sets of fan ids, so a follow-up to non-buyers can
 * be checked fan by fan. Audience counts stay arithmetic (computeAudience in store.ts); this is
 * the membership behind them. A synthetic list (a size, no members) has the members
 * listId * 1,000,000 + 1 … + size, so lists never share a synthetic fan.
 */

/** The lists a message named, as they were when it was created or last updated. */
export interface Reach {
  userIds: number[];
  include: Array<{ id: number; members: number[] }>;
  exclude: Array<{ id: number; members: number[] }>;
}

const SYNTHETIC_STRIDE = 1_000_000;

function membersOf(list: SimList): number[] {
  if (list.members !== null) return [...list.members];
  return Array.from({ length: list.size }, (_, k) => list.id * SYNTHETIC_STRIDE + k + 1);
}

function listsOf(connection: SimConnection, ids: (number | string)[] | undefined): Reach['include'] {
  return [...new Set((ids ?? []).map(String))].flatMap((id) => {
    const list = connection.lists.get(id);
    return list === undefined ? [] : [{ id: list.id, members: membersOf(list) }];
  });
}

/** The reach of a body against the connection's lists now. */
export function reachOf(connection: SimConnection, body: MassMessageBody): Reach {
  return {
    userIds: [...new Set((body.userIds ?? []).map(Number).filter(Number.isFinite))],
    include: listsOf(connection, body.userLists),
    exclude: listsOf(connection, body.excludeUserLists),
  };
}

/** Fan ids the message goes to: its fans and its lists' members, minus its excluded lists' members. */
export function recipientsOf(reach: Reach | undefined): number[] {
  if (reach === undefined) return [];
  const excluded = new Set(reach.exclude.flatMap((l) => l.members));
  const all = new Set([...reach.userIds, ...reach.include.flatMap((l) => l.members)]);
  return [...all].filter((id) => !excluded.has(id)).sort((a, b) => a - b);
}

/** A deterministic rank per (seed, message, fan): the order in which its recipients buy. */
function rank(seed: number, messageId: number, fanId: number): number {
  let x = (Math.imul(fanId, 0x9e3779b1) ^ Math.imul(messageId, 0x85ebca6b) ^ Math.imul(seed, 0xc2b2ae35)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * The message's buyers, in the order they bought: the first `purchasedCount` of its recipients
 * in a seeded order, so buyers only ever accumulate as the count grows, and the same seed gives
 * the same buyers.
 */
export function buyersOf(message: StoredMessage, purchasedCount: number, seed: number): number[] {
  if (purchasedCount <= 0) return [];
  const recipients = recipientsOf(message.reach);
  const ordered = recipients.map((id) => ({ id, r: rank(seed, message.id, id) })).sort((a, b) => a.r - b.r || a.id - b.id);
  return ordered.slice(0, purchasedCount).map((b) => b.id);
}
