import { and, asc, eq, getTableColumns, getTableName, gte, inArray, sql, type Table } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import type { Campaign, CampaignChanges } from '../../campaigns/model.ts';
import type { PgDb, PgExecutor, PgTx } from '../../db/postgres/client.ts';
import { campaignEvents, campaigns, sends } from '../../db/postgres/schema.ts';
import type { EventSpec } from '../../events/types.ts';
import { recomputeCampaign, recomputeSend, type LifecycleSettings, type SendForCampaign } from '../../sends/lifecycle.ts';
import { preparedSelect } from './prepared.ts';
import { driverValue, pgRowDecoder, runStatement, statementCache, type Statement } from './statements.ts';
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

/** Whether PostgreSQL ended the transaction as a deadlock victim or a serialization failure (nothing done; may run again). */
export function isRetryable(error: unknown): boolean {
  const code = (error as { code?: string; cause?: { code?: string } }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  return code !== undefined && RETRYABLE.has(code);
}

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
      if (attempt >= MAX_TRIES || !isRetryable(error)) throw error;
    }
  }
}

export async function campaignById(db: PgExecutor, id: string): Promise<Campaign | undefined> {
  const [row] = await db.select().from(campaigns).where(eq(campaigns.id, id));
  return row;
}

/** Whole sends and campaigns out of raw rows (the hot statements' own decoding, see ./statements.ts). */
export const SEND_ROW = pgRowDecoder<Send>(sends);
export const CAMPAIGN_ROW = pgRowDecoder<Campaign>(campaigns);

/* Written once and run as a named statement (./statements.ts): a sync step runs it twice. */
const selectSendWithCampaignForUpdate: Statement = {
  name: 'fanout_lock_send_and_campaign',
  text: `SELECT ${CAMPAIGN_ROW.selectList('campaigns')}, ${SEND_ROW.selectList('sends')} FROM "campaigns" INNER JOIN "sends" ON "sends"."campaign_id" = "campaigns"."id" WHERE "sends"."id" = $1 FOR UPDATE`,
};

/**
 * A send and its campaign, both locked until the transaction ends, in one statement (one round
 * trip where a peek, a campaign lock and a send lock took three). The lock order holds: a
 * statement locks its FOR UPDATE rows in the order of its FROM list, campaign then send
 * (test/store/postgres-locks.test.ts shows it); a deadlock would still only cost a retry.
 */
export async function lockSendWithCampaign(tx: PgTx, sendId: string): Promise<{ campaign: Campaign; send: Send } | undefined> {
  const [row] = (await runStatement(tx, selectSendWithCampaignForUpdate, [sendId])).rows;
  return row && { campaign: CAMPAIGN_ROW.decode(row, 0), send: SEND_ROW.decode(row, CAMPAIGN_ROW.width) };
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
export const SEND_JSONB = jsonbKeysOf(sends);
export const CAMPAIGN_JSONB = jsonbKeysOf(campaigns);

/**
 * The row as an UPDATE setting `set` leaves it, given the row as this transaction locked and read
 * it: what RETURNING would answer, without building, sending and parsing every column again (a
 * sync step writes two sends and a campaign; on PostgreSQL that was a third of its client CPU).
 * Undefined keys are not written, as drizzle skips them; jsonb values are as PostgreSQL keeps them
 * (JSON: an undefined member is gone).
 */
export function asUpdated<T extends object>(locked: T, set: object, jsonbKeys: ReadonlySet<string>): T {
  const row = { ...locked } as Record<string, unknown>;
  for (const [key, value] of Object.entries(set)) {
    if (value === undefined) continue;
    row[key] = value !== null && jsonbKeys.has(key) ? JSON.parse(JSON.stringify(value)) : value;
  }
  return row as T;
}

export const columnOf = (table: Table, key: string): PgColumn => {
  const column = (getTableColumns(table) as Record<string, PgColumn | undefined>)[key];
  if (!column) throw new Error(`no column ${key}`);
  return column;
};

/** The keys `set` writes (drizzle skips undefined ones too) and their driver values, in one order. */
export function assignmentsOf(table: Table, set: object): { keys: string[]; values: unknown[] } {
  const keys: string[] = [];
  const values: unknown[] = [];
  for (const [key, value] of Object.entries(set)) {
    if (value === undefined) continue;
    keys.push(key);
    values.push(driverValue(columnOf(table, key), value));
  }
  return { keys, values };
}

const sendUpdates = statementCache('fanout_send_update');
const campaignUpdates = statementCache('fanout_campaign_update');
const EVENT_COLUMNS = ['campaignId', 'sendId', 'type', 'actor', 'at', 'data'].map((key) => `"${columnOf(campaignEvents, key).name}"`).join(', ');

/** `UPDATE table SET <keys> = $2… WHERE id = $1`, its text built once per column list. */
export function updateByIdText(table: Table, keys: string[]): string {
  const assignments = keys.map((key, i) => `"${columnOf(table, key).name}" = $${i + 2}`).join(', ');
  return `UPDATE "${getTableName(table)}" SET ${assignments} WHERE "id" = $1`;
}

/**
 * An INSERT of events whose parameters start at $first (see eventValues), run only when `onlyIf`
 * holds. The events' columns are arrays, so one text serves any number of events; WITH
 * ORDINALITY keeps their order, which their ids record.
 */
export function eventsInsertText(first: number, onlyIf = 'TRUE'): string {
  return (
    `INSERT INTO "campaign_events" (${EVENT_COLUMNS}) ` +
    `SELECT $${first}::text, e.send_id, e.type, e.actor, $${first + 1}::bigint, e.data ` +
    `FROM unnest($${first + 2}::text[], $${first + 3}::text[], $${first + 4}::text[], $${first + 5}::jsonb[]) WITH ORDINALITY AS e(send_id, type, actor, data, ord) ` +
    `WHERE ${onlyIf} ORDER BY e.ord`
  );
}

/**
 * The send update, with its events appended by a CTE when there are any (one round trip for
 * both; PostgreSQL runs a data-modifying CTE once, read or not, and a vanished send rolls both
 * back).
 */
function sendUpdate(keys: string[], hasEvents: boolean): Statement {
  return sendUpdates(`${hasEvents ? 'events' : 'alone'}:${keys.join(',')}`, () => {
    const update = updateByIdText(sends, keys);
    return hasEvents ? `WITH "appended" AS (${eventsInsertText(keys.length + 2)}) ${update}` : update;
  });
}

/** The parameters of eventsInsertText, in its order. */
export const eventValues = (campaignId: string, now: number, events: EventSpec[]) => [
  campaignId,
  now,
  events.map((e) => e.sendId ?? null),
  events.map((e) => e.type),
  events.map((e) => e.actor),
  events.map((e) => (e.data === undefined || e.data === null ? null : JSON.stringify(e.data))),
];

/**
 * Writes a send's changes (recomputed) and `events` (appended to its campaign's), and returns the
 * new row. `send` must be the row as this transaction locked it (FOR UPDATE), or inserted it:
 * the new row is derived from it.
 */
export async function writeSend(db: PgExecutor, send: Send, changes: SendChanges, now: number, events: EventSpec[] = []): Promise<Send> {
  const set = recomputeSend(send, changes, now);
  const { keys, values } = assignmentsOf(sends, set);
  const hasEvents = events.length > 0;
  const result = await runStatement(db, sendUpdate(keys, hasEvents), [send.id, ...values, ...(hasEvents ? eventValues(send.campaignId, now, events) : [])]);
  if (result.rowCount === 0) throw new Error(`send ${send.id} vanished during an update`);
  return asUpdated(send, set, SEND_JSONB);
}

/** What the campaign recompute reads of its open sends, no more: a full row costs far more to build and parse. */
export const selectOpenSendStatuses = preparedSelect<SendForCampaign>('fanout_open_send_statuses', { kind: sends.kind, status: sends.status, reason: sends.reason }, (select) =>
  select.from(sends).where(and(eq(sends.campaignId, sql.placeholder('campaignId')), isOpenSend(sends))),
);

/**
 * Writes a campaign's changes after recomputing what follows from them and from its sends.
 * `campaign` must be the row as this transaction locked (or inserted) it, as for writeSend.
 */
export async function writeCampaign(db: PgExecutor, campaign: Campaign, changes: CampaignChanges, settings: LifecycleSettings): Promise<Campaign> {
  const derived = recomputeCampaign(campaign, changes, await selectOpenSendStatuses(db, { campaignId: campaign.id }), settings);
  const { keys, values } = assignmentsOf(campaigns, derived);
  if (keys.length === 0) return campaign;
  const statement = campaignUpdates(keys.join(','), () => updateByIdText(campaigns, keys));
  const result = await runStatement(db, statement, [campaign.id, ...values]);
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
