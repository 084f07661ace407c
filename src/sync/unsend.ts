import type { Campaign } from '../campaigns/model.ts';
import type { ChatMessage } from '../ofauth/chat-responses.ts';
import { isOfauthError } from '../ofauth/errors.ts';
import type { Send, SendChanges } from '../sends/model.ts';
import type { SendWork } from '../store/types.ts';
import { backoffChanges, errorKind, recordCallFailure, type OperationDeps, type Outcome } from './operations.ts';
import { describeFailure, recordOutcome, syncEvent } from './outcomes.ts';

/*
 * Unsending a sent message: a marketer's POST /v1/sends/:id/unsend, or message.unsendAfter come
 * due. A mass message goes through the mass-message DELETE (an unsend once sent, allowed while
 * OFAuth's window is open), a test send through the chat-message DELETE with its withUserId.
 *
 * Exactly once: the intent (unsendStartedAt) is recorded before the call. Repeating a DELETE can
 * never deliver anything, so an unknown outcome is settled by looking (a mass message listed as
 * canceled, or a 404) or by asking again: a second DELETE of what the first already took back
 * answers 404 or "already canceled", which is read as done, never as a second unsend.
 */

export const unsendAfterMsOf = (campaign: Pick<Campaign, 'message'>): number | null => {
  const seconds = campaign.message.unsendAfter ?? null;
  return seconds === null ? null : seconds * 1000;
};

/** The window's end from an answer's canUnsend / unsendSeconds; null when it says nothing. */
export function unsendWindowOf(item: Pick<ChatMessage, 'canUnsend' | 'unsendSeconds'>, now: number): number | null {
  if (item.canUnsend === false) return now;
  if (item.unsendSeconds !== null && item.unsendSeconds >= 0) return now + item.unsendSeconds * 1000;
  return null;
}

/** Refusals of a repeat that cannot be told from "already unsent" before one is taken as final. */
const MAX_UNCERTAIN_ATTEMPTS = 5;

const isAuto = (send: Send) => send.unsendRequestedAt === null;

function unsentChanges(now: number): SendChanges {
  return { status: 'unsent', unsentAt: now, unsendStartedAt: null, unsendRequestedAt: null, attempts: 0, lastError: null, nextAttemptAt: null, lastSyncedAt: now, syncState: 'synced' };
}

/** Whether the message is already taken back (a mass message listed canceled, or gone), still there, or cannot be told. */
async function remoteState(deps: OperationDeps, send: Send, signal: AbortSignal): Promise<'gone' | 'present' | 'unknown'> {
  // A test send's chat DELETE answers 404 once it is gone: the repeat itself tells.
  if (send.kind === 'test') return 'unknown';
  try {
    return (await deps.client.getMassMessage(send.connectionId, send.remoteId!, { signal })).isCanceled ? 'gone' : 'present';
  } catch (error) {
    return isOfauthError(error) && error.status === 404 ? 'gone' : 'unknown';
  }
}

function callUnsend(deps: OperationDeps, send: Send, signal: AbortSignal): Promise<unknown> {
  if (send.kind === 'test') return deps.client.deleteChatMessage(send.connectionId, send.chatMessageId!, send.testUserId!, { signal });
  return deps.client.deleteMassMessage(send.connectionId, send.remoteId!, { signal });
}

export async function unsend(deps: OperationDeps, work: SendWork, signal: AbortSignal): Promise<Outcome> {
  const { send } = work;
  const now = deps.clock.now();
  const remoteId = send.kind === 'test' ? send.chatMessageId : send.remoteId;
  const intent = await recordOutcome(
    deps,
    send.id,
    now,
    ({ send: fresh }) => ({
      changes: { unsendStartedAt: fresh.unsendStartedAt ?? now },
      events: [syncEvent(send.id, 'sync_started', { operation: 'unsend', remoteId, auto: isAuto(fresh) })],
    }),
    { release: false, leaseMs: deps.leaseMs, durable: true },
  );
  if (!intent) return 'lost_lease';
  const done = async (note: Record<string, unknown>): Promise<Outcome> => {
    const later = deps.clock.now();
    const recorded = await recordOutcome(deps, send.id, later, ({ send: fresh }) => ({
      changes: unsentChanges(later),
      events: [
        syncEvent(send.id, 'unsent', { remoteId, auto: isAuto(fresh), sentCount: fresh.sentCount, viewedCount: fresh.viewedCount, purchasedCount: fresh.purchasedCount, ...note }),
      ],
    }));
    return recorded ? 'unsent' : 'lost_lease';
  };
  try {
    await callUnsend(deps, send, signal);
    await deps.connections.markHealthy(send.connectionId, deps.clock.now());
    return await done({});
  } catch (error) {
    // A 404: taken back already (our own earlier attempt whose answer was lost, or by hand).
    if (isOfauthError(error) && error.status === 404 && error.code !== 'ROUTE_NOT_FOUND') return done({ alreadyGone: true });
    const kind = errorKind(error);
    const remote = kind === 'invalid' || kind === 'ambiguous' ? await remoteState(deps, send, signal) : 'unknown';
    if (remote === 'gone') return done({ alreadyGone: true });
    const later = deps.clock.now();
    const { message, data } = describeFailure(error);
    // A refusal is final only when the message is seen still there, or this was the first
    // attempt: after an unknown outcome it may be the echo of our own unsend ("already canceled").
    const isRepeat = send.unsendStartedAt !== null && send.attempts < MAX_UNCERTAIN_ATTEMPTS;
    if (kind === 'invalid' && (remote === 'present' || !isRepeat)) {
      // OFAuth refused: its window has closed (or it was never open). Said once, not retried.
      await recordOutcome(deps, send.id, later, () => ({
        changes: { unsendStartedAt: null, unsendRequestedAt: null, unsendableUntil: later, syncState: 'error', lastError: `OFAuth refused the unsend (its unsend window has likely closed): ${message}` },
        events: [syncEvent(send.id, 'sync_error', { operation: 'unsend', ...data })],
      }));
      return 'failed';
    }
    if (kind === 'ambiguous' || kind === 'unexpected' || kind === 'invalid') {
      // Keep the intent: the next attempt asks again, and a repeat is harmless (see above).
      await recordOutcome(deps, send.id, later, ({ send: fresh }) => ({
        changes: backoffChanges(fresh, error, deps, later),
        events: [syncEvent(send.id, 'sync_error', { operation: 'unsend', ...data })],
      }));
      return 'ambiguous';
    }
    return recordCallFailure(deps, send, 'unsend', error);
  }
}
