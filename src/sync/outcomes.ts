import type { CampaignChanges, CampaignRepository, CampaignRow } from '../campaigns/repository.ts';
import { withSyncRecomputed } from './plan.ts';
import { SYNC_ACTOR, type EventLog } from '../campaigns/events.ts';
import type { Db } from '../db/client.ts';
import { isOfauthError } from '../ofauth/errors.ts';

export interface OutcomeDeps {
  db: Db;
  repository: CampaignRepository;
  events: EventLog;
  owner: string;
}

export interface EventSpec {
  type: string;
  data?: Record<string, unknown>;
}

/**
 * Writes what an attempt learned, against the row as it is now (the marketer may have edited or
 * canceled it meanwhile), only while this owner still holds the lease. With `release` the lease
 * ends in the same write, so the row is claimable again the moment it is due.
 */
export function recordOutcome(
  deps: OutcomeDeps,
  id: string,
  now: number,
  decide: (fresh: CampaignRow) => { changes: CampaignChanges; events?: EventSpec[] },
  options: { release: boolean; leaseMs?: number } = { release: true },
): CampaignRow | null {
  return deps.db.transaction(
    () => {
      const fresh = deps.repository.findById(id);
      if (!fresh || fresh.leaseOwner !== deps.owner) return null;
      const { changes, events = [] } = decide(fresh);
      const lease = options.release
        ? { leaseOwner: null, leaseExpiresAt: null }
        : { leaseExpiresAt: now + (options.leaseMs ?? 0) };
      const updated = deps.repository.update(id, withSyncRecomputed(fresh, { ...changes, ...lease }, now));
      for (const event of events) deps.events.append(id, event.type, SYNC_ACTOR, now, event.data);
      return updated;
    },
    { behavior: 'immediate' },
  );
}

/** What the audit log and sync.lastError say about a failure: never the API key, never a stack. */
export function describeFailure(error: unknown): { message: string; data: Record<string, unknown> } {
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
