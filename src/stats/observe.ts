import type { EventData } from '../events/schemas.ts';
import { STATS_ACTOR, type EventSpec, type EventType } from '../events/types.ts';
import type { StatsItem, StatsType } from '../ofauth/schemas.ts';
import { canSendMove } from '../sends/lifecycle.ts';
import type { Send, SendChanges } from '../sends/model.ts';
import type { Observation } from '../store/types.ts';
import { unsendWindowOf } from '../sync/unsend.ts';
import { MISSING_ERROR_PREFIX, sentAtOf, statusForItem } from './plan.ts';

/** Price in integer cents, so revenue sums never accumulate float error. */
export const toCents = (price: number): number => Math.round(price * 100);

/**
 * What one stats item tells us about one send. Pure: the store writes the result (through the
 * lifecycle, which recomputes the send's sync state and its campaign's mirrored status). Status
 * moves only along the lifecycle's send transitions (a stale or out-of-order list never moves a
 * send back); counts the item omits keep their last known value.
 */
export function observe(send: Send, type: StatsType, item: StatsItem, now: number): Observation {
  const changes: SendChanges = { remoteSeenAt: now };
  const events: EventSpec[] = [];
  const event = <T extends EventType>(type: T, data: EventData<T>) => events.push({ type, actor: STATS_ACTOR, sendId: send.id, data } as EventSpec);
  let isChange = send.remoteSeenAt === null || send.remoteList !== type;

  const mapped = statusForItem(type, item);
  let status = send.status;
  if (mapped !== send.status && canSendMove(send.status, mapped)) {
    status = mapped;
    isChange = true;
    changes.status = mapped;
    const data: EventData<'status_changed'> = { from: send.status, to: mapped, list: type, remoteId: send.remoteId };
    if (item.isCanceled) data.isCanceled = true;
    if (item.hasError) data.hasError = true;
    if (send.status === 'canceled' && mapped === 'sent') data.reason = 'cancel_too_late';
    // The remote copy moved on with an older revision than the marketer's latest edit.
    if (send.revision !== send.syncedRevision) Object.assign(data, { revision: send.revision, syncedRevision: send.syncedRevision });
    event('status_changed', data);
    if (mapped === 'failed') {
      changes.reason = 'remote_error';
      changes.lastError = `OFAuth reports the mass message failed (hasError in the ${type} list).`;
    }
    if (mapped === 'canceled') changes.reason = 'remote_canceled';
    if (send.status === 'canceled' && mapped === 'sent') {
      // The cancel lost the race: nothing is left to delete, so an error hold no longer applies.
      Object.assign(changes, { reason: null, lastError: null, syncState: 'synced' });
    }
  }

  // Canceled remotely: the copy is gone, so the reconciler must not try to delete it.
  if (status === 'canceled' && item.isCanceled && send.remoteDeletedAt === null) {
    Object.assign(changes, { remoteDeletedAt: now, lastError: null, syncState: 'deleted' });
    isChange = true;
  }

  if (status === 'sent' && send.sentAt === null) {
    changes.sentAt = sentAtOf(item, now);
    isChange = true;
    if (send.status !== 'sent') event('sent', { sentAt: new Date(changes.sentAt).toISOString(), sentCount: item.sentCount });
  }

  // OFAuth's unsend window as last seen, so an unsend request outside it is refused up front.
  if (status === 'sent') {
    const until = unsendWindowOf({ canUnsend: item.canUnsend, unsendSeconds: item.unsendSeconds ?? null }, now);
    // Written only when it moved by more than a minute, so a poll that learns nothing writes nothing new.
    if (until !== null && Math.abs(until - (send.unsendableUntil ?? -Infinity)) > 60_000) changes.unsendableUntil = until;
  }

  const counts = {
    sentCount: item.sentCount ?? send.sentCount,
    viewedCount: item.viewedCount ?? send.viewedCount,
    purchasedCount: item.purchasedCount ?? send.purchasedCount,
  };
  const countsChanged = counts.sentCount !== send.sentCount || counts.viewedCount !== send.viewedCount || counts.purchasedCount !== send.purchasedCount;
  if (item.sentCount !== null || item.viewedCount !== null || item.purchasedCount !== null) {
    Object.assign(changes, counts, { statsObservedAt: now });
  }
  if (countsChanged) isChange = true;
  if ((send.viewedCount ?? 0) <= 0 && (counts.viewedCount ?? 0) > 0) event('first_view', { viewedCount: counts.viewedCount });
  if ((send.purchasedCount ?? 0) <= 0 && (counts.purchasedCount ?? 0) > 0) event('first_purchase', { purchasedCount: counts.purchasedCount });

  if (item.price !== null && toCents(item.price) !== send.remotePrice) {
    changes.remotePrice = toCents(item.price);
    isChange = true;
  }

  changes.remoteList = type;
  if (send.remoteMissingAt !== null) {
    changes.remoteMissingAt = null;
    isChange = true;
    event('remote_reappeared', { list: type, missingSince: new Date(send.remoteMissingAt).toISOString() });
    if (send.lastError?.startsWith(MISSING_ERROR_PREFIX)) Object.assign(changes, { lastError: null, syncState: 'synced' });
  }

  const snapshot = countsChanged || send.remoteList !== type ? { type, ...counts } : null;
  return { changes, events, snapshot, isChange };
}

/**
 * The write that reports a send's remote copy as gone from every list it could be in: an event,
 * and for a send whose outcome was still open a sync error the marketer must act on.
 */
export function missingChanges(send: Send, now: number): { changes: SendChanges; events: EventSpec[] } {
  const lastSeenAt = send.remoteSeenAt === null ? null : new Date(send.remoteSeenAt).toISOString();
  const events: EventSpec[] = [
    { type: 'remote_missing', actor: STATS_ACTOR, sendId: send.id, data: { remoteId: send.remoteId, status: send.status, lastList: send.remoteList, lastSeenAt } },
  ];
  if (send.status === 'sent') return { changes: { remoteMissingAt: now }, events };
  return {
    changes: {
      remoteMissingAt: now,
      syncState: 'error',
      lastError: `${MISSING_ERROR_PREFIX} (remote id ${send.remoteId}, last seen ${lastSeenAt ?? 'never'} in ${send.remoteList ?? 'no'} list): it was deleted or canceled outside Fanout. Cancel the campaign, and create it again if it should still go out.`,
    },
    events,
  };
}
