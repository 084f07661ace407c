import { and, asc, between, count, eq, gt, inArray, isNotNull, isNull, lte, ne, or, type SQL } from 'drizzle-orm';
import type { Campaign } from '../../campaigns/model.ts';
import type { PgDb, PgExecutor } from '../../db/postgres/client.ts';
import { campaigns, sends } from '../../db/postgres/schema.ts';
import type { LifecycleSettings } from '../../sends/lifecycle.ts';
import type { Send } from '../../sends/model.ts';
import type { SendStore, SendWork } from '../types.ts';
import { createPostgresFollowUpStore } from './follow-ups.ts';
import { lockSendWithCampaign, transaction, writeSendAndCampaign } from './write.ts';

/** The campaigns of these sends, by id (one query however many sends share one). */
async function campaignsOf(db: PgExecutor, rows: Send[]): Promise<Map<string, Campaign>> {
  const ids = [...new Set(rows.map((s) => s.campaignId))];
  if (ids.length === 0) return new Map();
  return new Map((await db.select().from(campaigns).where(inArray(campaigns.id, ids))).map((c) => [c.id, c]));
}

/**
 * The reconciler's side of the sends table (the twin of ../sqlite/sends.ts). A claim is short:
 * select the due sends no live lease holds, skipping rows another instance's claim has locked
 * (FOR UPDATE SKIP LOCKED), lease them, commit; the OFAuth calls come after, outside any
 * transaction, and their outcome is written under the lease.
 */
export function createPostgresSendStore(db: PgDb, settings: LifecycleSettings): SendStore {
  return {
    ...createPostgresFollowUpStore(db),

    async dueByConnection(now) {
      return db
        .select({ connectionId: sends.connectionId, due: count() })
        .from(sends)
        .where(and(isNotNull(sends.syncDueAt), lte(sends.syncDueAt, now)))
        .groupBy(sends.connectionId);
    },

    async claim({ connectionId, owner, now, leaseMs, limit, onlySendId, onlyCampaignId }) {
      return transaction(db, async (tx) => {
        const where: SQL[] = [
          eq(sends.connectionId, connectionId),
          isNotNull(sends.syncDueAt),
          lte(sends.syncDueAt, now),
          or(isNull(sends.leaseExpiresAt), lte(sends.leaseExpiresAt, now))!,
        ];
        if (onlySendId !== undefined) where.push(eq(sends.id, onlySendId));
        if (onlyCampaignId !== undefined) where.push(eq(sends.campaignId, onlyCampaignId));
        const found = await tx
          .select({ id: sends.id, leaseOwner: sends.leaseOwner })
          .from(sends)
          .where(and(...where))
          .orderBy(asc(sends.syncDueAt), asc(sends.id))
          .limit(limit)
          .for('update', { skipLocked: true });
        if (found.length === 0) return { work: [], takeovers: 0 };
        const takeovers = found.filter((c) => c.leaseOwner !== null && c.leaseOwner !== owner).length;
        const leased = await tx
          .update(sends)
          .set({ leaseOwner: owner, leaseExpiresAt: now + leaseMs })
          .where(inArray(sends.id, found.map((c) => c.id)))
          .returning();
        const byId = new Map(leased.map((s) => [s.id, s]));
        const owners = await campaignsOf(tx, leased);
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

    /* Campaign and send locked together (write.ts's lock order); the lease is checked on the locked row. */
    // Every commit here is durable (synchronous_commit on, PostgreSQL's default), so `durable`
    // needs nothing more; an operator turning it off gives up exactly-once across power loss.
    async recordOutcome(sendId, owner, now, decide, options = { release: true }) {
      return transaction(db, async (tx) => {
        const locked = await lockSendWithCampaign(tx, sendId);
        if (!locked || locked.send.leaseOwner !== owner) return null;
        const { campaign, send: fresh } = locked;
        const { changes, events = [] } = decide({ send: fresh, campaign });
        const lease = options.release ? { leaseOwner: null, leaseExpiresAt: null } : { leaseExpiresAt: now + (options.leaseMs ?? 0) };
        return writeSendAndCampaign(tx, campaign, fresh, { ...changes, ...lease }, events, now, settings);
      });
    },

    async mutateSend(sendId, now, decide) {
      return transaction(db, async (tx) => {
        // Campaign first, then the send: the lock order every writer keeps (see write.ts).
        const locked = await lockSendWithCampaign(tx, sendId);
        if (!locked) return null;
        const { campaign, send: fresh } = locked;
        const { changes, events = [] } = decide({ send: fresh, campaign });
        return writeSendAndCampaign(tx, campaign, fresh, changes, events, now, settings);
      });
    },

    async releaseLease(sendId, owner) {
      await db
        .update(sends)
        .set({ leaseOwner: null, leaseExpiresAt: null })
        .where(and(eq(sends.id, sendId), eq(sends.leaseOwner, owner)));
    },

    async siblingDueTimes(sendId, from, to) {
      const rows = await db
        .select({ dueAt: sends.dueAt })
        .from(sends)
        .where(and(eq(sends.campaignId, db.select({ campaignId: sends.campaignId }).from(sends).where(eq(sends.id, sendId))), ne(sends.id, sendId), between(sends.dueAt, from, to)));
      return rows.map((r) => r.dueAt!);
    },

    async ownersOfRemoteIds(connectionId, remoteIds) {
      if (remoteIds.length === 0) return new Map();
      const rows = await db
        .select({ id: sends.id, remoteId: sends.remoteId })
        .from(sends)
        .where(and(eq(sends.connectionId, connectionId), inArray(sends.remoteId, remoteIds)));
      return new Map(rows.map((r) => [r.remoteId!, r.id]));
    },

    async inFlight(now) {
      const [row] = await db
        .select({ n: count() })
        .from(sends)
        .where(and(isNotNull(sends.leaseOwner), gt(sends.leaseExpiresAt, now)));
      return row?.n ?? 0;
    },
  };
}
