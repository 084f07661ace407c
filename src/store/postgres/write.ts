import { and, asc, eq, gte, inArray } from 'drizzle-orm';
import type { Campaign, CampaignChanges } from '../../campaigns/model.ts';
import type { PgDb, PgExecutor, PgTx } from '../../db/postgres/client.ts';
import { campaignEvents, campaigns, sends } from '../../db/postgres/schema.ts';
import type { EventSpec } from '../../events/types.ts';
import { recomputeCampaign, recomputeSend, type LifecycleSettings } from '../../sends/lifecycle.ts';
import type { Send, SendChanges } from '../../sends/model.ts';
import { isOpenSend } from '../dialect.ts';
import { followUpCheckOnSent, staleFollowUpChecks } from '../follow-up-checks.ts';
import { changesFollowUpsOwed, FOLLOW_UP_LOOK_BACK_MS } from '../../campaigns/follow-ups.ts';

/*
 * The write path every PostgreSQL store method shares (the twin of ../sqlite/write.ts), so
 * derived columns are recomputed in one place whoever writes. Callers run these inside
 * `transaction` below.
 *
 * Lock order: a transaction that writes a send and may recompute its campaign locks the campaign
 * row first (lockCampaign), then the sends, in id order. Every writer keeps that order, so two
 * writers can wait on each other but never in a cycle; claims never wait at all (SKIP LOCKED).
 */

/** deadlock_detected and serialization_failure: the transaction did nothing and may run again. */
const RETRYABLE = new Set(['40P01', '40001']);
const MAX_TRIES = 3;

/**
 * Runs `fn` in one READ COMMITTED transaction, again (up to three times in all) when PostgreSQL
 * ends it as a deadlock victim. `fn` must be safe to repeat: everything it decides comes from
 * what it reads inside the transaction.
 */
export async function transaction<T>(db: PgDb, fn: (tx: PgTx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(fn);
    } catch (error) {
      const code = (error as { code?: string; cause?: { code?: string } }).code ?? (error as { cause?: { code?: string } }).cause?.code;
      if (attempt >= MAX_TRIES || code === undefined || !RETRYABLE.has(code)) throw error;
    }
  }
}

export async function campaignById(db: PgExecutor, id: string): Promise<Campaign | undefined> {
  const [row] = await db.select().from(campaigns).where(eq(campaigns.id, id));
  return row;
}

/** The campaign, locked until the transaction ends. */
export async function lockCampaign(tx: PgTx, id: string): Promise<Campaign | undefined> {
  const [row] = await tx.select().from(campaigns).where(eq(campaigns.id, id)).for('update');
  return row;
}

/** These campaigns, locked in id order (the lock order). */
export async function lockCampaigns(tx: PgTx, ids: string[]): Promise<Map<string, Campaign>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.select().from(campaigns).where(inArray(campaigns.id, ids)).orderBy(asc(campaigns.id)).for('update');
  return new Map(rows.map((c) => [c.id, c]));
}

export async function sendById(db: PgExecutor, id: string): Promise<Send | undefined> {
  const [row] = await db.select().from(sends).where(eq(sends.id, id));
  return row;
}

/** The send, locked; take its campaign's lock first. */
export async function lockSend(tx: PgTx, id: string): Promise<Send | undefined> {
  const [row] = await tx.select().from(sends).where(eq(sends.id, id)).for('update');
  return row;
}

/** The sends a campaign mutation decides on (see isOpenSend); locked in id order when `lock`. */
export async function openSendsOf(db: PgExecutor, campaignId: string, options: { lock?: boolean } = {}): Promise<Send[]> {
  const query = db
    .select()
    .from(sends)
    .where(and(eq(sends.campaignId, campaignId), isOpenSend(sends)))
    .orderBy(asc(sends.id));
  return options.lock ? query.for('update') : query;
}

export async function appendEvents(db: PgExecutor, campaignId: string, now: number, events: EventSpec[]): Promise<void> {
  if (events.length === 0) return;
  await db.insert(campaignEvents).values(events.map((e) => ({ campaignId, sendId: e.sendId ?? null, type: e.type, actor: e.actor, at: now, data: e.data ?? null })));
}

/** Writes a send's changes (recomputed) and returns the new row. */
export async function writeSend(db: PgExecutor, send: Send, changes: SendChanges, now: number): Promise<Send> {
  const [row] = await db.update(sends).set(recomputeSend(send, changes, now)).where(eq(sends.id, send.id)).returning();
  if (!row) throw new Error(`send ${send.id} vanished during an update`);
  return row;
}

/** Writes a campaign's changes after recomputing what follows from them and from its sends. */
export async function writeCampaign(db: PgExecutor, campaign: Campaign, changes: CampaignChanges, settings: LifecycleSettings): Promise<Campaign> {
  const derived = recomputeCampaign(campaign, changes, await openSendsOf(db, campaign.id), settings);
  if (Object.keys(derived).length === 0) return campaign;
  const [row] = await db.update(campaigns).set(derived).where(eq(campaigns.id, campaign.id)).returning();
  if (!row) throw new Error(`campaign ${campaign.id} vanished during an update`);
  return row;
}

/**
 * A send's changes from a loop (sync or stats), with its campaign (locked by the caller, as it
 * is now) brought in step and the events appended.
 */
export async function writeSendAndCampaign(
  tx: PgTx,
  campaign: Campaign,
  send: Send,
  changes: SendChanges,
  events: EventSpec[],
  now: number,
  settings: LifecycleSettings,
): Promise<{ send: Send; campaign: Campaign }> {
  const updated = await writeSend(tx, send, { ...changes, ...followUpCheckOnSent(send, changes, campaign) }, now);
  const written = updated.status !== send.status ? await writeCampaign(tx, campaign, {}, settings) : campaign;
  await appendEvents(tx, send.campaignId, now, events);
  return { send: updated, campaign: written };
}

/**
 * After a campaign write that changes what its sent originals owe (follow-ups edited, stopped,
 * the campaign canceled), their follow-up checks say so: within the look-back, the only sends
 * that can still owe one.
 */
export async function refreshFollowUpChecks(tx: PgTx, before: Campaign, written: Campaign, now: number): Promise<void> {
  if (!changesFollowUpsOwed(before, written)) return;
  const originals = await tx
    .select()
    .from(sends)
    .where(and(eq(sends.campaignId, written.id), eq(sends.status, 'sent'), gte(sends.sentAt, now - FOLLOW_UP_LOOK_BACK_MS)));
  for (const { id, followUpCheckAt } of staleFollowUpChecks(originals, written)) {
    await tx.update(sends).set({ followUpCheckAt }).where(eq(sends.id, id));
  }
}
