import type { Clock } from '../clock.ts';
import type { OfauthClient } from '../ofauth/client.ts';
import { isOfauthError, type OfauthErrorKind } from '../ofauth/errors.ts';
import { canSendMove } from '../sends/lifecycle.ts';
import type { Send, SendChanges } from '../sends/model.ts';
import type { ConnectionStore, SendWork } from '../store/types.ts';
import { retryDelayMs } from './backoff.ts';
import { CLOCK_SKEW_MS, findRemoteCopy } from './find-remote.ts';
import { fingerprintOf, type Fingerprint } from './fingerprint.ts';
import { describeFailure, recordOutcome, syncEvent, type OutcomeDeps } from './outcomes.ts';
import type { SyncAction } from './plan.ts';
import { prepareFollowUp, withFollowUpMessage } from './follow-up-prepare.ts';
import { toMassMessageBody } from './remote-body.ts';
import { prepareAudience } from './audience-step.ts';
import { createTest, resolveTest } from './test-send.ts';
import { unsend, unsendAfterMsOf } from './unsend.ts';

export interface OperationDeps extends OutcomeDeps {
  client: OfauthClient;
  connections: ConnectionStore;
  clock: Clock;
  random: () => number;
  leaseMs: number;
  settleMs: number;
  /** AUDIENCE_RESOLVE_LEAD and AUDIENCE_MAX_FANS (see audience-step.ts). */
  audience: { resolveLeadMs: number; maxFans: number };
}

export type Outcome =
  | 'created'
  | 'updated'
  | 'deleted'
  | 'adopted'
  | 'absent'
  | 'failed'
  | 'retry'
  | 'ambiguous'
  | 'paused'
  | 'waiting'
  | 'noop'
  | 'unsent'
  | 'unknown'
  | 'lost_lease'
  /** A follow-up's audience advanced (buyers list made or filled) without its create yet. */
  | 'prepared';

/** Time left on a lease, minus a margin: no request of ours may still be in flight when it ends. */
const LEASE_SAFETY_MS = 5_000;

export const errorKind = (error: unknown): OfauthErrorKind | 'unexpected' => (isOfauthError(error) ? error.kind : 'unexpected');
const hintOf = (error: unknown) => (isOfauthError(error) ? error.retryAfterMs : null);

export function backoffChanges(send: Send, error: unknown, deps: OperationDeps, now: number): SendChanges {
  const attempts = send.attempts + 1;
  return {
    attempts,
    lastError: describeFailure(error).message,
    nextAttemptAt: now + retryDelayMs(attempts, deps.random, hintOf(error)),
    syncState: 'retrying',
  };
}

export const clearedCreate: SendChanges = { createStartedAt: null, createRevision: null, createFingerprint: null, createAmbiguous: false };

/** The remote copy now exists and matches `revision`: record it and move a pending send to queued. */
function remoteExists(fresh: Send, remoteId: string, revision: number, now: number): SendChanges {
  return {
    ...clearedCreate,
    remoteId,
    syncedRevision: revision,
    status: fresh.status === 'pending' ? 'queued' : fresh.status,
    attempts: 0,
    lastError: null,
    nextAttemptAt: null,
    lastSyncedAt: now,
    syncState: 'synced',
  };
}

/**
 * A send failed for good (missed window, OFAuth refused the create). A send canceled meanwhile
 * stays canceled (the lifecycle has no canceled → failed): nothing was created, so the cancel
 * already holds, and only the reason is kept, as lastError.
 */
export function failed(fresh: Send, reason: string, lastError: string, extra: SendChanges = {}): SendChanges {
  if (!canSendMove(fresh.status, 'failed')) return { ...extra, lastError };
  return { ...extra, status: 'failed', reason, lastError, syncState: 'idle' };
}

/**
 * Runs one planned step for a leased send and records its outcome. Every remote call is bounded
 * by the lease: it is aborted before the lease could expire, so a process that lost its lease can
 * never have a create in flight while another process searches for it.
 */
/** Aborts a call before the send's lease (as it is now) could expire. */
export function leaseSignal(send: Send, now: number): AbortSignal {
  return AbortSignal.timeout(Math.max(1_000, (send.leaseExpiresAt ?? now) - now - LEASE_SAFETY_MS));
}

export async function performAction(deps: OperationDeps, work: SendWork, action: SyncAction): Promise<Outcome> {
  const { send } = work;
  const now = deps.clock.now();
  const signal = leaseSignal(send, now);
  switch (action.kind) {
    case 'none':
      return release(deps, send, 'noop');
    case 'wait':
      return (await recordOutcome(deps, send.id, now, () => ({ changes: { nextAttemptAt: action.until } }))) ? 'waiting' : 'lost_lease';
    case 'fail_late':
      return failLate(deps, send, now);
    case 'create': {
      if (work.send.kind === 'test') return createTest(deps, work, signal);
      if (work.send.kind !== 'follow_up') return create(deps, work, action.sendNow);
      const prepared = await prepareFollowUp(deps, work, signal);
      return 'outcome' in prepared ? prepared.outcome : create(deps, prepared.ready, action.sendNow);
    }
    case 'resolve':
      return send.kind === 'test' ? resolveTest(deps, work, signal) : resolve(deps, withFollowUpMessage(work), signal);
    case 'unsend':
      return unsend(deps, work, signal);
    case 'update':
      return update(deps, work);
    case 'delete':
      return remove(deps, send, signal);
    case 'keep_going_out':
      return keepGoingOut(deps, send, now);
  }
}

/** Holds a canceled occurrence's delete for good ("error", as a refused delete would): see planSync. */
async function keepGoingOut(deps: OperationDeps, send: Send, now: number): Promise<Outcome> {
  const message = 'Not deleted: its time came before the delete could be sent, so OFAuth is sending it; a delete now would unsend a delivered message.';
  const recorded = await recordOutcome(deps, send.id, now, () => ({
    changes: { syncState: 'error', lastError: message },
    events: [syncEvent(send.id, 'sync_error', { operation: 'delete', kind: 'too_late', message })],
  }));
  return recorded ? 'failed' : 'lost_lease';
}

async function release(deps: OperationDeps, send: Send, outcome: Outcome): Promise<Outcome> {
  return (await recordOutcome(deps, send.id, deps.clock.now(), () => ({ changes: {} }))) ? outcome : 'lost_lease';
}

async function failLate(deps: OperationDeps, send: Send, now: number): Promise<Outcome> {
  const lateBy = Math.round((now - (send.dueAt ?? now)) / 1000);
  const recorded = await recordOutcome(deps, send.id, now, ({ send: fresh }) => ({
    changes: failed(fresh, 'missed_window', `Not sent: the send time passed ${lateBy} s before the send could be queued (LATE_SEND_MAX).`),
    events: [syncEvent(send.id, 'failed', { reason: 'missed_window', lateBySeconds: lateBy })],
  }));
  return recorded ? 'failed' : 'lost_lease';
}

/** Handles auth failures (pause the connection) and permanent refusals common to every call. */
export async function recordCallFailure(deps: OperationDeps, send: Send, operation: string, error: unknown, extra: SendChanges = {}): Promise<Outcome> {
  const now = deps.clock.now();
  const { message, data } = describeFailure(error);
  if (errorKind(error) === 'auth') {
    await deps.connections.pause(send.connectionId, `OFAuth refused the connection: ${message}`, now);
    await recordOutcome(deps, send.id, now, () => ({
      changes: { ...extra, lastError: message, syncState: 'paused' },
      events: [syncEvent(send.id, 'sync_error', { operation, ...data })],
    }));
    return 'paused';
  }
  await recordOutcome(deps, send.id, now, ({ send: fresh }) => ({
    changes: { ...extra, ...backoffChanges(fresh, error, deps, now) },
    events: [syncEvent(send.id, 'sync_error', { operation, ...data })],
  }));
  return 'retry';
}

async function create(deps: OperationDeps, claimed: SendWork, sendNow: boolean): Promise<Outcome> {
  const audience = await prepareAudience(deps, claimed, 'create');
  if (audience.kind === 'done') return audience.outcome;
  const { send, campaign } = audience.work;
  const now = deps.clock.now();
  // Resolving an audience may have taken a while; its write extended the lease.
  const signal = leaseSignal(send, now);
  const sendAt = sendNow ? null : send.dueAt;
  const fingerprint = fingerprintOf(campaign.message, sendAt);
  // The intent must be durable before the request leaves: after a crash it is the only trace
  // that a mass message may exist, and it makes the next owner search instead of create.
  const intent = await recordOutcome(
    deps,
    send.id,
    now,
    () => ({
      changes: { createStartedAt: now, createRevision: send.revision, createFingerprint: JSON.stringify(fingerprint), createAmbiguous: false, syncState: 'creating' },
      events: [syncEvent(send.id, 'sync_started', { operation: 'create', revision: send.revision, sendNow })],
    }),
    { release: false, leaseMs: deps.leaseMs, durable: true },
  );
  if (!intent) return 'lost_lease';

  try {
    const status = await deps.client.createMassMessage(send.connectionId, toMassMessageBody(campaign, sendAt, audience.fanIds), { signal });
    const remoteId = String(status.id);
    const done = await recordOutcome(deps, send.id, deps.clock.now(), ({ send: fresh, campaign: current }) => ({
      changes: { ...remoteExists(fresh, remoteId, send.revision, deps.clock.now()), unsendAfterMs: unsendAfterMsOf(current) },
      events: [syncEvent(send.id, 'remote_created', { remoteId, revision: send.revision })],
    }));
    await deps.connections.markHealthy(send.connectionId, deps.clock.now());
    return done ? 'created' : 'lost_lease';
  } catch (error) {
    const kind = errorKind(error);
    const later = deps.clock.now();
    if (kind === 'ambiguous' || kind === 'unexpected') {
      // It may exist: keep the intent, and search once OFAuth has had time to settle.
      const { message, data } = describeFailure(error);
      await recordOutcome(deps, send.id, later, ({ send: fresh }) => ({
        changes: { createAmbiguous: true, attempts: fresh.attempts + 1, lastError: message, nextAttemptAt: later + deps.settleMs, syncState: 'creating' },
        events: [syncEvent(send.id, 'sync_error', { operation: 'create', ...data })],
      }));
      return 'ambiguous';
    }
    if (kind === 'invalid') {
      const { message, data } = describeFailure(error);
      await recordOutcome(deps, send.id, later, ({ send: fresh }) => ({
        changes: failed(fresh, 'ofauth_rejected', message, clearedCreate),
        events: [syncEvent(send.id, 'failed', { reason: 'ofauth_rejected', ...data })],
      }));
      return 'failed';
    }
    // retryable (the request never left) or auth (refused): nothing was created.
    return recordCallFailure(deps, send, 'create', error, clearedCreate);
  }
}

async function resolve(deps: OperationDeps, work: SendWork, signal: AbortSignal): Promise<Outcome> {
  const { send, campaign } = work;
  const fingerprint = JSON.parse(send.createFingerprint ?? 'null') as Fingerprint | null;
  const startedAt = send.createStartedAt ?? deps.clock.now();
  const revision = send.createRevision ?? send.revision;
  try {
    const searched = fingerprint ?? fingerprintOf(campaign.message, send.dueAt);
    // A sibling due when this send is due is an earlier copy of this very occurrence (canceled
    // by a pause, made again by the resume): its date is this send's own, and its message is
    // told apart by ownership. Reserving that date would hide this send's own message.
    const reservedDates =
      searched.scheduledAt === null ? (await deps.sends.siblingDueTimes(send.id, startedAt - CLOCK_SKEW_MS, startedAt + CLOCK_SKEW_MS)).filter((t) => t !== send.dueAt) : [];
    const result = await findRemoteCopy(deps.client, {
      connectionId: send.connectionId,
      fingerprint: searched,
      startedAt,
      reservedDates,
      ownedElsewhere: async (ids) => {
        const owners = await deps.sends.ownersOfRemoteIds(send.connectionId, ids);
        return new Set([...owners].filter(([, sendId]) => sendId !== send.id).map(([remoteId]) => remoteId));
      },
      signal,
    });
    const now = deps.clock.now();
    await deps.connections.markHealthy(send.connectionId, now);
    if (result.outcome === 'found') {
      const remoteId = String(result.item.id);
      const done = await recordOutcome(deps, send.id, now, ({ send: fresh, campaign: current }) => ({
        changes: { ...remoteExists(fresh, remoteId, revision, now), unsendAfterMs: unsendAfterMsOf(current) },
        events: [syncEvent(send.id, 'adopted', { remoteId, list: result.listType, revision, otherMatches: result.duplicates ?? 0 })],
      }));
      return done ? 'adopted' : 'lost_lease';
    }
    if (result.outcome === 'absent') {
      // Provably not created: forget the attempt; the next claim creates (or, if canceled, nothing).
      const done = await recordOutcome(deps, send.id, now, () => ({
        changes: { ...clearedCreate, nextAttemptAt: null },
        events: [syncEvent(send.id, 'create_absent', { startedAt: new Date(startedAt).toISOString() })],
      }));
      return done ? 'absent' : 'lost_lease';
    }
    throw new Error(`remote search inconclusive: ${result.reason}`);
  } catch (error) {
    // Keep the intent whatever happened: only a complete search may clear it.
    if (errorKind(error) === 'auth') return recordCallFailure(deps, send, 'resolve', error);
    const now = deps.clock.now();
    await recordOutcome(deps, send.id, now, ({ send: fresh }) => ({
      changes: { ...backoffChanges(fresh, error, deps, now), syncState: 'creating' },
      events: [syncEvent(send.id, 'sync_error', { operation: 'resolve', ...describeFailure(error).data })],
    }));
    return 'retry';
  }
}

async function update(deps: OperationDeps, claimed: SendWork): Promise<Outcome> {
  const audience = await prepareAudience(deps, claimed, 'update');
  if (audience.kind === 'done') return audience.outcome;
  const { send, campaign } = audience.work;
  const now = deps.clock.now();
  const signal = leaseSignal(send, now);
  const sendNow = send.dueAt === null || send.dueAt <= now;
  // Extends the lease for the call; a process that lost it must not send the PUT (another owner
  // may be doing the same work, or the marketer's latest change may already be on its way).
  const started = await recordOutcome(deps, send.id, now, () => ({ changes: {}, events: [syncEvent(send.id, 'sync_started', { operation: 'update', revision: send.revision })] }), {
    release: false,
    leaseMs: deps.leaseMs,
  });
  if (!started) return 'lost_lease';
  try {
    const status = await deps.client.updateMassMessage(send.connectionId, send.remoteId!, toMassMessageBody(campaign, sendNow ? null : send.dueAt, audience.fanIds), { signal });
    const remoteId = String(status.id);
    const later = deps.clock.now();
    await deps.connections.markHealthy(send.connectionId, later);
    const done = await recordOutcome(deps, send.id, later, ({ campaign: current }) => ({
      changes: { unsendAfterMs: unsendAfterMsOf(current), remoteId, syncedRevision: send.revision, attempts: 0, lastError: null, nextAttemptAt: null, lastSyncedAt: later, syncState: 'synced' },
      events: [syncEvent(send.id, 'remote_updated', { remoteId, revision: send.revision, ...(remoteId !== send.remoteId ? { previousRemoteId: send.remoteId } : {}) })],
    }));
    return done ? 'updated' : 'lost_lease';
  } catch (error) {
    if (errorKind(error) === 'invalid') {
      // Typically "already sending": the remote keeps the last synced revision; say so.
      const { message, data } = describeFailure(error);
      // The poller may have seen the message canceled remotely meanwhile: then there is nothing
      // left to update, and "deleted" is the truth.
      await recordOutcome(deps, send.id, deps.clock.now(), ({ send: fresh }) =>
        fresh.remoteDeletedAt !== null
          ? { changes: {} }
          : {
              changes: { syncState: 'error', lastError: `OFAuth refused the update (revision ${send.revision} not sent; revision ${send.syncedRevision} stands): ${message}` },
              events: [syncEvent(send.id, 'sync_error', { operation: 'update', ...data })],
            },
      );
      return 'failed';
    }
    return recordCallFailure(deps, send, 'update', error);
  }
}

async function remove(deps: OperationDeps, send: Send, signal: AbortSignal): Promise<Outcome> {
  const now = deps.clock.now();
  // As for update: without the lease, no DELETE.
  const started = await recordOutcome(deps, send.id, now, () => ({ changes: {}, events: [syncEvent(send.id, 'sync_started', { operation: 'delete', remoteId: send.remoteId })] }), {
    release: false,
    leaseMs: deps.leaseMs,
  });
  if (!started) return 'lost_lease';
  const deleted = async (note: Record<string, unknown>): Promise<Outcome> => {
    const later = deps.clock.now();
    const done = await recordOutcome(deps, send.id, later, () => ({
      changes: { remoteDeletedAt: later, attempts: 0, lastError: null, nextAttemptAt: null, lastSyncedAt: later, syncState: 'deleted' },
      events: [syncEvent(send.id, 'remote_deleted', { remoteId: send.remoteId, ...note })],
    }));
    return done ? 'deleted' : 'lost_lease';
  };
  try {
    await deps.client.deleteMassMessage(send.connectionId, send.remoteId!, { signal });
    await deps.connections.markHealthy(send.connectionId, deps.clock.now());
    return await deleted({});
  } catch (error) {
    // Deleting is safe to repeat: a 404 means an earlier attempt (or someone else) already did it.
    if (isOfauthError(error) && error.status === 404) return deleted({ alreadyGone: true });
    // A refusal may be the echo of our own earlier delete whose answer was lost ("already
    // canceled"): look before calling it a failure.
    if (errorKind(error) === 'invalid' && (await isRemoteGone(deps, send, signal))) return deleted({ alreadyGone: true });
    if (errorKind(error) === 'invalid') {
      const { message, data } = describeFailure(error);
      await recordOutcome(deps, send.id, deps.clock.now(), () => ({
        changes: { syncState: 'error', lastError: `OFAuth refused to delete the queued message (it may already be sending or sent): ${message}` },
        events: [syncEvent(send.id, 'sync_error', { operation: 'delete', ...data })],
      }));
      return 'failed';
    }
    return recordCallFailure(deps, send, 'delete', error);
  }
}

/** Whether the remote copy is already canceled or gone; false when that cannot be told. */
async function isRemoteGone(deps: OperationDeps, send: Send, signal: AbortSignal): Promise<boolean> {
  try {
    const remote = await deps.client.getMassMessage(send.connectionId, send.remoteId!, { signal });
    return remote.isCanceled;
  } catch (error) {
    return isOfauthError(error) && error.status === 404;
  }
}
