import { performance } from 'node:perf_hooks';
import type { Audience, Message, Recurrence, SendStatus, SyncState } from '../../src/campaigns/model.ts';
import type { Db } from '../../src/db/sqlite/client.ts';
import { newCampaignId } from '../../src/ids.ts';
import { oneShotStatus } from '../../src/sends/lifecycle.ts';
import { syncDueAt } from '../../src/sync/plan.ts';
import { withIndexesDeferred } from './db.ts';

/**
 * The columns a seeded one-shot campaign and its send vary on; everything else takes the
 * defaults a real row has. `status` is the send's: the campaign mirrors it as the lifecycle does.
 */
export interface SeedCampaign {
  connectionId: string;
  status: SendStatus;
  /** Null: as soon as synced. */
  scheduledAt: number | null;
  revision: number;
  syncedRevision: number;
  syncState: SyncState;
  syncDueAt: number | null;
  remoteId: string | null;
  lastSyncedAt: number | null;
  /** Default: the seed's createdAt. */
  createdAt?: number;
  /** Default: scheduledAt for a sent send, otherwise null. */
  sentAt?: number | null;
  /** Serialized message; default benchMessage. */
  messageJson?: string;
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

/** A campaign the marketer just scheduled: its send is pending and the reconciler owes it one create. */
export function needingCreate(connectionId: string, now: number, scheduledAt: number): SeedCampaign {
  return { connectionId, status: 'pending', scheduledAt, revision: 1, syncedRevision: 0, syncState: 'pending', syncDueAt: now, remoteId: null, lastSyncedAt: null };
}

/** A send already mirrored (queued) or delivered (sent): the reconciler owes it nothing. */
export function atRest(connectionId: string, status: 'queued' | 'sent', remoteId: string, scheduledAt: number, syncedAt: number): SeedCampaign {
  return { connectionId, status, scheduledAt, revision: 1, syncedRevision: 1, syncState: 'synced', syncDueAt: null, remoteId, lastSyncedAt: syncedAt };
}

/** The send id the sends migration gives a one-shot campaign's send: the campaign's ULID. */
export const oneShotSendId = (campaignId: string) => `snd_${campaignId.slice(4)}`;

/** Throws when a seed row's sync_due_at disagrees with what the sync plan derives from its facts. */
export function checkSeedRow(c: SeedCampaign, i: number, createdAt: number): void {
  const facts = { ...c, dueAt: c.scheduledAt, remoteDeletedAt: null, createStartedAt: null, nextAttemptAt: null };
  if ((syncDueAt(facts, createdAt) === null) !== (c.syncDueAt === null)) throw new Error(`seed row ${i} has sync_due_at ${c.syncDueAt} but its facts say otherwise`);
}

/**
 * Inserts `count` one-shot campaigns, each with its send (kind 'scheduled'), through prepared
 * statements in one transaction (the fast path SQLite offers; row-at-a-time commits would each
 * wait for an fsync), the two tables' indexes built once at the end. Returns milliseconds taken. `audienceJson` maps a connection to its
 * serialized audience, so each row does not re-serialize. A row whose sync_due_at disagrees with
 * what the sync plan derives from its facts throws: a seed must be a state the service can reach.
 */
export function seedCampaigns(db: Db, count: number, make: (i: number) => SeedCampaign, audienceJson: (connectionId: string) => string, createdAt: number): number {
  const insertCampaign = db.$client.prepare(
    `INSERT INTO campaigns (id, name, connection_id, message, audience, scheduled_at, status, revision, created_by, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'bench', ?, ?)`,
  );
  const insertSend = db.$client.prepare(
    `INSERT INTO sends (id, campaign_id, connection_id, kind, due_at, revision, status, created_at, updated_at,
       sync_state, remote_id, synced_revision, last_synced_at, sync_due_at, sent_at)
     VALUES (?, ?, ?, 'scheduled', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const message = JSON.stringify(benchMessage);
  const started = performance.now();
  withIndexesDeferred(db, ['campaigns', 'sends'], () => {
    for (let i = 0; i < count; i++) {
      const c = make(i);
      checkSeedRow(c, i, createdAt);
      const at = c.createdAt ?? createdAt;
      const id = newCampaignId(at);
      insertCampaign.run(id, `Bench campaign ${i}`, c.connectionId, c.messageJson ?? message, audienceJson(c.connectionId), c.scheduledAt, oneShotStatus(c.status), c.revision, at, at);
      insertSend.run(
        oneShotSendId(id),
        id,
        c.connectionId,
        c.scheduledAt,
        c.revision,
        c.status,
        at,
        at,
        c.syncState,
        c.remoteId,
        c.syncedRevision,
        c.lastSyncedAt,
        c.syncDueAt,
        c.sentAt !== undefined ? c.sentAt : c.status === 'sent' ? c.scheduledAt : null,
      );
    }
  });
  return performance.now() - started;
}

/** A running series whose next occurrence is still far off: nothing materialised yet. */
export interface SeedSeries {
  connectionId: string;
  recurrence: Recurrence;
  nextOccurrenceAt: number;
}

/**
 * Inserts `count` running series (status scheduled, no sends yet), due for materialisation
 * `leadMs` before their next occurrence as the lifecycle computes it. Returns milliseconds taken.
 */
export function seedSeries(db: Db, count: number, make: (i: number) => SeedSeries, audienceJson: (connectionId: string) => string, createdAt: number, leadMs: number): number {
  const insert = db.$client.prepare(
    `INSERT INTO campaigns (id, name, connection_id, message, audience, scheduled_at, recurrence, status, revision, created_by, created_at, updated_at,
       occurrence_count, next_occurrence_at, series_due_at)
     VALUES (?, ?, ?, ?, ?, NULL, ?, 'scheduled', 1, 'bench', ?, ?, 0, ?, ?)`,
  );
  const message = JSON.stringify(benchMessage);
  const started = performance.now();
  db.$client.transaction(() => {
    for (let i = 0; i < count; i++) {
      const s = make(i);
      insert.run(newCampaignId(createdAt), `Bench series ${i}`, s.connectionId, message, audienceJson(s.connectionId), JSON.stringify(s.recurrence), createdAt, createdAt, s.nextOccurrenceAt, s.nextOccurrenceAt - leadMs);
    }
  })();
  return performance.now() - started;
}
