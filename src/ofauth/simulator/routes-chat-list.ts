import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireConnection, type SimDeps } from './context.ts';
import type { SimChat, SimConnection } from './store.ts';

const MAX_CHATS_LIMIT = 20;
const DEFAULT_CHATS_LIMIT = 10;
const FILTERS = ['priority', 'unread', 'who_tipped'] as const;
type Filter = (typeof FILTERS)[number];

const matchesFilter: Record<Filter, (chat: SimChat) => boolean> = {
  priority: (chat) => chat.priority,
  unread: (chat) => chat.unread,
  who_tipped: (chat) => chat.tipped,
};

/** The chats a query selects, in the list's order (recent: latest activity first, ties by fan id). */
export function selectChats(connection: SimConnection, query: { filter?: Filter; userListId?: string; order: 'recent' | 'old' }): SimChat[] {
  const members = query.userListId === undefined ? null : (connection.lists.get(query.userListId)?.members ?? new Set<number>());
  const chats = [...connection.chats.values()]
    .filter((chat) => query.filter === undefined || matchesFilter[query.filter](chat))
    .filter((chat) => members === null || members.has(chat.fanId))
    .sort((a, b) => b.lastActivityAt - a.lastActivityAt || a.fanId - b.fanId);
  return query.order === 'old' ? chats.reverse() : chats;
}

/** The contract's Chat (§3.11): withUser carries only the id. */
function renderChat(chat: SimChat): unknown {
  return {
    withUser: { id: chat.fanId, _view: 's' },
    canSendMessage: true,
    unreadMessagesCount: chat.unread ? 1 : 0,
    hasUnreadTips: chat.tipped,
    isMutedNotifications: false,
  };
}

/**
 * GET /v2/access/chats (seed 000, contract §3.11): limit 1–20, offset, order, one `filter`, and
 * `userListId`. Both filters given together are combined (AND): the contract leaves it open,
 * and Fanout never sends both.
 */
export function registerChatListRoutes(app: FastifyInstance, deps: SimDeps): void {
  app.get('/v2/access/chats', async (request: FastifyRequest<{ Querystring: Record<string, string | undefined> }>, reply: FastifyReply) => {
    if (!deps.permit(request, reply, 'messages:read')) return reply;
    const { limit: rawLimit, offset: rawOffset, order = 'recent', filter, userListId } = request.query;
    const limit = rawLimit === undefined ? DEFAULT_CHATS_LIMIT : Number(rawLimit);
    const offset = rawOffset === undefined ? 0 : Number(rawOffset);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CHATS_LIMIT) {
      return deps.fail(request, reply, 'BAD_REQUEST', `limit: must be an integer from 1 to ${MAX_CHATS_LIMIT}`, { details: { field: 'limit' } });
    }
    if (!Number.isInteger(offset) || offset < 0) return deps.fail(request, reply, 'BAD_REQUEST', 'offset: must be an integer >= 0', { details: { field: 'offset' } });
    if (order !== 'recent' && order !== 'old') return deps.fail(request, reply, 'BAD_REQUEST', 'order: must be recent or old', { details: { field: 'order' } });
    if (filter !== undefined && !(FILTERS as readonly string[]).includes(filter)) {
      return deps.fail(request, reply, 'BAD_REQUEST', `filter: must be one of ${FILTERS.join(', ')}`, { details: { field: 'filter' } });
    }
    const chats = selectChats(requireConnection(deps, request), { filter: filter as Filter | undefined, userListId, order });
    const page = chats.slice(offset, offset + limit).map(renderChat);
    const hasMore = offset + limit < chats.length;
    if (deps.quirks.bareArrays === true) return page;
    return { list: page, hasMore, ...(hasMore ? { nextOffset: offset + page.length } : {}) };
  });
}
