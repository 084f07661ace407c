import { and, eq, inArray, isNotNull, lte, sql } from 'drizzle-orm';
import type { Campaign } from '../../campaigns/model.ts';
import type { Db } from '../../db/sqlite/client.ts';
import { campaigns, sends } from '../../db/sqlite/schema.ts';
import type { LifecycleSettings } from '../../sends/lifecycle.ts';
import type { Send } from '../../sends/model.ts';
import type { SendStore, SendWork } from '../types.ts';
import { sqliteWriterOf } from './durability.ts';
import { createSqliteFollowUpStore } from './follow-ups.ts';
import { cachedStatement } from './statements.ts';
import { campaignById, sendById, writeSendAndCampaign } from './write.ts';

/**
 * The reconciler's side of the sends table: leasing due sends, and writing what an attempt
 * learned under that lease. Writes go through write.ts, so a one-shot campaign keeps mirroring
 * its send and derived columns are recomputed by the lifecycle.
 */
export function createSqliteSendStore(db: Db, settings: LifecycleSettings): SendStore {
  // Claims, leases and outcomes are bookkeeping; only a create intent waits for the disk (see durability.ts).
  const writer = sqliteWriterOf(db);

  // Raw SQL on purpose: the partial index sends_due_idx (connection_id, sync_due_at) serves it,
  // and the optional filters are bound as NULL-or-value so there is one statement for every call.
  const candidates = db.$client.prepare<[string, number, number, string | null, string | null, string | null, string | null, number], { id: string; leaseOwner: string | null }>(
    `SELECT id, lease_owner AS leaseOwner FROM sends
     WHERE connection_id = ? AND sync_due_at IS NOT NULL AND sync_due_at <= ?
       AND (lease_expires_at IS NULL OR lease_expires_at <= ?)
       AND (? IS NULL OR id = ?)
       AND (? IS NULL OR campaign_id = ?)
     ORDER BY sync_due_at LIMIT ? + 0`,
  ); // LIMIT ? + 0, not a bare ?: prepared once, not again at each claim (see reusableLimit)

  const siblingDueTimes = db.$client.prepare<[string, string, number, number], { dueAt: number }>(
    `SELECT due_at AS dueAt FROM sends
     WHERE campaign_id = (SELECT campaign_id FROM sends WHERE id = ?) AND id <> ?
       AND due_at BETWEEN ? AND ?`,
  );

  /** The campaigns of these sends, by id (one query however many sends share one). */
  function campaignsOf(rows: Send[]): Map<string, Campaign> {
    const ids = [...new Set(rows.map((s) => s.campaignId))];
    if (ids.length === 0) return new Map();
    return new Map(db.select().from(campaigns).where(inArray(campaigns.id, ids)).all().map((c) => [c.id, c]));
  }

  return {
    ...createSqliteFollowUpStore(db),

    async dueByConnection(now) {
      return db
        .select({ connectionId: sends.connectionId, due: sql<number>`count(*)` })
        .from(sends)
        .where(and(isNotNull(sends.syncDueAt), lte(sends.syncDueAt, now)))
        .groupBy(sends.connectionId)
        .all();
    },

    /*
     * One IMMEDIATE transaction takes the write lock before reading, so two processes can never
     * both see a send as free: the second waits, then finds it leased. A lease whose owner died
     * has expired and is taken over (counted, so operators see crashes).
     */
    async claim({ connectionId, owner, now, leaseMs, limit, onlySendId, onlyCampaignId }) {
      return writer.writeNow(() => {
        const found = candidates.all(connectionId, now, now, onlySendId ?? null, onlySendId ?? null, onlyCampaignId ?? null, onlyCampaignId ?? null, limit);
        if (found.length === 0) return { work: [], takeovers: 0 };
        const takeovers = found.filter((c) => c.leaseOwner !== null && c.leaseOwner !== owner).length;
        const leased = db
          .update(sends)
          .set({ leaseOwner: owner, leaseExpiresAt: now + leaseMs })
          .where(inArray(sends.id, found.map((c) => c.id)))
          .returning()
          .all();
        const byId = new Map(leased.map((s) => [s.id, s]));
        const owners = campaignsOf(leased);
        const work: SendWork[] = [];
        // Oldest due first, as selected (RETURNING order is not specified).
        for (const { id } of found) {
          const send = byId.get(id);
          const campaign = send && owners.get(send.campaignId);
          if (!send || !campaign) throw new Error(`send ${id} has no campaign`);
          work.push({ send, campaign });
        }
        return { work, takeovers };
      });
    },

    async recordOutcome(sendId, owner, now, decide, options = { release: true }) {
      return writer.write(options.durable === true ? 'durable' : 'bookkeeping', () => {
        const fresh = sendById(db, sendId);
        if (!fresh || fresh.leaseOwner !== owner) return null;
        const campaign = campaignById(db, fresh.campaignId);
        if (!campaign) return null;
        const { changes, events = [] } = decide({ send: fresh, campaign });
        const lease = options.release ? { leaseOwner: null, leaseExpiresAt: null } : { leaseExpiresAt: now + (options.leaseMs ?? 0) };
        return writeSendAndCampaign(db, fresh, { ...changes, ...lease }, events, now, settings, campaign);
      });
    },

    async mutateSend(sendId, now, decide) {
      // A marketer's request: durable, as the answer tells them it was taken.
      return writer.write('durable', () => {
        const fresh = sendById(db, sendId);
        const campaign = fresh && campaignById(db, fresh.campaignId);
        if (!fresh || !campaign) return null;
        const { changes, events = [] } = decide({ send: fresh, campaign });
        return writeSendAndCampaign(db, fresh, changes, events, now, settings);
      });
    },

    async releaseLease(sendId, owner) {
      writer.writeNow(() => cachedStatement(db, 'UPDATE sends SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?').run(sendId, owner));
    },

    async siblingDueTimes(sendId, from, to) {
      return siblingDueTimes.all(sendId, sendId, from, to).map((r) => r.dueAt);
    },

    async ownersOfRemoteIds(connectionId, remoteIds) {
      if (remoteIds.length === 0) return new Map();
      const rows = db
        .select({ id: sends.id, remoteId: sends.remoteId })
        .from(sends)
        .where(and(eq(sends.connectionId, connectionId), inArray(sends.remoteId, remoteIds)))
        .all();
      return new Map(rows.map((r) => [r.remoteId!, r.id]));
    },

    async inFlight(now) {
      const row = db
        .select({ n: sql<number>`count(*)` })
        .from(sends)
        .where(and(isNotNull(sends.leaseOwner), sql`${sends.leaseExpiresAt} > ${now}`))
        .get();
      return row?.n ?? 0;
    },
  };
}
