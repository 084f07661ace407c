import { and, between, count, eq, gt, inArray, isNotNull, lte, ne } from 'drizzle-orm';
import type { PgDb } from '../../db/postgres/client.ts';
import { sends } from '../../db/postgres/schema.ts';
import type { LifecycleSettings } from '../../sends/lifecycle.ts';
import type { SendStore, SendWork } from '../types.ts';
import { createPostgresFollowUpStore } from './follow-ups.ts';
import { createSeenRows, writeOutcomeIfUnchanged } from './outcome-write.ts';
import { runStatement, statementCache, type Statement } from './statements.ts';
import { CAMPAIGN_ROW, lockSendWithCampaign, SEND_ROW, transaction, writeSendAndCampaign } from './write.ts';

/**
 * A claim in one statement (one round trip, where a transaction of select, update and campaign
 * read took five): the due sends no live lease holds, oldest due first, skipping rows another
 * claim has locked (FOR UPDATE SKIP LOCKED), leased, and returned with their campaigns and the
 * lease owner each had before (a takeover when it was another's), and both rows' versions (see
 * ./outcome-write.ts). The lease update sets the lease columns alone, so the leased rows
 * sort as found. $1 connection, $2 now, $3 limit, $4 owner, $5 lease end, then the send and the
 * campaign a forced sync is limited to.
 */
function claimText(onlySend: boolean, onlyCampaign: boolean): string {
  const only = [onlySend ? ' AND "id" = $6' : '', onlyCampaign ? ` AND "campaign_id" = $${onlySend ? 7 : 6}` : ''].join('');
  return (
    'WITH "found" AS (SELECT "id", "lease_owner" FROM "sends" ' +
    'WHERE "connection_id" = $1 AND "sync_due_at" IS NOT NULL AND "sync_due_at" <= $2 AND ("lease_expires_at" IS NULL OR "lease_expires_at" <= $2)' +
    only +
    ' ORDER BY "sync_due_at", "id" LIMIT $3 FOR UPDATE SKIP LOCKED), ' +
    '"leased" AS (UPDATE "sends" SET "lease_owner" = $4, "lease_expires_at" = $5 FROM "found" WHERE "sends"."id" = "found"."id" ' +
    `RETURNING ${SEND_ROW.selectList('sends')}, "found"."lease_owner" AS "previous_owner", "sends"."xmin"::text AS "send_version") ` +
    `SELECT ${SEND_ROW.selectList('leased')}, ${CAMPAIGN_ROW.selectList('campaigns')}, "leased"."previous_owner", "leased"."send_version", "campaigns"."xmin"::text ` +
    'FROM "leased" LEFT JOIN "campaigns" ON "campaigns"."id" = "leased"."campaign_id" ORDER BY "leased"."sync_due_at", "leased"."id"'
  );
}

const claimStatements = statementCache('fanout_claim');
const claimStatement = (onlySend: boolean, onlyCampaign: boolean): Statement => claimStatements(`${onlySend}:${onlyCampaign}`, () => claimText(onlySend, onlyCampaign));

/**
 * The reconciler's side of the sends table (the twin of ../sqlite/sends.ts). A claim is short:
 * select the due sends no live lease holds, skipping rows another instance's claim has locked
 * (FOR UPDATE SKIP LOCKED), lease them, commit; the OFAuth calls come after, outside any
 * transaction, and their outcome is written under the lease.
 */
export function createPostgresSendStore(db: PgDb, settings: LifecycleSettings): SendStore {
  const seen = createSeenRows();
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
      const values: unknown[] = [connectionId, now, limit, owner, now + leaseMs];
      if (onlySendId !== undefined) values.push(onlySendId);
      if (onlyCampaignId !== undefined) values.push(onlyCampaignId);
      const { rows } = await runStatement(db, claimStatement(onlySendId !== undefined, onlyCampaignId !== undefined), values);
      let takeovers = 0;
      const work = rows.map((row): SendWork => {
        const send = SEND_ROW.decode(row, 0);
        const campaign = CAMPAIGN_ROW.decode(row, SEND_ROW.width);
        if (campaign.id === null) throw new Error(`send ${send.id} has no campaign`);
        const [previousOwner, sendVersion, campaignVersion] = row.slice(SEND_ROW.width + CAMPAIGN_ROW.width) as [string | null, string, string];
        if (previousOwner !== null && previousOwner !== owner) takeovers++;
        seen.remember({ send, campaign, sendVersion, campaignVersion });
        return { send, campaign };
      });
      return { work, takeovers };
    },

    /*
     * The rows as the claim (or this owner's last write here) left them are written in one
     * statement when unchanged since (./outcome-write.ts); otherwise campaign and send are locked
     * together (write.ts's lock order), the lease checked on the locked row, and decided afresh.
     */
    // Every commit here is durable (synchronous_commit on, PostgreSQL's default), so `durable`
    // needs nothing more; an operator turning it off gives up exactly-once across power loss.
    async recordOutcome(sendId, owner, now, decide, options = { release: true }) {
      const lease = options.release ? { leaseOwner: null, leaseExpiresAt: null } : { leaseExpiresAt: now + (options.leaseMs ?? 0) };
      const last = seen.get(sendId);
      seen.forget(sendId);
      const written = last && (await writeOutcomeIfUnchanged(db, last, owner, now, decide, lease, settings));
      if (written) {
        if (!options.release) seen.remember(written);
        return { send: written.send, campaign: written.campaign };
      }
      return transaction(db, async (tx) => {
        const locked = await lockSendWithCampaign(tx, sendId);
        if (!locked || locked.send.leaseOwner !== owner) return null;
        const { campaign, send: fresh } = locked;
        const { changes, events = [] } = decide({ send: fresh, campaign });
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
      seen.forget(sendId);
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
