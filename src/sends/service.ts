import { projectSeries, type ProjectedOccurrence } from '../campaigns/projection.ts';
import type { CampaignService } from '../campaigns/service.ts';
import { decodeCursor, encodeCursor, iso, toEventView, toStatsView, toSyncView } from '../campaigns/view.ts';
import { NotFoundError } from '../errors.ts';
import { unsendDueAt } from '../sync/plan.ts';
import type { CampaignStore, PlannedSends } from '../store/types.ts';
import { canAccessConnection, type Principal } from '../tokens/service.ts';
import type { SendActions } from './actions.ts';
import type { Send } from './model.ts';
import type { ListSendsQuery, SendView } from './schemas.ts';
import { SEND_ID_PATTERN } from '../ids.ts';

const EVENTS_SHOWN = 500;
/** A month view of hourly series: 42 days of 24 occurrences fit; beyond that the calendar counts. */
const PROJECTED_PER_SERIES = 1_100;
const PROJECTED_SERIES_MAX = 200;

/** The connections a calendar query reads: the caller's, or the one asked for if in scope. */
function scopeOf(principal: Principal, connectionId: string | undefined): string[] | null {
  if (!connectionId) return principal.connectionIds;
  return canAccessConnection(principal, connectionId) ? [connectionId] : [];
}

export function toSendView(send: Send): SendView {
  return {
    id: send.id,
    campaignId: send.campaignId,
    connectionId: send.connectionId,
    kind: send.kind,
    occurrenceAt: iso(send.occurrenceAt),
    dueAt: iso(send.dueAt),
    status: send.status,
    reason: send.reason,
    sentAt: iso(send.sentAt),
    testUserId: send.testUserId,
    unsend: toUnsendView(send),
    // A test send's OFAuth id is its chat message's (another id space than mass messages).
    sync: { ...toSyncView(send, send), remoteId: send.kind === 'test' ? send.chatMessageId : send.remoteId },
    stats: toStatsView(send),
    ...(send.kind === 'follow_up' && send.followUp !== null
      ? {
          followUp: {
            parentSendId: send.parentSendId!,
            index: send.followUpIndex!,
            path: send.followUp.path,
            buyersListId: send.followUp.buyersListId,
            buyers: send.followUp.buyerIds?.length ?? null,
          },
        }
      : {}),
    ...(send.resolvedAudience ? { audience: { resolvedFans: send.resolvedAudience.fanIds.length, resolvedAt: iso(send.resolvedAudience.resolvedAt)! } } : {}),
    createdAt: iso(send.createdAt)!,
    updatedAt: iso(send.updatedAt)!,
  };
}

/** The unsend as the marketer sees it: when it is due (auto or asked), done, and OFAuth's window. */
function toUnsendView(send: Send): SendView['unsend'] {
  const dueAt = unsendDueAt(send);
  if (dueAt === null && send.unsentAt === null && send.unsendableUntil === null && send.unsendAfterMs === null) return null;
  return {
    dueAt: iso(dueAt),
    auto: send.unsendRequestedAt === null && send.unsendAfterMs !== null,
    unsentAt: iso(send.unsentAt),
    windowClosesAt: iso(send.unsendableUntil),
  };
}

/** A campaign's sends and one send with its events, under the same scopes as campaigns. */
export function createSendService(deps: { campaigns: CampaignService; store: CampaignStore; actions: SendActions }) {
  async function listPage(principal: Principal, campaignId: string, query: ListSendsQuery): Promise<{ rows: Send[]; nextCursor: string | null }> {
    await deps.campaigns.findAccessible(principal, campaignId);
    const rows = await deps.store.listSends(campaignId, {
      statuses: query.status ? [...new Set(query.status)] : undefined,
      beforeId: query.cursor ? decodeCursor(query.cursor, SEND_ID_PATTERN) : undefined,
      limit: query.limit + 1,
    });
    const hasMore = rows.length > query.limit;
    const page = hasMore ? rows.slice(0, query.limit) : rows;
    return { rows: page, nextCursor: hasMore ? encodeCursor(page.at(-1)!.id) : null };
  }

  return {
    /** POST /v1/campaigns/:id/test-send. */
    async testSend(principal: Principal, campaignId: string, userId: number): Promise<SendView> {
      return toSendView(await deps.actions.testSend(principal, campaignId, userId));
    },

    /** POST /v1/sends/:id/unsend: `isDone` false when the loop finishes it later. */
    async unsend(principal: Principal, sendId: string): Promise<{ view: SendView; isDone: boolean }> {
      const { send, isDone } = await deps.actions.unsend(principal, sendId);
      return { view: toSendView(send), isDone };
    },

    async list(principal: Principal, campaignId: string, query: ListSendsQuery) {
      const { rows, nextCursor } = await listPage(principal, campaignId, query);
      return { items: rows.map(toSendView), nextCursor };
    },

    /** The same page, each send saying whether POST /v1/sends/:id/unsend would take it now (the dashboard's button). */
    async listWithUnsend(principal: Principal, campaignId: string, query: ListSendsQuery) {
      const { rows, nextCursor } = await listPage(principal, campaignId, query);
      return { items: rows.map((send) => ({ ...toSendView(send), isUnsendable: deps.actions.isUnsendable(send) })), nextCursor };
    },

    /**
     * The sends planned in [from, to) on the caller's connections (or the one asked for, if in
     * scope): the earliest `limit` listed, all counted per connection and status. The calendar.
     */
    async planned(principal: Principal, window: { from: number; to: number; connectionId?: string; limit: number }): Promise<PlannedSends> {
      return deps.store.plannedSends({ from: window.from, to: window.to, connectionIds: scopeOf(principal, window.connectionId), limit: window.limit });
    },

    /**
     * The occurrences of running series in [from, to) that are not sends yet (they become sends
     * RECURRENCE_LEAD before their time), so the calendar shows a series ahead, not only its
     * next hour. Bounded: the PROJECTED_SERIES_MAX series due soonest, each at most
     * PROJECTED_PER_SERIES occurrences.
     */
    async projected(principal: Principal, window: { from: number; to: number; connectionId?: string }): Promise<ProjectedOccurrence[]> {
      const series = await deps.store.runningSeries({ before: window.to, connectionIds: scopeOf(principal, window.connectionId), limit: PROJECTED_SERIES_MAX });
      return projectSeries(series, window, PROJECTED_PER_SERIES);
    },

    async get(principal: Principal, id: string) {
      const send = await deps.store.findSend(id);
      if (!send || !canAccessConnection(principal, send.connectionId)) throw new NotFoundError('send', id);
      const events = await deps.store.sendEvents(id, 0, EVENTS_SHOWN);
      return { ...toSendView(send), events: events.map(toEventView) };
    },
  };
}

export type SendService = ReturnType<typeof createSendService>;
