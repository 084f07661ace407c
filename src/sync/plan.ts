import type { SendStatus, SyncState } from '../campaigns/model.ts';
import type { Send, SendChanges } from '../sends/model.ts';

/** The columns that decide what a send needs from the reconciler. */
export interface SyncFacts {
  /** An occurrence of a series is held to the tighter late limit (occurrenceLateMaxMs). */
  kind?: Send['kind'];
  status: SendStatus;
  dueAt: number | null;
  revision: number;
  syncedRevision: number;
  remoteId: string | null;
  remoteDeletedAt: number | null;
  createStartedAt: number | null;
  syncState: SyncState;
  nextAttemptAt: number | null;
  // The unsend (manual or message.unsendAfter); optional so facts without them plan as before.
  sentAt?: number | null;
  chatMessageId?: string | null;
  unsendAfterMs?: number | null;
  unsendRequestedAt?: number | null;
  unsendStartedAt?: number | null;
  unsentAt?: number | null;
}

export type SyncAction =
  | { kind: 'none' }
  | { kind: 'wait'; until: number }
  | { kind: 'resolve' }
  | { kind: 'create'; sendNow: boolean }
  | { kind: 'update' }
  | { kind: 'delete' }
  /** A canceled occurrence whose time came before its delete could go: it is going out, leave it. */
  | { kind: 'keep_going_out' }
  | { kind: 'fail_late' }
  /** Take a sent message back (a marketer's unsend, or message.unsendAfter come due). */
  | { kind: 'unsend' };

export interface PlanSettings {
  lateSendMaxMs: number;
  lateSendPolicy: 'fail' | 'send';
  /**
   * How late a series occurrence may still be sent (see occurrenceLateMaxMs in fingerprint.ts);
   * later it fails as missed whatever the policy: a series never sends late in a burst.
   * Defaults to lateSendMaxMs.
   */
  occurrenceLateMaxMs?: number;
  /** How long after a create started before its absence remotely can be trusted. */
  settleMs: number;
}

/**
 * Whether a campaign with these scheduled times is sent now rather than queued: OFAuth's
 * behaviour for a scheduledDate in the past is undocumented, so anything due within this margin
 * is sent without one.
 */
export const SEND_NOW_MARGIN_MS = 10_000;

const hasLiveRemote = (f: SyncFacts) => f.remoteId !== null && f.remoteDeletedAt === null;

/**
 * When a sent message is due to be unsent, or null: an unsend whose outcome is open first (its
 * intent's time), then a marketer's request, then message.unsendAfter after it went out.
 */
export function unsendDueAt(f: SyncFacts): number | null {
  if (f.status !== 'sent' || (f.unsentAt ?? null) !== null) return null;
  const hasCopy = f.kind === 'test' ? (f.chatMessageId ?? null) !== null : hasLiveRemote(f);
  if (!hasCopy) return null;
  if ((f.unsendStartedAt ?? null) !== null) return f.unsendStartedAt!;
  if ((f.unsendRequestedAt ?? null) !== null) return f.unsendRequestedAt!;
  if ((f.unsendAfterMs ?? null) !== null && (f.sentAt ?? null) !== null) return f.sentAt! + f.unsendAfterMs!;
  return null;
}

/** True when the remote queue does not yet reflect this send's desired state. */
export function needsSync(f: SyncFacts): boolean {
  // A create that may have happened is settled before anything else, whatever the status now.
  if (f.createStartedAt !== null) return true;
  // OFAuth refused the last change permanently; only a new change (which resets it) retries.
  if (f.syncState === 'error') return false;
  if (f.status === 'sent') return unsendDueAt(f) !== null;
  if (f.status === 'pending') return f.remoteId === null;
  if (f.status === 'canceled') return hasLiveRemote(f);
  if (f.status === 'queued') return hasLiveRemote(f) && f.revision > f.syncedRevision;
  return false;
}

/** The value of sync_due_at for these facts: null when nothing is needed. */
export function syncDueAt(f: SyncFacts, now: number): number | null {
  if (!needsSync(f)) return null;
  const unsendAt = unsendDueAt(f);
  // An auto-unsend hours away is due then, not now; a back-off after a failed unsend still holds.
  if (unsendAt !== null) return Math.max(unsendAt, f.nextAttemptAt ?? unsendAt);
  return f.nextAttemptAt ?? now;
}

/** Decides the next step for a claimed send. Pure: the reconciler performs it. */
export function planSync(f: SyncFacts, now: number, settings: PlanSettings): SyncAction {
  if (f.createStartedAt !== null) {
    const settledAt = f.createStartedAt + settings.settleMs;
    return now < settledAt ? { kind: 'wait', until: settledAt } : { kind: 'resolve' };
  }
  if (!needsSync(f)) return { kind: 'none' };
  if (f.status === 'sent') {
    const unsendAt = unsendDueAt(f)!;
    return now < unsendAt ? { kind: 'wait', until: unsendAt } : { kind: 'unsend' };
  }
  if (f.status === 'pending') {
    const sendNow = f.dueAt === null || f.dueAt <= now + SEND_NOW_MARGIN_MS;
    const isOccurrence = f.kind === 'occurrence';
    const lateMaxMs = isOccurrence ? (settings.occurrenceLateMaxMs ?? settings.lateSendMaxMs) : settings.lateSendMaxMs;
    const isLate = f.dueAt !== null && now - f.dueAt > lateMaxMs;
    if (isLate && (isOccurrence || settings.lateSendPolicy === 'fail')) return { kind: 'fail_late' };
    return { kind: 'create', sendNow };
  }
  if (f.status === 'canceled') {
    // The pause, cancel or schedule change withdrew it in time, but the delete was held up (a
    // crash, a backlog) until OFAuth had started sending it: a delete now would unsend a
    // delivered message. The poller records it sent.
    const isGoingOut = f.kind === 'occurrence' && f.dueAt !== null && f.dueAt <= now;
    return isGoingOut ? { kind: 'keep_going_out' } : { kind: 'delete' };
  }
  return { kind: 'update' };
}

/** States a writer sets deliberately; the others follow from the facts. */
const STICKY_STATES: readonly SyncState[] = ['retrying', 'paused', 'error'];

/**
 * The sync state to show after a write. `requested` is what the writer asked for: sticky states
 * (retrying, paused, error) are kept, anything else is derived, so a create that succeeds on a
 * send canceled meanwhile shows "pending" (its delete is due), not "synced".
 */
export function syncStateAfterChange(f: SyncFacts, requested?: SyncState): SyncState {
  if (requested && STICKY_STATES.includes(requested)) return requested;
  if (f.createStartedAt !== null) return 'creating';
  if (f.syncState === 'error' && requested === undefined) return 'error';
  const isDue = needsSync({ ...f, syncState: 'pending' });
  // An edit while the connection is paused is still waiting on the pause, not on the loop.
  if (isDue && f.syncState === 'paused' && requested === undefined) return 'paused';
  if (isDue) return 'pending';
  if (f.remoteDeletedAt !== null) return 'deleted';
  // A test send's copy is a chat message, kept apart from the mass-message remoteId.
  if (f.remoteId !== null || (f.chatMessageId ?? null) !== null) return 'synced';
  return 'idle';
}

/**
 * Applies changes to a send and recomputes what the reconciler owes it, so sync_due_at and
 * sync_state can never disagree with status and revision. Every writer goes through this (by way
 * of the lifecycle's recomputeSend).
 */
export function withSyncRecomputed(row: Send, changes: SendChanges, now: number): SendChanges {
  const next = { ...row, ...changes };
  const syncState = syncStateAfterChange({ ...next, syncState: row.syncState }, changes.syncState);
  return { ...changes, syncState, syncDueAt: syncDueAt({ ...next, syncState }, now) };
}
