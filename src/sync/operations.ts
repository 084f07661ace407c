import type { CampaignChanges, CampaignRow } from '../campaigns/repository.ts';
import type { Clock } from '../clock.ts';
import type { OfauthClient } from '../ofauth/client.ts';
import { isOfauthError, type OfauthErrorKind } from '../ofauth/errors.ts';
import { retryDelayMs } from './backoff.ts';
import { findRemoteCopy } from './find-remote.ts';
import { fingerprintOf, type Fingerprint } from './fingerprint.ts';
import { describeFailure, recordOutcome, type OutcomeDeps } from './outcomes.ts';
import type { SyncAction } from './plan.ts';
import { toMassMessageBody } from './remote-body.ts';
import type { SyncRepository } from './repository.ts';

export interface OperationDeps extends OutcomeDeps {
  client: OfauthClient;
  syncRepository: SyncRepository;
  clock: Clock;
  random: () => number;
  leaseMs: number;
  settleMs: number;
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
  | 'lost_lease';

/** Time left on a lease, minus a margin: no request of ours may still be in flight when it ends. */
const LEASE_SAFETY_MS = 5_000;

const errorKind = (error: unknown): OfauthErrorKind | 'unexpected' => (isOfauthError(error) ? error.kind : 'unexpected');
const hintOf = (error: unknown) => (isOfauthError(error) ? error.retryAfterMs : null);

function backoffChanges(row: CampaignRow, error: unknown, deps: OperationDeps, now: number): CampaignChanges {
  const attempts = row.attempts + 1;
  return {
    attempts,
    lastError: describeFailure(error).message,
    nextAttemptAt: now + retryDelayMs(attempts, deps.random, hintOf(error)),
    syncState: 'retrying',
  };
}

const clearedCreate: CampaignChanges = { createStartedAt: null, createRevision: null, createFingerprint: null, createAmbiguous: false };

/** The remote copy now exists and matches `revision`: record it and move scheduled to queued. */
function remoteExists(fresh: CampaignRow, remoteId: string, revision: number, now: number): CampaignChanges {
  return {
    ...clearedCreate,
    remoteId,
    syncedRevision: revision,
    status: fresh.status === 'scheduled' ? 'queued' : fresh.status,
    attempts: 0,
    lastError: null,
    nextAttemptAt: null,
    lastSyncedAt: now,
    syncState: 'synced',
  };
}

/**
 * Runs one planned step for a leased campaign and records its outcome. Every remote call is
 * bounded by the lease: it is aborted before the lease could expire, so a process that lost its
 * lease can never have a create in flight while another process searches for it.
 */
export async function performAction(deps: OperationDeps, row: CampaignRow, action: SyncAction): Promise<Outcome> {
  const now = deps.clock.now();
  const leaseLeft = Math.max(1_000, (row.leaseExpiresAt ?? now) - now - LEASE_SAFETY_MS);
  const signal = AbortSignal.timeout(leaseLeft);
  switch (action.kind) {
    case 'none':
      return release(deps, row, 'noop');
    case 'wait':
      return recordOutcome(deps, row.id, now, () => ({ changes: { nextAttemptAt: action.until } })) ? 'waiting' : 'lost_lease';
    case 'fail_late':
      return failLate(deps, row, now);
    case 'create':
      return create(deps, row, action.sendNow, signal);
    case 'resolve':
      return resolve(deps, row, signal);
    case 'update':
      return update(deps, row, signal);
    case 'delete':
      return remove(deps, row, signal);
  }
}

function release(deps: OperationDeps, row: CampaignRow, outcome: Outcome): Outcome {
  return recordOutcome(deps, row.id, deps.clock.now(), () => ({ changes: {} })) ? outcome : 'lost_lease';
}

function failLate(deps: OperationDeps, row: CampaignRow, now: number): Outcome {
  const lateBy = Math.round((now - (row.scheduledAt ?? now)) / 1000);
  const recorded = recordOutcome(deps, row.id, now, () => ({
    changes: { status: 'failed', failureReason: 'missed_window', lastError: `Not sent: the send time passed ${lateBy} s before the campaign could be queued (LATE_SEND_MAX).`, syncState: 'idle' },
    events: [{ type: 'failed', data: { reason: 'missed_window', lateBySeconds: lateBy } }],
  }));
  return recorded ? 'failed' : 'lost_lease';
}

/** Handles auth failures (pause the connection) and permanent refusals common to every call. */
function recordCallFailure(deps: OperationDeps, row: CampaignRow, operation: string, error: unknown, extra: CampaignChanges = {}): Outcome {
  const now = deps.clock.now();
  const { message, data } = describeFailure(error);
  const kind = errorKind(error);
  if (kind === 'auth') {
    deps.syncRepository.pauseConnection(row.connectionId, `OFAuth refused the connection: ${message}`, now);
    recordOutcome(deps, row.id, now, () => ({
      changes: { ...extra, lastError: message, syncState: 'paused' },
      events: [{ type: 'sync_error', data: { operation, ...data } }],
    }));
    return 'paused';
  }
  recordOutcome(deps, row.id, now, (fresh) => ({
    changes: { ...extra, ...backoffChanges(fresh, error, deps, now) },
    events: [{ type: 'sync_error', data: { operation, ...data } }],
  }));
  return 'retry';
}

async function create(deps: OperationDeps, row: CampaignRow, sendNow: boolean, signal: AbortSignal): Promise<Outcome> {
  const now = deps.clock.now();
  const sendAt = sendNow ? null : row.scheduledAt;
  const fingerprint = fingerprintOf(row.message, sendAt);
  // The intent must be durable before the request leaves: after a crash it is the only trace
  // that a mass message may exist, and it makes the next owner search instead of create.
  const intent = recordOutcome(
    deps,
    row.id,
    now,
    () => ({
      changes: { createStartedAt: now, createRevision: row.revision, createFingerprint: JSON.stringify(fingerprint), createAmbiguous: false, syncState: 'creating' },
      events: [{ type: 'sync_started', data: { operation: 'create', revision: row.revision, sendNow } }],
    }),
    { release: false, leaseMs: deps.leaseMs },
  );
  if (!intent) return 'lost_lease';

  try {
    const status = await deps.client.createMassMessage(row.connectionId, toMassMessageBody(row, sendAt), { signal });
    const remoteId = String(status.id);
    const done = recordOutcome(deps, row.id, deps.clock.now(), (fresh) => ({
      changes: remoteExists(fresh, remoteId, row.revision, deps.clock.now()),
      events: [{ type: 'remote_created', data: { remoteId, revision: row.revision } }],
    }));
    deps.syncRepository.markConnectionHealthy(row.connectionId, deps.clock.now());
    return done ? 'created' : 'lost_lease';
  } catch (error) {
    const kind = errorKind(error);
    const later = deps.clock.now();
    if (kind === 'ambiguous' || kind === 'unexpected') {
      // It may exist: keep the intent, and search once OFAuth has had time to settle.
      const { message, data } = describeFailure(error);
      recordOutcome(deps, row.id, later, (fresh) => ({
        changes: { createAmbiguous: true, attempts: fresh.attempts + 1, lastError: message, nextAttemptAt: later + deps.settleMs, syncState: 'creating' },
        events: [{ type: 'sync_error', data: { operation: 'create', ...data } }],
      }));
      return 'ambiguous';
    }
    if (kind === 'invalid') {
      const { message, data } = describeFailure(error);
      recordOutcome(deps, row.id, later, () => ({
        changes: { ...clearedCreate, status: 'failed', failureReason: 'ofauth_rejected', lastError: message, syncState: 'idle' },
        events: [{ type: 'failed', data: { reason: 'ofauth_rejected', ...data } }],
      }));
      return 'failed';
    }
    // retryable (the request never left) or auth (refused): nothing was created.
    return recordCallFailure(deps, row, 'create', error, clearedCreate);
  }
}

async function resolve(deps: OperationDeps, row: CampaignRow, signal: AbortSignal): Promise<Outcome> {
  const fingerprint = JSON.parse(row.createFingerprint ?? 'null') as Fingerprint | null;
  const startedAt = row.createStartedAt ?? deps.clock.now();
  const revision = row.createRevision ?? row.revision;
  try {
    const result = await findRemoteCopy(deps.client, {
      connectionId: row.connectionId,
      fingerprint: fingerprint ?? fingerprintOf(row.message, row.scheduledAt),
      startedAt,
      ownedElsewhere: (ids) => {
        const owners = deps.syncRepository.ownersOfRemoteIds(row.connectionId, ids);
        return new Set([...owners].filter(([, campaignId]) => campaignId !== row.id).map(([remoteId]) => remoteId));
      },
      signal,
    });
    const now = deps.clock.now();
    deps.syncRepository.markConnectionHealthy(row.connectionId, now);
    if (result.outcome === 'found') {
      const remoteId = String(result.item.id);
      const done = recordOutcome(deps, row.id, now, (fresh) => ({
        changes: remoteExists(fresh, remoteId, revision, now),
        events: [{ type: 'adopted', data: { remoteId, list: result.listType, revision, otherMatches: result.duplicates ?? 0 } }],
      }));
      return done ? 'adopted' : 'lost_lease';
    }
    if (result.outcome === 'absent') {
      // Provably not created: forget the attempt; the next claim creates (or, if canceled, nothing).
      const done = recordOutcome(deps, row.id, now, () => ({
        changes: { ...clearedCreate, nextAttemptAt: null },
        events: [{ type: 'create_absent', data: { startedAt: new Date(startedAt).toISOString() } }],
      }));
      return done ? 'absent' : 'lost_lease';
    }
    throw new Error(`remote search inconclusive: ${result.reason}`);
  } catch (error) {
    // Keep the intent whatever happened: only a complete search may clear it.
    if (errorKind(error) === 'auth') return recordCallFailure(deps, row, 'resolve', error);
    const now = deps.clock.now();
    recordOutcome(deps, row.id, now, (fresh) => ({
      changes: { ...backoffChanges(fresh, error, deps, now), syncState: 'creating' },
      events: [{ type: 'sync_error', data: { operation: 'resolve', ...describeFailure(error).data } }],
    }));
    return 'retry';
  }
}

async function update(deps: OperationDeps, row: CampaignRow, signal: AbortSignal): Promise<Outcome> {
  const now = deps.clock.now();
  const sendNow = row.scheduledAt === null || row.scheduledAt <= now;
  recordOutcome(deps, row.id, now, () => ({ changes: {}, events: [{ type: 'sync_started', data: { operation: 'update', revision: row.revision } }] }), {
    release: false,
    leaseMs: deps.leaseMs,
  });
  try {
    const status = await deps.client.updateMassMessage(row.connectionId, row.remoteId!, toMassMessageBody(row, sendNow ? null : row.scheduledAt), { signal });
    const remoteId = String(status.id);
    const later = deps.clock.now();
    deps.syncRepository.markConnectionHealthy(row.connectionId, later);
    const done = recordOutcome(deps, row.id, later, () => ({
      changes: { remoteId, syncedRevision: row.revision, attempts: 0, lastError: null, nextAttemptAt: null, lastSyncedAt: later, syncState: 'synced' },
      events: [{ type: 'remote_updated', data: { remoteId, revision: row.revision, ...(remoteId !== row.remoteId ? { previousRemoteId: row.remoteId } : {}) } }],
    }));
    return done ? 'updated' : 'lost_lease';
  } catch (error) {
    if (errorKind(error) === 'invalid') {
      // Typically "already sending": the remote keeps the last synced revision; say so.
      const { message, data } = describeFailure(error);
      // The poller may have seen the message canceled remotely meanwhile: then there is nothing
      // left to update, and "deleted" is the truth.
      recordOutcome(deps, row.id, deps.clock.now(), (fresh) =>
        fresh.remoteDeletedAt !== null
          ? { changes: {} }
          : {
              changes: { syncState: 'error', lastError: `OFAuth refused the update (revision ${row.revision} not sent; revision ${row.syncedRevision} stands): ${message}` },
              events: [{ type: 'sync_error', data: { operation: 'update', ...data } }],
            },
      );
      return 'failed';
    }
    return recordCallFailure(deps, row, 'update', error);
  }
}

async function remove(deps: OperationDeps, row: CampaignRow, signal: AbortSignal): Promise<Outcome> {
  const now = deps.clock.now();
  recordOutcome(deps, row.id, now, () => ({ changes: {}, events: [{ type: 'sync_started', data: { operation: 'delete', remoteId: row.remoteId } }] }), {
    release: false,
    leaseMs: deps.leaseMs,
  });
  const deleted = (note: Record<string, unknown>) => {
    const later = deps.clock.now();
    return recordOutcome(deps, row.id, later, () => ({
      changes: { remoteDeletedAt: later, attempts: 0, lastError: null, nextAttemptAt: null, lastSyncedAt: later, syncState: 'deleted' },
      events: [{ type: 'remote_deleted', data: { remoteId: row.remoteId, ...note } }],
    }))
      ? 'deleted'
      : 'lost_lease';
  };
  try {
    await deps.client.deleteMassMessage(row.connectionId, row.remoteId!, { signal });
    deps.syncRepository.markConnectionHealthy(row.connectionId, deps.clock.now());
    return deleted({});
  } catch (error) {
    // Deleting is safe to repeat: a 404 means an earlier attempt (or someone else) already did it.
    if (isOfauthError(error) && error.status === 404) return deleted({ alreadyGone: true });
    // A refusal may be the echo of our own earlier delete whose answer was lost ("already
    // canceled"): look before calling it a failure.
    if (errorKind(error) === 'invalid' && (await isRemoteGone(deps, row, signal))) return deleted({ alreadyGone: true });
    if (errorKind(error) === 'invalid') {
      const { message, data } = describeFailure(error);
      recordOutcome(deps, row.id, deps.clock.now(), () => ({
        changes: { syncState: 'error', lastError: `OFAuth refused to delete the queued message (it may already be sending or sent): ${message}` },
        events: [{ type: 'sync_error', data: { operation: 'delete', ...data } }],
      }));
      return 'failed';
    }
    return recordCallFailure(deps, row, 'delete', error);
  }
}

/** Whether the remote copy is already canceled or gone; false when that cannot be told. */
async function isRemoteGone(deps: OperationDeps, row: CampaignRow, signal: AbortSignal): Promise<boolean> {
  try {
    const remote = await deps.client.getMassMessage(row.connectionId, row.remoteId!, { signal });
    return remote.isCanceled;
  } catch (error) {
    return isOfauthError(error) && error.status === 404;
  }
}
