import { and, eq, notInArray, or } from 'drizzle-orm';
import type { Campaign, CampaignChanges } from '../../campaigns/model.ts';
import type { Db } from '../../db/sqlite/client.ts';
import { campaignEvents, campaigns, sends } from '../../db/sqlite/schema.ts';
import type { EventSpec } from '../../events/types.ts';
import { recomputeCampaign, recomputeSend, type LifecycleSettings } from '../../sends/lifecycle.ts';
import { FINAL_SEND_STATUSES, type Send, type SendChanges } from '../../sends/model.ts';

/*
 * The write path every SQLite store method shares, so derived columns are recomputed in one
 * place whoever writes: callers run these inside their own transaction.
 */

export function campaignById(db: Db, id: string): Campaign | undefined {
  return db.select().from(campaigns).where(eq(campaigns.id, id)).get();
}

export function sendById(db: Db, id: string): Send | undefined {
  return db.select().from(sends).where(eq(sends.id, id)).get();
}

/** Sends that can still change, plus a one-shot's send whatever its status. */
export function openSendsOf(db: Db, campaignId: string): Send[] {
  return db
    .select()
    .from(sends)
    .where(and(eq(sends.campaignId, campaignId), or(notInArray(sends.status, [...FINAL_SEND_STATUSES]), eq(sends.kind, 'scheduled'))))
    .all();
}

export function appendEvents(db: Db, campaignId: string, now: number, events: EventSpec[]): void {
  if (events.length === 0) return;
  db.insert(campaignEvents)
    .values(events.map((e) => ({ campaignId, sendId: e.sendId ?? null, type: e.type, actor: e.actor, at: now, data: e.data ?? null })))
    .run();
}

/** Writes a send's changes (recomputed) and returns the new row. */
export function writeSend(db: Db, send: Send, changes: SendChanges, now: number): Send {
  const row = db.update(sends).set(recomputeSend(send, changes, now)).where(eq(sends.id, send.id)).returning().get();
  if (!row) throw new Error(`send ${send.id} vanished during an update`);
  return row;
}

/** Writes a campaign's changes after recomputing what follows from them and from its sends. */
export function writeCampaign(db: Db, campaign: Campaign, changes: CampaignChanges, settings: LifecycleSettings): Campaign {
  const derived = recomputeCampaign(campaign, changes, openSendsOf(db, campaign.id), settings);
  if (Object.keys(derived).length === 0) return campaign;
  const row = db.update(campaigns).set(derived).where(eq(campaigns.id, campaign.id)).returning().get();
  if (!row) throw new Error(`campaign ${campaign.id} vanished during an update`);
  return row;
}

/**
 * A send's changes from a loop (sync or stats), with its campaign brought in step (a one-shot
 * mirrors its send's status; a series may complete) and the events appended.
 */
export function writeSendAndCampaign(db: Db, send: Send, changes: SendChanges, events: EventSpec[], now: number, settings: LifecycleSettings): { send: Send; campaign: Campaign } {
  const updated = writeSend(db, send, changes, now);
  let campaign = campaignById(db, send.campaignId);
  if (!campaign) throw new Error(`send ${send.id} has no campaign ${send.campaignId}`);
  if (updated.status !== send.status) campaign = writeCampaign(db, campaign, {}, settings);
  appendEvents(db, send.campaignId, now, events);
  return { send: updated, campaign };
}

