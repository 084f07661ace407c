import type { EventData } from '../events/schemas.ts';
import { SYNC_ACTOR, type EventSpec, type EventType } from '../events/types.ts';
import { isOfauthError } from '../ofauth/errors.ts';
import type { SendChanges } from '../sends/model.ts';
import type { SendStore, SendWork } from '../store/types.ts';

export interface OutcomeDeps {
  sends: SendStore;
  owner: string;
}

/** A sync event about one send: every event the loop writes names the send it is about. */
export function syncEvent<T extends EventType>(sendId: string, type: T, data: EventData<T>): EventSpec {
  return { type, actor: SYNC_ACTOR, sendId, data } as EventSpec;
}

/**
 * Writes what an attempt learned, against the send as it is now (the marketer may have edited or
 * canceled the campaign meanwhile), only while this owner still holds the lease: null when it
 * does not, and then nothing was written. With `release` the lease ends in the same write, so the
 * send is claimable again the moment it is due; otherwise it is extended by `leaseMs`.
 */
export function recordOutcome(
  deps: OutcomeDeps,
  sendId: string,
  now: number,
  decide: (fresh: SendWork) => { changes: SendChanges; events?: EventSpec[] },
  options: { release: boolean; leaseMs?: number; durable?: boolean } = { release: true },
): Promise<SendWork | null> {
  return deps.sends.recordOutcome(sendId, deps.owner, now, decide, options);
}

/** What the audit log and sync.lastError say about a failure: never the API key, never a stack. */
export interface FailureData {
  [key: string]: unknown;
  kind: string;
  status?: number | null;
  code?: string | null;
  requestId?: string | null;
  message: string;
}

export function describeFailure(error: unknown): { message: string; data: FailureData } {
  if (isOfauthError(error)) {
    const label = [error.status, error.code].filter((p) => p !== null).join(' ');
    return {
      message: `${label ? `${label}: ` : ''}${error.message}`,
      data: { kind: error.kind, status: error.status, code: error.code, requestId: error.requestId, message: error.message },
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message, data: { kind: 'unexpected', message } };
}
