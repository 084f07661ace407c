import { and, asc, eq, getTableColumns, gte, inArray, sql, type Table } from 'drizzle-orm';
import type { Campaign, CampaignChanges } from '../../campaigns/model.ts';
import type { PgDb, PgExecutor, PgTx } from '../../db/postgres/client.ts';
import { campaignEvents, campaigns, sends } from '../../db/postgres/schema.ts';
import type { EventSpec } from '../../events/types.ts';
import { recomputeCampaign, recomputeSend, type LifecycleSettings, type SendForCampaign } from '../../sends/lifecycle.ts';
import { preparedSelect } from './prepared.ts';
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

/* Built once and run as a named statement (./prepared.ts): a sync step runs it twice. */
const selectSendWithCampaignForUpdate = preparedSelect<{ campaign: Campaign; send: Send }>('fanout_lock_send_with_campaign', { campaign: campaigns, send: sends }, (select) =>
  select
    .from(campaigns)
    .innerJoin(sends, eq(sends.campaignId, campaigns.id))
    .where(eq(sends.id, sql.placeholder('sendId')))
    .for('update'),
);

/**
 * A send and its campaign, both locked until the transaction ends, in one statement (one round
 * trip where a peek, a campaign lock and a send lock took three). The lock order holds: a
 * statement locks its FOR UPDATE rows in the order of its FROM list, campaign then send
 * (test/store/postgres-locks.test.ts shows it); a deadlock would still only cost a retry.
 */
export async function lockSendWithCampaign(tx: PgTx, sendId: string): Promise<{ campaign: Campaign; send: Send } | undefined> {
  const [row] = await selectSendWithCampaignForUpdate(tx, { sendId });
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

const eventsInsert = (db: PgExecutor, campaignId: string, now: number, events: EventSpec[]) =>
  db.insert(campaignEvents).values(events.map((e) => ({ campaignId, sendId: e.sendId ?? null, type: e.type, actor: e.actor, at: now, data: e.data ?? null })));

export async function appendEvents(db: PgExecutor, campaignId: string, now: number, events: EventSpec[]): Promise<void> {
  if (events.length === 0) return;
  await eventsInsert(db, campaignId, now, events);
}

const jsonbKeysOf = (table: Table) => new Set(Object.entries(getTableColumns(table)).filter(([, column]) => column.columnType === 'PgJsonb').map(([key]) => key));
const SEND_JSONB = jsonbKeysOf(sends);
const CAMPAIGN_JSONB = jsonbKeysOf(campaigns);

/**
 * The row as an UPDATE setting `set` leaves it, given the row as this transaction locked and read
 * it: what RETURNING would answer, without building, sending and parsing every column again (a
 * sync step writes two sends and a campaign; on PostgreSQL that was a third of its client CPU).
 * Undefined keys are not written, as drizzle skips them; jsonb values are as PostgreSQL keeps them
 * (JSON: an undefined member is gone).
 */
function asUpdated<T extends object>(locked: T, set: object, jsonbKeys: ReadonlySet<string>): T {
  const row = { ...locked } as Record<string, unknown>;
  for (const [key, value] of Object.entries(set)) {
    if (value === undefined) continue;
    row[key] = value !== null && jsonbKeys.has(key) ? JSON.parse(JSON.stringify(value)) : value;
  }
  return row as T;
}

/**
 * Writes a send's changes (recomputed) and `events` (appended to its campaign's), and returns the
 * new row. `send` must be the row as this transaction locked it (FOR UPDATE), or inserted it:
 * the new row is derived from it.
 */
export async function writeSend(db: PgExecutor, send: Send, changes: SendChanges, now: number, events: EventSpec[] = []): Promise<Send> {
  const set = recomputeSend(send, changes, now);
  // Events about the send (its campaign's) go in as the update's CTE: one round trip for both.
  // PostgreSQL runs a data-modifying CTE once, read or not; a vanished send rolls both back.
  const update = events.length === 0 ? db.update(sends) : db.with(db.$with('appended').as(eventsInsert(db, send.campaignId, now, events).returning({ id: campaignEvents.id }))).update(sends);
  const result = await update.set(set).where(eq(sends.id, send.id));
  if (result.rowCount === 0) throw new Error(`send ${send.id} vanished during an update`);
  return asUpdated(send, set, SEND_JSONB);
}

/** What the campaign recompute reads of its open sends, no more: a full row costs far more to build and parse. */
const selectOpenSendStatuses = preparedSelect<SendForCampaign>('fanout_open_send_statuses', { kind: sends.kind, status: sends.status, reason: sends.reason }, (select) =>
  select.from(sends).where(and(eq(sends.campaignId, sql.placeholder('campaignId')), isOpenSend(sends))),
);

/**
 * Writes a campaign's changes after recomputing what follows from them and from its sends.
 * `campaign` must be the row as this transaction locked (or inserted) it, as for writeSend.
 */
export async function writeCampaign(db: PgExecutor, campaign: Campaign, changes: CampaignChanges, settings: LifecycleSettings): Promise<Campaign> {
  const derived = recomputeCampaign(campaign, changes, await selectOpenSendStatuses(db, { campaignId: campaign.id }), settings);
  if (Object.keys(derived).length === 0) return campaign;
  const result = await db.update(campaigns).set(derived).where(eq(campaigns.id, campaign.id));
  if (result.rowCount === 0) throw new Error(`campaign ${campaign.id} vanished during an update`);
  return asUpdated(campaign, derived, CAMPAIGN_JSONB);
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
  const updated = await writeSend(tx, send, { ...changes, ...followUpCheckOnSent(send, changes, campaign) }, now, events);
  const written = updated.status !== send.status ? await writeCampaign(tx, campaign, {}, settings) : campaign;
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
