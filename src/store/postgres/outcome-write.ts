import type { Campaign } from '../../campaigns/model.ts';
import type { PgDb } from '../../db/postgres/client.ts';
import { campaigns, sends } from '../../db/postgres/schema.ts';
import type { EventSpec } from '../../events/types.ts';
import { recomputeCampaign, recomputeSend, type LifecycleSettings } from '../../sends/lifecycle.ts';
import type { Send, SendChanges } from '../../sends/model.ts';
import { followUpCheckOnSent } from '../follow-up-checks.ts';
import type { SendWork } from '../types.ts';
import { runStatement, statementCache, type Statement } from './statements.ts';
import { asUpdated, assignmentsOf, CAMPAIGN_JSONB, columnOf, eventsInsertText, eventValues, isRetryable, SEND_JSONB } from './write.ts';

/*
 * A sync step's outcome written in one statement, without a transaction of its own, when the send
 * and its campaign are as this instance last read or wrote them. A step writes twice per create
 * (the intent, then the remote id), and the locking way (BEGIN, lock both rows, write, COMMIT)
 * is four to six round trips each: on the benchmark's two CPUs, the client and server time of
 * those round trips was what the sync waited on.
 *
 * "As last seen" is told by each row's xmin, the id of the transaction that wrote its current
 * version: any write by anyone since gives the row a new version and a new xmin. The statement
 * locks the campaign only if its xmin is still the one seen, then updates the send only if its
 * xmin is too and the lease is still this owner's; the campaign's update and the events depend
 * on that update. So either the decision was made on exactly the rows as they are, under the
 * same locks the locking way takes (campaign, then send), or nothing is written and the caller
 * takes the locking way. A lock wait ends in a re-check of the newest row version (READ
 * COMMITTED), so a writer that committed meanwhile makes the check fail, never slip past it.
 */

/** A send and its campaign as this instance last read or wrote them, with their row versions (xmin). */
export interface SeenRows {
  send: Send;
  campaign: Campaign;
  sendVersion: string;
  campaignVersion: string;
}

/**
 * The rows of the sends this instance holds leases on, as it last saw them. Stale entries cost
 * only a failed check; the bound keeps leases lost without a release (a crash of a step) from
 * growing it.
 */
export function createSeenRows(max = 10_000) {
  const rows = new Map<string, SeenRows>();
  return {
    get: (sendId: string) => rows.get(sendId),
    remember(seen: SeenRows) {
      rows.delete(seen.send.id);
      rows.set(seen.send.id, seen);
      if (rows.size > max) rows.delete(rows.keys().next().value!);
    },
    forget: (sendId: string) => void rows.delete(sendId),
  };
}

export type SeenRowsCache = ReturnType<typeof createSeenRows>;

const statements = statementCache('fanout_outcome');

/**
 * $1 the send's id, then its new values, then (at `p`) owner, send version, campaign id,
 * campaign version, then the campaign's new values, then the events' parameters.
 */
function outcomeStatement(sendKeys: string[], campaignKeys: string[], hasEvents: boolean): Statement {
  return statements(`${sendKeys.join(',')}|${campaignKeys.join(',')}|${hasEvents}`, () => {
    const p = sendKeys.length + 2;
    const sendSet = sendKeys.map((key, i) => `"${columnOf(sends, key).name}" = $${i + 2}`).join(', ');
    const campaignSet = campaignKeys.map((key, i) => `"${columnOf(campaigns, key).name}" = $${p + 4 + i}`).join(', ');
    const ctes = [
      `"campaign" AS (SELECT 1 FROM "campaigns" WHERE "id" = $${p + 2} AND "xmin" = $${p + 3}::xid FOR UPDATE)`,
      `"updated" AS (UPDATE "sends" SET ${sendSet} WHERE "id" = $1 AND "xmin" = $${p + 1}::xid AND "lease_owner" = $${p} AND EXISTS (SELECT 1 FROM "campaign") RETURNING "xmin"::text AS "version")`,
    ];
    if (campaignKeys.length > 0) {
      ctes.push(`"campaign_updated" AS (UPDATE "campaigns" SET ${campaignSet} WHERE "id" = $${p + 2} AND EXISTS (SELECT 1 FROM "updated") RETURNING "xmin"::text AS "version")`);
    }
    if (hasEvents) ctes.push(`"appended" AS (${eventsInsertText(p + 4 + campaignKeys.length, 'EXISTS (SELECT 1 FROM "updated")')})`);
    const campaignVersion = campaignKeys.length > 0 ? '(SELECT "version" FROM "campaign_updated")' : 'NULL';
    return `WITH ${ctes.join(', ')} SELECT (SELECT "version" FROM "updated"), ${campaignVersion}`;
  });
}

/** What the write would set, decided on the rows as seen; null when the locking way must decide (see below). */
function planFromSeen(
  seen: SeenRows,
  now: number,
  decide: (fresh: SendWork) => { changes: SendChanges; events?: EventSpec[] },
  lease: SendChanges,
  settings: LifecycleSettings,
): { sendSet: SendChanges; campaignSet: object; events: EventSpec[] } | null {
  const { send, campaign } = seen;
  try {
    const { changes, events = [] } = decide({ send, campaign });
    const withLease = { ...changes, ...lease };
    const sendSet = recomputeSend(send, { ...withLease, ...followUpCheckOnSent(send, withLease, campaign) }, now);
    const status = sendSet.status ?? send.status;
    if (status === send.status) return { sendSet, campaignSet: {}, events };
    // A one-shot campaign's derived columns follow its one send alone (recomputeCampaign), so
    // they are known here; any other campaign's follow all its open sends, read under its lock.
    if (campaign.recurrence !== null || send.kind !== 'scheduled') return null;
    const campaignSet = recomputeCampaign(campaign, {}, [{ kind: send.kind, status, reason: sendSet.reason !== undefined ? sendSet.reason : send.reason }], settings);
    return { sendSet, campaignSet, events };
  } catch {
    // Decided on rows that may be stale (an illegal move, say): the locking way decides afresh and throws if it must.
    return null;
  }
}

/**
 * recordOutcome's write on the rows as `seen`, in one statement (see the top of this file).
 * Returns the rows as written and their new versions, or null when nothing was written: the
 * rows changed, the lease is another's, or the write needs the locking way.
 */
export async function writeOutcomeIfUnchanged(
  db: PgDb,
  seen: SeenRows,
  owner: string,
  now: number,
  decide: (fresh: SendWork) => { changes: SendChanges; events?: EventSpec[] },
  lease: SendChanges,
  settings: LifecycleSettings,
): Promise<SeenRows | null> {
  if (seen.send.leaseOwner !== owner) return null;
  const plan = planFromSeen(seen, now, decide, lease, settings);
  if (plan === null) return null;
  const sendWrite = assignmentsOf(sends, plan.sendSet);
  const campaignWrite = assignmentsOf(campaigns, plan.campaignSet);
  const hasEvents = plan.events.length > 0;
  const values = [
    seen.send.id,
    ...sendWrite.values,
    owner,
    seen.sendVersion,
    seen.campaign.id,
    seen.campaignVersion,
    ...campaignWrite.values,
    ...(hasEvents ? eventValues(seen.campaign.id, now, plan.events) : []),
  ];
  let versions: [string | null, string | null];
  try {
    const { rows } = await runStatement(db, outcomeStatement(sendWrite.keys, campaignWrite.keys, hasEvents), values);
    versions = rows[0] as [string | null, string | null];
  } catch (error) {
    // A deadlock victim wrote nothing: the locking way retries it.
    if (isRetryable(error)) return null;
    throw error;
  }
  const [sendVersion, campaignVersion] = versions;
  if (sendVersion === null) return null;
  if (campaignWrite.keys.length > 0 && campaignVersion === null) throw new Error(`campaign ${seen.campaign.id} vanished during an update`);
  return {
    send: asUpdated(seen.send, plan.sendSet, SEND_JSONB),
    campaign: campaignWrite.keys.length > 0 ? asUpdated(seen.campaign, plan.campaignSet, CAMPAIGN_JSONB) : seen.campaign,
    sendVersion,
    campaignVersion: campaignVersion ?? seen.campaignVersion,
  };
}
