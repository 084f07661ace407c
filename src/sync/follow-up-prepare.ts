import type { Audience } from '../campaigns/model.ts';
import type { OfauthClient } from '../ofauth/client.ts';
import type { FollowUpPlan, Send, SendChanges } from '../sends/model.ts';
import type { SendWork } from '../store/types.ts';
import { describeFailure, recordOutcome, syncEvent } from './outcomes.ts';
import { errorKind, failed, recordCallFailure, type OperationDeps, type Outcome } from './operations.ts';

/*
 * What a follow-up needs before its create: the audience of the original minus its buyers.
 * Fan ids alone: the buyers (read right before the create) are subtracted. Lists (or any other
 * audience source): an OFAuth list of the buyers is made and excluded, one add per buyer. Every
 * step is recorded on the send's plan before the next, so a crash resumes where it stopped:
 *
 * - The list's create has no idempotency key: its intent (buyersListStartedAt) is recorded
 *   first, and after an unknown outcome the list is looked up by its deterministic name before
 *   another is created.
 * - Adding a user is taken to be idempotent (OFAuth answers userState.hasUser), so an add whose
 *   answer was lost is simply sent again; at most one add per crash is repeated.
 * - Adds are spread over steps of ADDS_PER_STEP, each within the lease and the connection's
 *   bucket (every call goes through the client's rate limiter).
 */

/** Adds per sync step: a few seconds of the bucket, far inside the lease. */
export const ADDS_PER_STEP = 20;
/** Buyers pages (20 each) read per step: a few seconds of the bucket, far inside the lease. */
const BUYERS_PAGES_PER_STEP = 25;
/** A PPV with more buyers than this: its follow-up fails with `too_many_buyers` (Fanout's AUDIENCE_MAX_FANS-like cap). */
const MAX_BUYERS = 50_000;
/** User lists pages searched for the buyers list's name. */
const MAX_LIST_SEARCH_PAGES = 20;

export type Prepared = { ready: SendWork } | { outcome: Outcome };

/** A follow-up carries its own message: what its create and its search compare. */
export function withFollowUpMessage(work: SendWork): SendWork {
  const plan = work.send.followUp;
  return work.send.kind === 'follow_up' && plan !== null ? { ...work, campaign: { ...work.campaign, message: plan.message } } : work;
}

/** Whether the original was sent to fan ids alone (no lists, no chat filters nor any later source). */
export function isFanIdsOnly(audience: Audience): boolean {
  const { userIds, excludeUserLists: _excluded, subscribedAfterDate: _since, ...otherSources } = audience;
  const isEmpty = (v: unknown) => v === null || v === undefined || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.values(v as object).every(isEmpty));
  return userIds.length > 0 && Object.values(otherSources).every(isEmpty);
}

/**
 * Reads the next pages of the original's buyers, by marker (by offset when OFAuth gives none),
 * from where the plan stopped: a big PPV's buyers are read over several steps, each within its
 * lease. Returns the plan with the buyers so far, and `isDone` once the last page was read.
 */
async function readBuyersStep(client: OfauthClient, send: Send, plan: FollowUpPlan, signal: AbortSignal): Promise<{ plan: FollowUpPlan; isDone: boolean }> {
  const buyers = new Set(plan.buyerIds ?? []);
  let { marker, offset } = plan.buyersCursor ?? { marker: null, offset: 0 };
  for (let page = 0; page < BUYERS_PAGES_PER_STEP; page++) {
    const result = await client.listMassMessageBuyers(send.connectionId, plan.parentRemoteId, { marker, offset }, { signal });
    for (const id of result.buyerIds) buyers.add(id);
    if (buyers.size > MAX_BUYERS) throw new FollowUpImpossibleError('too_many_buyers', `More than ${MAX_BUYERS} buyers: too many to follow up.`);
    if (!result.hasMore || result.buyerIds.length === 0) return { plan: { ...plan, buyerIds: [...buyers], buyersCursor: null }, isDone: true };
    marker = result.nextMarker;
    offset += result.buyerIds.length;
  }
  return { plan: { ...plan, buyerIds: [...buyers], buyersCursor: { marker, offset } }, isDone: false };
}

/** Hands a follow-up back, due now, with its progress saved: the lane (or the next tick) goes on. */
async function continueLater(deps: OperationDeps, send: Send, plan: FollowUpPlan): Promise<Outcome> {
  const saved = await recordOutcome(deps, send.id, deps.clock.now(), () => ({ changes: { followUp: plan } }));
  return saved ? 'prepared' : 'lost_lease';
}

/** The buyers list by its name, if an earlier create of unknown outcome made it. */
async function findListByName(client: OfauthClient, send: Send, name: string, signal: AbortSignal): Promise<number | null> {
  for (let page = 0, offset = 0; page < MAX_LIST_SEARCH_PAGES; page++) {
    const result = await client.listUserLists(send.connectionId, { query: name, offset, limit: 100 }, { signal });
    const found = result.list.find((l) => l.name === name);
    if (found) return toListId(found.id);
    if (!result.hasMore || result.list.length === 0) return null;
    offset += result.list.length;
  }
  return null;
}

/** Something no retry can fix (a list id audiences cannot hold, too many buyers): the follow-up fails with `reason`. */
class FollowUpImpossibleError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** Audiences take numeric list ids; a list id OFAuth gives as a numeric string is read as one. */
function toListId(id: string | number): number {
  const n = typeof id === 'number' ? id : /^\d+$/.test(id) ? Number(id) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) throw new FollowUpImpossibleError('ofauth_rejected', `OFAuth gave the buyers list a non-numeric id (${String(id)}); it cannot be excluded`);
  return n;
}

/** Writes the plan's progress under the lease (extended), or null when the lease was lost. */
async function savePlan(
  deps: OperationDeps,
  send: Send,
  plan: FollowUpPlan,
  extra: { changes?: SendChanges; events?: ReturnType<typeof syncEvent>[]; durable?: boolean } = {},
): Promise<Send | null> {
  const saved = await recordOutcome(deps, send.id, deps.clock.now(), () => ({ changes: { followUp: plan, ...extra.changes }, events: extra.events }), {
    release: false,
    leaseMs: deps.leaseMs,
    durable: extra.durable,
  });
  return saved?.send ?? null;
}

/** Canceled while its audience was prepared: nothing to create (and nothing to unsend later). */
async function stopWithdrawn(deps: OperationDeps, send: Send): Promise<Outcome> {
  return (await recordOutcome(deps, send.id, deps.clock.now(), () => ({ changes: {} }))) ? 'noop' : 'lost_lease';
}

async function failFollowUp(deps: OperationDeps, send: Send, reason: string, message: string): Promise<Outcome> {
  const recorded = await recordOutcome(deps, send.id, deps.clock.now(), ({ send: fresh }) => ({
    changes: failed(fresh, reason, message),
    events: [syncEvent(send.id, 'failed', { reason, kind: 'invalid', message })],
  }));
  return recorded ? 'failed' : 'lost_lease';
}

/** Makes (or finds) the buyers list; returns the plan with its id, or an outcome to stop on. */
async function ensureBuyersList(deps: OperationDeps, send: Send, plan: FollowUpPlan, signal: AbortSignal): Promise<FollowUpPlan | Outcome> {
  if (plan.buyersListId !== null) return plan;
  const name = plan.buyersListName;
  if (plan.buyersListStartedAt !== null) {
    const found = await findListByName(deps.client, send, name, signal);
    if (found !== null) {
      const adopted = { ...plan, buyersListId: found };
      return (await savePlan(deps, send, adopted, { events: [syncEvent(send.id, 'buyers_list_created', { listId: found, name, adopted: true })] })) ? adopted : 'lost_lease';
    }
  }
  // The intent must be durable before the request leaves: after a crash it makes the next owner
  // look the list up by name instead of creating a second one.
  const intent = { ...plan, buyersListStartedAt: deps.clock.now() };
  if (!(await savePlan(deps, send, intent, { durable: true }))) return 'lost_lease';
  let listId: string | number;
  try {
    listId = (await deps.client.createUserList(send.connectionId, name, { signal })).id;
  } catch (error) {
    const kind = errorKind(error);
    if (kind === 'invalid') return failFollowUp(deps, send, 'ofauth_rejected', `OFAuth refused to create the buyers list: ${describeFailure(error).message}`);
    if (kind === 'ambiguous' || kind === 'unexpected') {
      // It may exist: keep the intent; the next attempt, after SYNC_SETTLE, looks for it by name.
      const later = deps.clock.now();
      const { message, data } = describeFailure(error);
      await recordOutcome(deps, send.id, later, ({ send: fresh }) => ({
        changes: { attempts: fresh.attempts + 1, lastError: message, nextAttemptAt: later + deps.settleMs, syncState: 'retrying' },
        events: [syncEvent(send.id, 'sync_error', { operation: 'create_buyers_list', ...data })],
      }));
      return 'ambiguous';
    }
    return recordCallFailure(deps, send, 'create_buyers_list', error);
  }
  const created = { ...intent, buyersListId: toListId(listId) };
  return (await savePlan(deps, send, created, { events: [syncEvent(send.id, 'buyers_list_created', { listId: created.buyersListId!, name, adopted: false })] })) ? created : 'lost_lease';
}

/** Adds the next buyers to the list; true once every buyer is in it. */
async function addBuyers(deps: OperationDeps, send: Send, plan: FollowUpPlan, signal: AbortSignal): Promise<{ plan: FollowUpPlan; isDone: boolean } | Outcome> {
  const buyers = plan.buyerIds ?? [];
  let current = plan;
  const end = Math.min(buyers.length, plan.buyersAdded + ADDS_PER_STEP);
  for (let i = plan.buyersAdded; i < end; i++) {
    await deps.client.addUserToList(send.connectionId, plan.buyersListId!, buyers[i]!, { signal });
    current = { ...current, buyersAdded: i + 1 };
    if (!(await savePlan(deps, send, current))) return 'lost_lease';
  }
  return { plan: current, isDone: current.buyersAdded >= buyers.length };
}

/**
 * Advances a claimed follow-up's audience: `ready` with the campaign as the create must see it
 * (the follow-up's message, the original's audience minus the buyers), or the outcome of a step
 * that stopped short (more adds to come, a failure, a lost lease).
 */
export async function prepareFollowUp(deps: OperationDeps, work: SendWork, signal: AbortSignal): Promise<Prepared> {
  const { send } = work;
  const plan = send.followUp;
  if (plan === null) return { outcome: await failFollowUp(deps, send, 'follow_up_invalid', 'A follow-up without its plan cannot be sent.') };
  try {
    if (plan.path === 'fan_ids') return await prepareFanIds(deps, work, plan, signal);
    return await prepareBuyersList(deps, work, plan, signal);
  } catch (error) {
    if (error instanceof FollowUpImpossibleError) return { outcome: await failFollowUp(deps, send, error.reason, error.message) };
    return { outcome: await recordCallFailure(deps, send, 'follow_up_audience', error) };
  }
}

async function prepareFanIds(deps: OperationDeps, work: SendWork, plan: FollowUpPlan, signal: AbortSignal): Promise<Prepared> {
  const { send } = work;
  // Read right before the create: a read finished by an earlier attempt is started afresh.
  const from = plan.buyerIds !== null && plan.buyersCursor === null ? { ...plan, buyerIds: null } : plan;
  const step = await readBuyersStep(deps.client, send, from, signal);
  if (!step.isDone) return { outcome: await continueLater(deps, send, step.plan) };
  const read = step.plan;
  const buyerIds = read.buyerIds ?? [];
  const bought = new Set(buyerIds);
  const userIds = plan.audience.userIds.filter((id) => !bought.has(id));
  const event = syncEvent(send.id, 'follow_up_audience', { path: 'fan_ids', buyers: buyerIds.length, userIds: userIds.length, buyersListId: null });
  const saved = await savePlan(deps, send, read, { events: [event] });
  if (!saved) return { outcome: 'lost_lease' };
  if (saved.status !== 'pending') return { outcome: await stopWithdrawn(deps, send) };
  if (userIds.length === 0) return { outcome: await failFollowUp(deps, send, 'empty_audience', 'Every fan the original reached bought it: nobody is left to follow up.') };
  return { ready: { send: saved, campaign: { ...work.campaign, message: plan.message, audience: { ...plan.audience, userIds } } } };
}

async function prepareBuyersList(deps: OperationDeps, work: SendWork, plan: FollowUpPlan, signal: AbortSignal): Promise<Prepared> {
  const { send } = work;
  const listed = await ensureBuyersList(deps, send, plan, signal);
  if (typeof listed === 'string') return { outcome: listed };
  let current = listed;
  // The buyers are read once for the list (a snapshot the adds then work through).
  if (current.buyerIds === null || current.buyersCursor !== null) {
    const step = await readBuyersStep(deps.client, send, current, signal);
    if (!step.isDone) return { outcome: await continueLater(deps, send, step.plan) };
    current = { ...step.plan, buyersAdded: 0 };
    if (!(await savePlan(deps, send, current))) return { outcome: 'lost_lease' };
  }
  const added = await addBuyers(deps, send, current, signal);
  if (typeof added === 'string') return { outcome: added };
  if (!added.isDone) return { outcome: await continueLater(deps, send, added.plan) };
  const buyers = new Set(added.plan.buyerIds);
  const listId = added.plan.buyersListId!;
  const audience: Audience = {
    ...added.plan.audience,
    userIds: added.plan.audience.userIds.filter((id) => !buyers.has(id)),
    excludeUserLists: [...new Set([...added.plan.audience.excludeUserLists, listId])],
  };
  const event = syncEvent(send.id, 'follow_up_audience', { path: 'buyers_list', buyers: buyers.size, userIds: audience.userIds.length, buyersListId: listId });
  const saved = await savePlan(deps, send, added.plan, { events: [event] });
  if (!saved) return { outcome: 'lost_lease' };
  if (saved.status !== 'pending') return { outcome: await stopWithdrawn(deps, send) };
  return { ready: { send: saved, campaign: { ...work.campaign, message: added.plan.message, audience } } };
}
