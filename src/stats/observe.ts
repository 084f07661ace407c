import type { CampaignChanges, CampaignRow } from '../campaigns/repository.ts';
import { canMoveTo } from '../campaigns/transitions.ts';
import type { StatsItem, StatsType } from '../ofauth/schemas.ts';
import { MISSING_ERROR_PREFIX, sentAtOf, statusForItem } from './plan.ts';

export interface ObservedEvent {
  type: 'status_changed' | 'sent' | 'first_view' | 'first_purchase' | 'remote_reappeared';
  data: Record<string, unknown>;
}

export interface SnapshotValues {
  type: StatsType;
  sentCount: number | null;
  viewedCount: number | null;
  purchasedCount: number | null;
}

export interface Observation {
  /** To be written through withSyncRecomputed. */
  changes: CampaignChanges;
  events: ObservedEvent[];
  /** Non-null only when the list or a count changed: history stays small. */
  snapshot: SnapshotValues | null;
  /** Anything beyond "seen again, same as before" (drives the unchanged-page stop). */
  isChange: boolean;
}

/** Price in integer cents, so revenue sums never accumulate float error. */
export const toCents = (price: number): number => Math.round(price * 100);

/**
 * What one stats item tells us about one campaign. Pure: the poller writes the result. Status
 * moves only along systemTransitions (a stale or out-of-order list never moves a campaign back);
 * counts the item omits keep their last known value.
 */
export function observe(row: CampaignRow, type: StatsType, item: StatsItem, now: number): Observation {
  const changes: CampaignChanges = { remoteSeenAt: now };
  const events: ObservedEvent[] = [];
  let isChange = row.remoteSeenAt === null || row.remoteList !== type;

  const mapped = statusForItem(type, item);
  let status = row.status;
  if (mapped !== row.status && canMoveTo(row.status, mapped)) {
    status = mapped;
    isChange = true;
    changes.status = mapped;
    const data: Record<string, unknown> = { from: row.status, to: mapped, list: type, remoteId: row.remoteId };
    if (item.isCanceled) data.isCanceled = true;
    if (item.hasError) data.hasError = true;
    if (row.status === 'canceled' && mapped === 'sent') data.reason = 'cancel_too_late';
    // The remote copy moved on with an older revision than the marketer's latest edit.
    if (row.revision !== row.syncedRevision) Object.assign(data, { revision: row.revision, syncedRevision: row.syncedRevision });
    events.push({ type: 'status_changed', data });
    if (mapped === 'failed') {
      changes.failureReason = 'remote_error';
      changes.lastError = `OFAuth reports the mass message failed (hasError in the ${type} list).`;
    }
    if (row.status === 'canceled' && mapped === 'sent') {
      // The cancel lost the race: nothing is left to delete, so an error hold no longer applies.
      Object.assign(changes, { lastError: null, syncState: 'synced' });
    }
  }

  // Canceled remotely: the copy is gone, so the reconciler must not try to delete it.
  if (status === 'canceled' && item.isCanceled && row.remoteDeletedAt === null) {
    Object.assign(changes, { remoteDeletedAt: now, lastError: null, syncState: 'deleted' });
    isChange = true;
  }

  if (status === 'sent' && row.sentAt === null) {
    changes.sentAt = sentAtOf(item, now);
    isChange = true;
    if (row.status !== 'sent') events.push({ type: 'sent', data: { sentAt: new Date(changes.sentAt).toISOString(), sentCount: item.sentCount } });
  }

  const counts = {
    sentCount: item.sentCount ?? row.sentCount,
    viewedCount: item.viewedCount ?? row.viewedCount,
    purchasedCount: item.purchasedCount ?? row.purchasedCount,
  };
  const countsChanged =
    counts.sentCount !== row.sentCount || counts.viewedCount !== row.viewedCount || counts.purchasedCount !== row.purchasedCount;
  if (item.sentCount !== null || item.viewedCount !== null || item.purchasedCount !== null) {
    Object.assign(changes, counts, { statsObservedAt: now });
  }
  if (countsChanged) isChange = true;
  if ((row.viewedCount ?? 0) <= 0 && (counts.viewedCount ?? 0) > 0) events.push({ type: 'first_view', data: { viewedCount: counts.viewedCount } });
  if ((row.purchasedCount ?? 0) <= 0 && (counts.purchasedCount ?? 0) > 0) {
    events.push({ type: 'first_purchase', data: { purchasedCount: counts.purchasedCount } });
  }

  if (item.price !== null && toCents(item.price) !== row.remotePrice) {
    changes.remotePrice = toCents(item.price);
    isChange = true;
  }

  changes.remoteList = type;
  if (row.remoteMissingAt !== null) {
    changes.remoteMissingAt = null;
    isChange = true;
    events.push({ type: 'remote_reappeared', data: { list: type, missingSince: new Date(row.remoteMissingAt).toISOString() } });
    if (row.lastError?.startsWith(MISSING_ERROR_PREFIX)) Object.assign(changes, { lastError: null, syncState: 'synced' });
  }

  const snapshot = countsChanged || row.remoteList !== type ? { type, ...counts } : null;
  return { changes, events, snapshot, isChange };
}

/** The write that reports a campaign's remote copy as gone from every list it could be in. */
export function missingChanges(row: CampaignRow, now: number): { changes: CampaignChanges; data: Record<string, unknown> } {
  const data = { remoteId: row.remoteId, status: row.status, lastList: row.remoteList, lastSeenAt: row.remoteSeenAt === null ? null : new Date(row.remoteSeenAt).toISOString() };
  if (row.status === 'sent') return { changes: { remoteMissingAt: now }, data };
  return {
    changes: {
      remoteMissingAt: now,
      syncState: 'error',
      lastError: `${MISSING_ERROR_PREFIX} (remote id ${row.remoteId}, last seen ${data.lastSeenAt ?? 'never'} in ${row.remoteList ?? 'no'} list): it was deleted or canceled outside Fanout. Cancel the campaign, and create it again if it should still go out.`,
    },
    data,
  };
}
