import { ValidationError } from '../errors.ts';
import type { CampaignViewRow } from './repository.ts';
import type { CampaignView } from './schemas.ts';

/** Epoch milliseconds as ISO-8601 UTC, null kept. */
export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The public JSON shape of a campaign; the only place rows become API objects. */
export function toCampaignView(row: CampaignViewRow): CampaignView {
  return {
    id: row.id,
    name: row.name,
    connectionId: row.connectionId,
    message: row.message,
    audience: row.audience,
    scheduledAt: iso(row.scheduledAt),
    status: row.status,
    failureReason: row.failureReason,
    sync: {
      state: row.syncState,
      remoteId: row.remoteId,
      revision: row.revision,
      syncedRevision: row.syncedRevision,
      attempts: row.attempts,
      lastError: row.lastError,
      nextAttemptAt: iso(row.nextAttemptAt),
      lastSyncedAt: iso(row.lastSyncedAt),
    },
    stats:
      row.statsObservedAt === null
        ? null
        : { sentCount: row.sentCount, viewedCount: row.viewedCount, purchasedCount: row.purchasedCount, observedAt: iso(row.statsObservedAt)! },
    createdAt: iso(row.createdAt)!,
    updatedAt: iso(row.updatedAt)!,
    createdBy: row.createdBy,
  };
}

/** Cursors are opaque to clients: base64url of the last item's key. */
export function encodeCursor(key: string | number): string {
  return Buffer.from(String(key)).toString('base64url');
}

export function decodeCursor(cursor: string, pattern: RegExp): string {
  const key = Buffer.from(cursor, 'base64url').toString();
  if (!pattern.test(key)) {
    throw new ValidationError('cursor is not one this API returned', [{ path: 'querystring/cursor', message: 'invalid cursor' }]);
  }
  return key;
}
