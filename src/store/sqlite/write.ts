import { and, eq, getTableName, gte, sql } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import type { Campaign, CampaignChanges } from '../../campaigns/model.ts';
import type { Db } from '../../db/sqlite/client.ts';
import { campaignEvents, campaigns, sends } from '../../db/sqlite/schema.ts';
import type { EventSpec } from '../../events/types.ts';
import { recomputeCampaign, recomputeSend, type LifecycleSettings } from '../../sends/lifecycle.ts';
import type { Send, SendChanges } from '../../sends/model.ts';
import { isOpenSend } from '../dialect.ts';
import { followUpCheckOnSent, staleFollowUpChecks } from '../follow-up-checks.ts';
import { changesFollowUpsOwed, FOLLOW_UP_LOOK_BACK_MS } from '../../campaigns/follow-ups.ts';
import { rowDecoder, type RowDecoder } from './row-decoder.ts';
import { cachedQuery, cachedStatement, updateRowById } from './statements.ts';

/*
 * The write path every SQLite store method shares, so derived columns are recomputed in one
 * place whoever writes: callers run these inside their own transaction.
 */

/*
 * A whole row by id, read raw and decoded once per table (row-decoder.ts): drizzle's own
 * mapping allocates per cell, and the loops read a campaign and its send for every write (the
 * stats poller for every send a page lists), so that garbage set how far the heap grew.
 */
const campaignRow = rowDecoder<Campaign>(campaigns);
/** A whole send row, decoded as drizzle's select().from(sends) would (the stats store reads it too). */
export const sendRow = rowDecoder<Send>(sends);
const byIdSql = (table: SQLiteTable, decoder: RowDecoder<unknown>) => `SELECT ${decoder.selectList} FROM "${getTableName(table)}" WHERE "id" = ?`;
const campaignByIdSql = byIdSql(campaigns, campaignRow);
const sendByIdSql = byIdSql(sends, sendRow);

export function campaignById(db: Db, id: string): Campaign | undefined {
  const values = cachedStatement(db, campaignByIdSql).raw().get(id) as unknown[] | undefined;
  return values && campaignRow.decode(values, 0);
}

export function sendById(db: Db, id: string): Send | undefined {
  const values = cachedStatement(db, sendByIdSql).raw().get(id) as unknown[] | undefined;
  return values && sendRow.decode(values, 0);
}

/** The sends a campaign mutation decides on (see isOpenSend). */
export function openSendsOf(db: Db, campaignId: string): Send[] {
  const query = cachedQuery(db, 'openSendsOf', () =>
    db
      .select()
      .from(sends)
      .where(and(eq(sends.campaignId, sql.placeholder('campaignId')), isOpenSend(sends)))
      .prepare(),
  );
  return query.all({ campaignId });
}

export function appendEvents(db: Db, campaignId: string, now: number, events: EventSpec[]): void {
  if (events.length === 0) return;
  const insert = cachedStatement(db, `INSERT INTO "${getTableName(campaignEvents)}" (campaign_id, send_id, type, actor, at, data) VALUES (?, ?, ?, ?, ?, ?)`);
  for (const e of events) insert.run(campaignId, e.sendId ?? null, e.type, e.actor, now, e.data === undefined || e.data === null ? null : JSON.stringify(e.data));
}

/**
 * Writes a send's changes (recomputed) and returns the new row. `send` must have been read in
 * the caller's transaction: the result is it with the changes applied, not read back.
 */
export function writeSend(db: Db, send: Send, changes: SendChanges, now: number): Send {
  return updateRowById<Send>(db, sends, send, recomputeSend(send, changes, now));
}

/** Writes a campaign's changes after recomputing what follows from them and from its sends. */
export function writeCampaign(db: Db, campaign: Campaign, changes: CampaignChanges, settings: LifecycleSettings): Campaign {
  const derived = recomputeCampaign(campaign, changes, openSendsOf(db, campaign.id), settings);
  if (Object.keys(derived).length === 0) return campaign;
  return updateRowById<Campaign>(db, campaigns, campaign, derived);
}

/**
 * A send's changes from a loop (sync or stats), with its campaign brought in step (a one-shot
 * mirrors its send's status; a series may complete) and the events appended.
 */
export function writeSendAndCampaign(
  db: Db,
  send: Send,
  changes: SendChanges,
  events: EventSpec[],
  now: number,
  settings: LifecycleSettings,
  /** The send's campaign as read in this transaction, when the caller holds it. */
  held?: Campaign,
): { send: Send; campaign: Campaign } {
  let campaign = held ?? campaignById(db, send.campaignId);
  if (!campaign) throw new Error(`send ${send.id} has no campaign ${send.campaignId}`);
  const updated = writeSend(db, send, { ...changes, ...followUpCheckOnSent(send, changes, campaign) }, now);
  if (updated.status !== send.status) campaign = writeCampaign(db, campaign, {}, settings);
  appendEvents(db, send.campaignId, now, events);
  return { send: updated, campaign };
}


/**
 * After a campaign write that changes what its sent originals owe (follow-ups edited, stopped,
 * the campaign canceled), their follow-up checks say so: within the look-back, the only sends
 * that can still owe one.
 */
export function refreshFollowUpChecks(db: Db, before: Campaign, written: Campaign, now: number): void {
  if (!changesFollowUpsOwed(before, written)) return;
  const originals = db
    .select()
    .from(sends)
    .where(and(eq(sends.campaignId, written.id), eq(sends.status, 'sent'), gte(sends.sentAt, now - FOLLOW_UP_LOOK_BACK_MS)))
    .all();
  for (const { id, followUpCheckAt } of staleFollowUpChecks(originals, written)) {
    db.update(sends).set({ followUpCheckAt }).where(eq(sends.id, id)).run();
  }
}
