import { performance } from 'node:perf_hooks';
import type { Audience, CampaignStatus, Message, SyncState } from '../../src/campaigns/model.ts';
import type { Db } from '../../src/db/client.ts';
import { newCampaignId } from '../../src/ids.ts';

/** The columns a seeded campaign varies on; everything else takes the defaults a real row has. */
export interface SeedCampaign {
  connectionId: string;
  status: CampaignStatus;
  scheduledAt: number;
  revision: number;
  syncedRevision: number;
  syncState: SyncState;
  syncDueAt: number | null;
  remoteId: string | null;
  lastSyncedAt: number | null;
}

/** A message as the API stores it: every default filled in. */
export const benchMessage: Message = {
  text: 'New set drops tonight. Unlock it before Sunday.',
  mediaItems: [],
  price: 0,
  previewMediaCount: 0,
  isLockedText: false,
  isMarkdown: false,
  userTags: [],
  releaseForms: { users: [], partners: [], guests: [] },
};

export function audienceOf(listId: number): Audience {
  return { userIds: [], userLists: [listId], excludeUserLists: [], subscribedAfterDate: null };
}

/** A campaign the marketer just scheduled: the reconciler owes it one create. */
export function needingCreate(connectionId: string, now: number, scheduledAt: number): SeedCampaign {
  return { connectionId, status: 'scheduled', scheduledAt, revision: 1, syncedRevision: 0, syncState: 'pending', syncDueAt: now, remoteId: null, lastSyncedAt: null };
}

/** A campaign already mirrored (queued) or delivered (sent): the reconciler owes it nothing. */
export function atRest(connectionId: string, status: 'queued' | 'sent', remoteId: string, scheduledAt: number, syncedAt: number): SeedCampaign {
  return { connectionId, status, scheduledAt, revision: 1, syncedRevision: 1, syncState: 'synced', syncDueAt: null, remoteId, lastSyncedAt: syncedAt };
}

/**
 * Inserts `count` campaigns through one prepared statement in one transaction (the fast path
 * SQLite offers; row-at-a-time commits would each wait for an fsync). Returns milliseconds taken.
 * `audienceJson` maps a connection to its serialized audience, so each row does not re-serialize.
 */
export function seedCampaigns(db: Db, count: number, make: (i: number) => SeedCampaign, audienceJson: (connectionId: string) => string, createdAt: number): number {
  const insert = db.$client.prepare(
    `INSERT INTO campaigns (id, name, connection_id, message, audience, scheduled_at, status, revision, created_by, created_at, updated_at,
       sync_state, remote_id, synced_revision, last_synced_at, sync_due_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const message = JSON.stringify(benchMessage);
  const started = performance.now();
  db.$client.transaction(() => {
    for (let i = 0; i < count; i++) {
      const c = make(i);
      insert.run(
        newCampaignId(createdAt),
        `Bench campaign ${i}`,
        c.connectionId,
        message,
        audienceJson(c.connectionId),
        c.scheduledAt,
        c.status,
        c.revision,
        'bench',
        createdAt,
        createdAt,
        c.syncState,
        c.remoteId,
        c.syncedRevision,
        c.lastSyncedAt,
        c.syncDueAt,
      );
    }
  })();
  return performance.now() - started;
}
