import { LeaseLostError, audienceKey, resolveChatFilters } from '../audience/resolve.ts';
import { chatFiltersOf } from '../campaigns/model.ts';
import type { SendWork } from '../store/types.ts';
import { failed, leaseSignal, recordCallFailure, type OperationDeps, type Outcome } from './operations.ts';
import { recordOutcome, syncEvent } from './outcomes.ts';

/** Defaults of AUDIENCE_RESOLVE_LEAD and AUDIENCE_MAX_FANS. */
export const DEFAULT_AUDIENCE_RESOLVE_LEAD_MS = 10 * 60_000;
export const DEFAULT_AUDIENCE_MAX_FANS = 50_000;

export type AudienceStep = { kind: 'ready'; work: SendWork; fanIds: readonly number[] } | { kind: 'done'; outcome: Outcome };

/**
 * Makes sure a send whose campaign has chat filters carries a resolved audience before its
 * create (or update) call: the stored one if it was resolved from the same filters, otherwise
 * a fresh one, stored on the send (lease extended) before the call is made. A crash after that
 * write re-sends the same fans; a create of unknown outcome is searched for and retried with
 * them too, and its fingerprint (which has no audience in it) is unchanged.
 *
 * A create waits until AUDIENCE_RESOLVE_LEAD before the send's time, so the fans are those of
 * the chats close to sending. An audience of nobody fails the send (empty_audience), one over
 * AUDIENCE_MAX_FANS too (audience_too_large): neither is ever sent. On an update (the message is
 * already queued) such an audience is held as a sync error instead, leaving the queued copy.
 */
export async function prepareAudience(deps: OperationDeps, work: SendWork, purpose: 'create' | 'update'): Promise<AudienceStep> {
  const { send, campaign } = work;
  const filters = chatFiltersOf(campaign.audience);
  if (filters.length === 0) return { kind: 'ready', work, fanIds: [] };
  const key = audienceKey(filters);
  if (send.resolvedAudience?.key === key) return { kind: 'ready', work, fanIds: send.resolvedAudience.fanIds };

  const now = deps.clock.now();
  const resolveAt = send.dueAt === null ? now : send.dueAt - deps.audience.resolveLeadMs;
  if (purpose === 'create' && now < resolveAt) {
    const recorded = await recordOutcome(deps, send.id, now, () => ({ changes: { nextAttemptAt: resolveAt } }));
    return { kind: 'done', outcome: recorded ? 'waiting' : 'lost_lease' };
  }

  const maxFans = deps.audience.maxFans;
  let resolution;
  try {
    resolution = await resolveChatFilters(deps.client, send.connectionId, filters, {
      maxFans,
      signal: leaseSignal(send, now),
      keepLease: async () => (await recordOutcome(deps, send.id, deps.clock.now(), () => ({ changes: {} }), { release: false, leaseMs: deps.leaseMs })) !== null,
    });
  } catch (error) {
    if (error instanceof LeaseLostError) return { kind: 'done', outcome: 'lost_lease' };
    return { kind: 'done', outcome: await recordCallFailure(deps, send, 'resolve_audience', error) };
  }
  await deps.connections.markHealthy(send.connectionId, deps.clock.now());

  const audience = new Set([...campaign.audience.userIds, ...resolution.fanIds]);
  const problem =
    resolution.isTooLarge || audience.size > maxFans
      ? { reason: 'audience_too_large', message: `Not sent: the audience resolved to more than ${maxFans} fans (AUDIENCE_MAX_FANS).` }
      : audience.size === 0 && campaign.audience.userLists.length === 0
        ? { reason: 'empty_audience', message: `Not sent: the chat filters (${filters.join(', ')}) resolved to no fans, and the audience has no userIds or userLists.` }
        : null;
  const later = deps.clock.now();
  if (problem !== null) {
    const data = { reason: problem.reason, message: problem.message };
    const recorded = await recordOutcome(deps, send.id, later, ({ send: fresh }) =>
      purpose === 'create'
        ? { changes: failed(fresh, problem.reason, problem.message), events: [syncEvent(send.id, 'failed', data)] }
        : { changes: { syncState: 'error', lastError: `Not updated: ${problem.message}` }, events: [syncEvent(send.id, 'sync_error', { operation: 'update', kind: 'invalid', ...data })] },
    );
    return { kind: 'done', outcome: recorded ? 'failed' : 'lost_lease' };
  }

  const resolvedAudience = { key, fanIds: resolution.fanIds, resolvedAt: later, pages: resolution.pages };
  const fresh = await recordOutcome(
    deps,
    send.id,
    later,
    () => ({
      changes: { resolvedAudience },
      events: [syncEvent(send.id, 'audience_resolved', { chatFilters: filters, fans: resolution.fanIds.length, pages: resolution.pages, audience: audience.size })],
    }),
    { release: false, leaseMs: deps.leaseMs },
  );
  if (fresh === null) return { kind: 'done', outcome: 'lost_lease' };
  return { kind: 'ready', work: fresh, fanIds: resolution.fanIds };
}
